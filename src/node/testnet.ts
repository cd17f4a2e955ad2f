import { join, resolve } from 'node:path'
import { mkdir, writeFile } from 'node:fs/promises'
import { ConfigError } from '../errors.js'
import { toHex } from '../codec/hex.js'
import { defaultNodeConfig, type NodeConfig } from './config.js'
import { homePaths, initHome, writeJson } from './home.js'
import { newKeyFile, writeKeyFile } from './keyfile.js'
import { DEFAULT_PARAMS, type ChainParams } from '../ledger/genesis.js'

/**
 * A testnet starts from the ledger's defaults with a smaller checkpoint interval (so
 * certificates become stable and logs are collected often) and a deeper per-sender queue
 * (benchmarks and scripts send many transactions per account).
 */
/**
 * A short checkpoint interval and window keep view changes small: a VIEW-CHANGE carries every
 * prepared batch above the last stable checkpoint, so K=4, L=16 bounds it to 16 batches. Batches
 * of at most 512 txs keep one block's ordering and execution well inside the 2 s view-change
 * timeout on a loaded machine; with 1,000-tx batches a 4-validator testnet on 2 shared cores
 * took ~3 s per block under overload (fifth session's code) and changed views instead of
 * committing. 512 rather than the 256 of earlier sessions: a block's fixed cost (consensus
 * round, WAL, checkpoint, block write; ~14 ms of each validator's CPU) was ~15 % of a saturated
 * testnet's work at ~5 blocks/s, and 512-tx blocks raised the closed-loop rate ~18 % at 10k
 * accounts (docs/performance.md, twelfth session). Below saturation the batch timer cuts
 * blocks before they fill.
 */
export const TESTNET_PARAMS: ChainParams = { ...DEFAULT_PARAMS, maxBatchSize: 512, checkpointInterval: 4, windowSize: 16, mempoolSize: 200_000, mempoolPerSender: 1000 }


export interface TestnetOptions {
  validators: number
  outDir: string
  basePort: number
  compose: boolean
  /** Address the nodes listen on and peers dial (127.0.0.1 by default; ignored with compose). */
  host?: string
  chainId?: string
  /** Named client accounts to create and fund (key files under outDir/keys/). */
  users?: string[]
  userBalance?: bigint
  /** Extra funded addresses (e.g. the benchmark's pre-generated accounts). */
  balances?: Array<{ address: string, amount: bigint }>
  params?: Partial<ChainParams>
  image?: string
  /** Merged into every validator's config `storage` (e.g. maxStateTreeNodes). */
  storage?: NonNullable<NodeConfig['storage']>
  /** Every validator's config `proposer` (e.g. minBlockIntervalMs). */
  proposer?: NonNullable<NodeConfig['proposer']>
}

export interface TestnetResult {
  homes: string[]
  genesisPath: string
  composePath?: string
  userKeys: Record<string, string>
  apiUrls: string[]
}

/** Node i listens for p2p on basePort+2i and serves HTTP on basePort+2i+1. */
export function portsOf (basePort: number, i: number): { p2p: number, api: number } {
  return { p2p: basePort + 2 * i, api: basePort + 2 * i + 1 }
}

export async function createTestnet (opts: TestnetOptions): Promise<TestnetResult> {
  const n = opts.validators
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new ConfigError(`--validators must be an integer in 1..64, got ${String(n)}`)
  if (!Number.isInteger(opts.basePort) || opts.basePort < 1024 || opts.basePort + 2 * n > 65535) {
    throw new ConfigError(`--base-port must leave room for ${2 * n} ports below 65536 and be >= 1024, got ${String(opts.basePort)}`)
  }
  const outDir = resolve(opts.outDir)
  await mkdir(outDir, { recursive: true })
  const host = opts.host ?? '127.0.0.1'
  const names = Array.from({ length: n }, (_, i) => `validator-${i}`)
  const homes = names.map(name => join(outDir, name))
  const keys = []
  for (let i = 0; i < n; i++) {
    const ports = portsOf(opts.basePort, i)
    const listenHost = opts.compose ? '0.0.0.0' : host
    const cfg = defaultNodeConfig(names[i]!, ports.p2p, ports.api, listenHost)
    keys.push(await initHome({ home: homes[i]!, name: names[i]!, config: cfg }))
  }
  // Second pass: every node dials every other (DNS names inside a compose network).
  for (let i = 0; i < n; i++) {
    const cfg = defaultNodeConfig(names[i]!, portsOf(opts.basePort, i).p2p, portsOf(opts.basePort, i).api, opts.compose ? '0.0.0.0' : host)
    cfg.api.adminJwtSecret = toHex(crypto.getRandomValues(new Uint8Array(32)))
    // The validators of a testnet share one machine and write the same state, so with equal
    // memtables they flush to LevelDB's level 0 at the same moment: at 500 tx/s on 2 cores that
    // was ~4 core-seconds within half a second, and the slowest 1 % of commits sat in that
    // second. Staggered sizes (40, 52, 64, 76 MiB) spread the flushes out.
    cfg.storage = { writeBufferMiB: 40 + 12 * (i % 4), ...opts.storage }
    if (opts.proposer !== undefined) cfg.proposer = { ...opts.proposer }
    cfg.p2p.peers = keys.flatMap((k, j) => j === i
      ? []
      : [{
          peerId: k.peerId,
          addrs: [opts.compose ? `/dns4/${names[j]!}/tcp/${portsOf(opts.basePort, j).p2p}` : `/ip4/${host}/tcp/${portsOf(opts.basePort, j).p2p}`]
        }])
    await writeJson(homePaths(homes[i]!).config, cfg)
  }

  const userKeys: Record<string, string> = {}
  const balances: Array<{ address: string, amount: string }> = []
  const users = opts.users ?? ['alice', 'bob', 'carol', 'dave']
  if (users.length > 0) await mkdir(join(outDir, 'keys'), { recursive: true })
  for (const u of users) {
    const k = newKeyFile()
    const path = join(outDir, 'keys', `${u}.json`)
    await writeKeyFile(path, k)
    userKeys[u] = path
    balances.push({ address: k.address, amount: (opts.userBalance ?? 1_000_000_000n).toString() })
  }
  for (const b of opts.balances ?? []) balances.push({ address: b.address, amount: b.amount.toString() })

  const genesis = {
    chainId: opts.chainId ?? 'bft-testnet',
    genesisTime: Date.now(),
    validators: keys.map((k, i) => ({ name: names[i]!, publicKey: k.publicKey, peerId: k.peerId })),
    balances,
    params: { ...TESTNET_PARAMS, ...opts.params }
  }
  const genesisPath = join(outDir, 'genesis.json')
  await writeJson(genesisPath, genesis)
  for (const h of homes) await writeJson(homePaths(h).genesis, genesis)

  const result: TestnetResult = {
    homes,
    genesisPath,
    userKeys,
    apiUrls: homes.map((_, i) => `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${portsOf(opts.basePort, i).api}`)
  }
  if (opts.compose) {
    const { renderCompose } = await import('./compose.js')
    const yaml = renderCompose({
      validators: names.map((name, i) => ({ name, home: homes[i]!, p2pPort: portsOf(opts.basePort, i).p2p, apiPort: portsOf(opts.basePort, i).api })),
      image: opts.image ?? 'localhost/bft-ledger:latest',
      network: 'bft-testnet'
    })
    result.composePath = join(outDir, 'compose.yaml')
    await writeFile(result.composePath, yaml)
  }
  return result
}
