import { chown, mkdtemp, readFile, readdir, stat, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { tmpdir } from 'node:os'
import { renderCompose, type ComposeOptions } from '../../src/node/compose.js'
import { run } from './exec.js'
import type { NodeRef } from './cluster.js'

/** The uid:gid the image's node user runs as (docker/Dockerfile). */
export const CONTAINER_UID = 10001

export interface Testnet {
  outDir: string
  composeFile: string
  compose: ComposeOptions
  nodes: NodeRef[]
  chainId: string
  validators: Array<{ publicKey: string }>
  viewChangeTimeoutMs: number
  maxClockSkewMs: number
}

interface GenesisJson {
  chainId: string
  validators: Array<{ name: string, publicKey: string }>
  params?: { viewChangeTimeoutMs?: number, maxClockSkewMs?: number }
}

interface ConfigJson {
  moniker: string
  p2p: { listen: string[] }
  api: { port: number, rateLimit?: { max: number, windowMs: number } }
}

/**
 * The checks read every acknowledged tx from every node from this one address (~125,000
 * requests after a full run): at the default 1,000 requests per second they waited out 429s
 * for 162 s instead of 36 (CI, nineteenth session). The chaos testnet raises the limit; the
 * 429 path itself is tested (test/docker/http.test.ts, test/api/server.test.ts).
 */
const CHAOS_RATE_LIMIT = { max: 100_000, windowMs: 1000 }

/**
 * Writes the validator homes and compose file with the real CLI
 * (`bft-ledger testnet --validators N --out DIR --compose`) and reads back what it wrote.
 */
export async function createCliTestnet (repo: string, validators: number, basePort: number, image: string, outDir?: string): Promise<Testnet> {
  const out = outDir ?? await mkdtemp(join(tmpdir(), 'bft-chaos-'))
  const cli = join(repo, 'dist/src/cli/main.js')
  await run(process.execPath, [cli, 'testnet', '--validators', String(validators), '--out', out, '--base-port', String(basePort), '--compose'], { timeoutMs: 60_000, cwd: repo })
  const genesis = JSON.parse(await readFile(join(out, 'genesis.json'), 'utf8')) as GenesisJson
  const homes = (await readdir(out)).filter(d => /^validator-\d+$/.test(d)).sort((a, b) => Number(a.split('-')[1]) - Number(b.split('-')[1]))
  if (homes.length !== validators) throw new Error(`testnet wrote ${homes.length} validator homes in ${out}, expected ${validators}`)
  const vs = []
  for (const name of homes) {
    const home = join(out, name)
    const cfg = JSON.parse(await readFile(join(home, 'config.json'), 'utf8')) as ConfigJson
    cfg.api.rateLimit = CHAOS_RATE_LIMIT
    await writeFile(join(home, 'config.json'), JSON.stringify(cfg, null, 2) + '\n')
    const p2pPort = Number(/\/tcp\/(\d+)/.exec(cfg.p2p.listen[0] ?? '')?.[1])
    vs.push({ name, home, p2pPort, apiPort: cfg.api.port })
  }
  const compose: ComposeOptions = { validators: vs, image, network: 'bft-testnet' }
  const composeFile = join(out, 'compose.yaml')
  await stat(composeFile)
  await chownTree(out)
  return {
    outDir: out,
    composeFile,
    compose,
    nodes: vs.map((v, index) => ({ index, name: v.name, apiUrl: `http://127.0.0.1:${v.apiPort}` })),
    chainId: genesis.chainId,
    validators: genesis.validators,
    viewChangeTimeoutMs: genesis.params?.viewChangeTimeoutMs ?? 2000,
    maxClockSkewMs: genesis.params?.maxClockSkewMs ?? 5000
  }
}

/** Homes for the stub pipeline check: empty directories and a compose file that runs stub-node. */
export async function createStubTestnet (validators: number, basePort: number, image: string): Promise<Testnet> {
  const out = await mkdtemp(join(tmpdir(), 'bft-chaos-stub-'))
  const vs = Array.from({ length: validators }, (_, i) => ({ name: `validator-${i}`, home: join(out, `validator-${i}`), p2pPort: basePort + 2 * i, apiPort: basePort + 2 * i + 1 }))
  for (const v of vs) await run('mkdir', ['-p', v.home])
  const compose: ComposeOptions = { validators: vs, image, network: 'bft-testnet', entrypoint: ['node', '/app/dist/docker/stub-node.js'] }
  const composeFile = join(out, 'compose.yaml')
  await writeFile(composeFile, renderCompose(compose))
  await chownTree(out)
  return {
    outDir: out,
    composeFile,
    compose,
    nodes: vs.map((v, index) => ({ index, name: v.name, apiUrl: `http://127.0.0.1:${v.apiPort}` })),
    chainId: 'stub',
    validators: [],
    viewChangeTimeoutMs: 1000,
    maxClockSkewMs: 5000
  }
}

/** Compose file for the same testnet with extra environment on some validators. */
export function composeWithEnv (t: Testnet, env: Record<string, Record<string, string>>): string {
  return renderCompose({ ...t.compose, validators: t.compose.validators.map(v => ({ ...v, env: { ...v.env, ...env[v.name] } })) })
}

/** The node runs as uid 10001 in the container, so the bind-mounted homes must be its own. */
async function chownTree (dir: string): Promise<void> {
  try {
    await run('chown', ['-R', `${CONTAINER_UID}:${CONTAINER_UID}`, resolve(dir)])
    await chown(resolve(dir), 0, 0)
  } catch (err) {
    throw new Error(`cannot hand ${dir} to uid ${CONTAINER_UID} (run as root): ${err instanceof Error ? err.message : String(err)}`)
  }
}
