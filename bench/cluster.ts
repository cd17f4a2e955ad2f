import { spawn, type ChildProcess } from 'node:child_process'
import { openSync, closeSync, readFileSync, mkdtempSync, rmSync, mkdirSync, cpSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createTestnet } from '../src/node/testnet.js'
import { homePaths } from '../src/node/home.js'
import { LedgerNode } from '../src/node/node.js'
import { stopChild } from '../src/node/child.js'
import type { ChainParams } from '../src/ledger/genesis.js'
import type { NodeConfig } from '../src/node/config.js'
import { BftError } from '../src/errors.js'
import { validatorMallocEnv } from '../src/node/allocator.js'

/** The CLI entry the validators run: dist/bench/cluster.js -> dist/src/cli/main.js. */
export const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url))

export interface ClusterOptions {
  validators: number
  basePort: number
  balances: Array<{ address: string, amount: bigint }>
  params?: Partial<ChainParams>
  /** Validator index to run under `node --cpu-prof`, writing into profileDir. */
  profile?: { index: number, dir: string }
  logLevel: string
  keep: boolean
  /**
   * Build the genesis state once here and copy the LevelDB directory to every home, instead of
   * each validator building it at first start (4x the work, all at once on shared cores).
   */
  prebuildState?: boolean
  /** Merged into every validator's config.json `storage` before it starts. */
  storage?: NonNullable<NodeConfig['storage']>
  /** Every validator's config.json `proposer`. */
  proposer?: NonNullable<NodeConfig['proposer']>
  onProgress?: (msg: string) => void
}

/** A set of validator processes the benchmark started, or URLs it attached to. */
export interface Cluster {
  urls: string[]
  chainId: string
  /** Process ids of the validators (empty when attached). */
  pids: number[]
  /** Directory of the homes, if the bench created them. */
  dir?: string
  /** Each validator's home, if the bench created them. */
  homes?: string[]
  close: () => Promise<void>
}

export async function attachCluster (urls: string[]): Promise<Cluster> {
  const r = await fetch(`${urls[0]!}/status`, { signal: AbortSignal.timeout(5000) }).catch(() => null)
  if (r === null || !r.ok) throw new BftError('ERR_BENCH_ATTACH', `cannot read ${urls[0]!}/status: is a node running there?`)
  const s = await r.json() as { chainId: string }
  return { urls, chainId: s.chainId, pids: [], close: async () => {} }
}

/** Writes a fresh testnet (genesis with the given balances) and starts one process per validator. */
export async function startCluster (opts: ClusterOptions): Promise<Cluster> {
  // The validators' malloc (src/node/allocator.ts): a bad BFT_LEDGER_MALLOC fails before any work.
  const mallocEnv = validatorMallocEnv()
  const dir = mkdtempSync(join(tmpdir(), 'bft-bench-'))
  const net = await createTestnet({ validators: opts.validators, outDir: dir, basePort: opts.basePort, compose: false, users: [], balances: opts.balances, params: opts.params ?? {}, ...(opts.storage === undefined ? {} : { storage: opts.storage }), ...(opts.proposer === undefined ? {} : { proposer: opts.proposer }) })
  const chainId = (JSON.parse(readFileSync(net.genesisPath, 'utf8')) as { chainId: string }).chainId
  const procs: ChildProcess[] = []
  const logs = net.homes.map(h => join(h, 'node.log'))
  const tail = (i: number): string => {
    try { return readFileSync(logs[i]!, 'utf8').split('\n').slice(-20).join('\n') } catch { return '(no log)' }
  }
  const close = async (): Promise<void> => {
    await Promise.all(procs.map(async c => await stopChild(c, 15_000)))
    if (!opts.keep) rmSync(dir, { recursive: true, force: true })
  }
  try {
    if (opts.prebuildState === true) {
      const t = performance.now()
      const node = await LedgerNode.open({ home: net.homes[0]!, logLevel: 'warn' })
      await node.stop()
      for (const h of net.homes.slice(1)) cpSync(homePaths(net.homes[0]!).data, homePaths(h).data, { recursive: true })
      opts.onProgress?.(`genesis state of ${opts.balances.length} accounts built once and copied in ${((performance.now() - t) / 1000).toFixed(1)} s`)
    }
    for (let i = 0; i < net.homes.length; i++) {
      const fd = openSync(logs[i]!, 'a')
      const execArgs: string[] = []
      if (opts.profile?.index === i) {
        mkdirSync(opts.profile.dir, { recursive: true })
        execArgs.push('--cpu-prof', '--cpu-prof-dir', opts.profile.dir)
      }
      const child = spawn(process.execPath, [...execArgs, CLI, 'start', '--home', net.homes[i]!], {
        stdio: ['ignore', fd, fd],
        env: { ...process.env, ...mallocEnv, LOG_LEVEL: opts.logLevel }
      })
      closeSync(fd)
      procs.push(child)
    }
    await Promise.all(net.apiUrls.map(async (url, i) => await waitUp(url, procs[i]!, () => tail(i), 120_000 + 2 * opts.balances.length)))
  } catch (err) {
    await close()
    throw err
  }
  return { urls: net.apiUrls, chainId, pids: procs.map(p => p.pid ?? -1), dir, homes: net.homes, close }
}

async function waitUp (url: string, child: ChildProcess, tail: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new BftError('ERR_BENCH_NODE', `validator at ${url} exited with ${child.exitCode}:\n${tail()}`)
    try {
      const r = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) })
      if (r.status === 200) return
    } catch { /* not up yet */ }
    await new Promise(resolve => setTimeout(resolve, 200))
  }
  throw new BftError('ERR_BENCH_NODE', `validator at ${url} not healthy after ${timeoutMs} ms:\n${tail()}`)
}
