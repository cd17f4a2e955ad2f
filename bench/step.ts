import { readFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import type { Cluster } from './cluster.js'
import { BlockWatch, type SeenBlock } from './block-watch.js'
import { runLoad, type LoadOptions, type LoadResult } from './load.js'
import type { PoolTx, TxPool } from './pool.js'
import { dirBytes, sampleProc, type ProcSample } from './proc-stats.js'
import { homePaths } from '../src/node/home.js'
import { runningMalloc } from '../src/node/allocator.js'
import { scrapeCounters, type NodeCounters } from './prom.js'
import type { ReplicaStatus } from '../src/consensus/index.js'
import type { StatusView } from '../src/node/service.js'

export interface ValidatorUsage {
  url: string
  pid: number
  /** CPU time over the timed window / window length, in % of one core. */
  cpuPct: number
  /** The same for the main thread alone; cpuPct - mainCpuPct ran on LevelDB, libuv and GC threads. */
  mainCpuPct: number
  rssMaxMB: number
  rssEndMB: number
  /** Size of the validator's data directory after the step (null when attached). */
  dataMB?: number | null
  /** The malloc the process runs on, read from /proc/<pid>/maps (src/node/allocator.ts). */
  malloc?: 'jemalloc' | 'system'
}

export interface HeadCheck {
  agreed: boolean
  heights: number[]
  headHashes: string[]
  stateRoots: string[]
  /** When they disagree: each node's consensus position and connected peers (null if unreachable). */
  nodes?: Array<{ consensus: ReplicaStatus, peersConnected: number } | null>
  /** Seconds from the end of the drain until they agreed (or until the check gave up). */
  waitedS?: number
  /** When they disagree: nodes whose head is not the highest node's block at that height. */
  forked?: number[]
}

export interface StepResult extends LoadResult {
  label: string
  validators: ValidatorUsage[]
  /** Per node: view changes and admission rejections counted by the node during the step. */
  viewChanges: number
  nodeRejectedTxs: number
  /** Committed-tx counter deltas per node (equal on all nodes when none lost a block). */
  nodeCommittedTxs: number[]
  /**
   * Mean ms a block spent in each pipeline stage over the step (all validators' blocks,
   * bft_block_stage_seconds): where a block's time went when blocks are slow.
   */
  blockStagesMs: { execute: number, state: number, write: number }
  heads: HeadCheck
  /**
   * Heads before the clock started. The node counters are read then, so a validator still
   * executing the warm-up's blocks would count them in its `nodeCommittedTxs`: the step waits
   * (bounded) for every validator to reach the same head first.
   */
  startHeads: { agreed: boolean, waitedS: number }
  /** The untimed load at the step's rate before the clock started (first step only), if any. */
  warmLoad?: { durationS: number, sent: number, committed: number, lost: number, duplicates: number, p99Ms: number }
  watchError?: string
  /** 1-minute load average at the start and end of the window: other work on the machine shows here. */
  loadAvg: [number, number]
  /** CPU of this (load generator) process over the window, % of one core. */
  benchCpuPct: number
  /**
   * Committed txs per CPU-second summed over all validators: throughput normalised by the CPU
   * the validators actually got, which stays meaningful when other work shares the cores.
   */
  txPerValidatorCpuSecond: number
}

export interface StepOptions extends Omit<LoadOptions, 'urls'> {
  label: string
  poolSize: number
  progress: boolean
  /**
   * Untimed txs sent first (one per sender, committed before the clock starts): a validator's
   * first tx from a key pays a one-off key validity check (~ms), which is start-up, not steady state.
   */
  warmup: number
  /**
   * Untimed load at the step's own rate before the clock starts (after the per-sender warm-up),
   * then drained: validators start cold (V8 compiles the hot paths, caches fill) and their
   * first seconds under load are slower than the rest. 0 for none.
   */
  warmLoadMs: number
  /** Txs to sign for the warm-up load. */
  warmLoadPool: number
}

/** One timed load on a running cluster, with everything measured around it. */
export async function runStep (cluster: Cluster, pool: TxPool, opts: StepOptions): Promise<StepResult> {
  if (opts.warmup > 0) await warm(cluster, pool, opts)
  // Both pools are signed before the warm-up load, so the clock starts as soon as it has drained,
  // not after ~8 s of signing with idle validators between the two. Warm-up txs it did not send
  // hold lower nonces than the timed pool, so they go first.
  const warmTxs = opts.warmLoadMs > 0 ? pool.sign(opts.warmLoadPool, 'signing warm-up load') : []
  const timedTxs = pool.sign(opts.poolSize, `signing ${opts.label}`)
  let txs = timedTxs
  let warmLoad: StepResult['warmLoad']
  if (warmTxs.length > 0) {
    const r = await untimedLoad(cluster, warmTxs, { ...opts, durationMs: opts.warmLoadMs })
    warmLoad = { durationS: r.durationS, sent: r.sent, committed: r.committedTotal, lost: r.lost, duplicates: r.duplicates, p99Ms: r.latencyMs.p99 }
    txs = [...warmTxs.slice(r.sent), ...timedTxs]
  }
  const level = await checkHeads(cluster.urls, 30_000)
  const before = await Promise.all(cluster.urls.map(async u => await scrapeCounters(u)))
  const start = await (await fetch(`${cluster.urls[0]!}/status`, { signal: AbortSignal.timeout(5000) })).json() as { height: number }
  let sink: (b: SeenBlock) => void = () => {}
  const watch = new BlockWatch(cluster.urls[0]!, b => sink(b))
  await watch.start(start.height + 1)

  const cpu0 = cluster.pids.map(p => sampleProc(p))
  const rssMax = cluster.pids.map(() => 0)
  const sampleRss = (): Array<ProcSample | null> => cluster.pids.map((p, i) => {
    const s = sampleProc(p)
    if (s !== null) rssMax[i] = Math.max(rssMax[i]!, s.rssBytes)
    return s
  })
  sampleRss()
  let cpu1: Array<ProcSample | null> | undefined
  let self1: NodeJS.CpuUsage | undefined
  let load1: number | undefined
  const load0 = loadavg()[0]!
  const self0 = process.cpuUsage()
  const t0 = performance.now()
  const rssTimer = setInterval(sampleRss, 1000)
  const cpuTimer = setTimeout(() => { cpu1 = sampleRss(); self1 = process.cpuUsage(self0); load1 = loadavg()[0]! }, opts.durationMs)
  let load: LoadResult
  try {
    load = await runLoad(txs, { set: fn => { sink = fn } }, { ...opts, urls: cluster.urls })
    pool.giveBack(txs.slice(load.sent))
  } finally {
    clearInterval(rssTimer)
    clearTimeout(cpuTimer)
  }
  const windowS = Math.min(opts.durationMs, performance.now() - t0) / 1000
  cpu1 ??= sampleRss()
  self1 ??= process.cpuUsage(self0)
  load1 ??= loadavg()[0]!
  const heads = await checkHeads(cluster.urls, 30_000)
  const end = sampleRss()
  await watch.stop()
  const after = await Promise.all(cluster.urls.map(async u => await scrapeCounters(u)))
  const delta = (k: keyof NodeCounters): number[] => cluster.urls.map((_, i) => (after[i]?.[k] ?? NaN) - (before[i]?.[k] ?? NaN))
  const result: StepResult = {
    ...load,
    label: opts.label,
    validators: cluster.pids.map((pid, i) => ({
      url: cluster.urls[i]!,
      pid,
      cpuPct: pctOfWindow(cpu0[i], cpu1![i], windowS, s => s.cpuSeconds),
      mainCpuPct: pctOfWindow(cpu0[i], cpu1![i], windowS, s => s.mainCpuSeconds),
      rssMaxMB: rssMax[i]! / 2 ** 20,
      rssEndMB: (end[i]?.rssBytes ?? 0) / 2 ** 20,
      ...(cluster.homes === undefined ? {} : { dataMB: mbOrNull(dirBytes(homePaths(cluster.homes[i]!).data)) }),
      malloc: runningMalloc(() => readFileSync(`/proc/${pid}/maps`, 'utf8'))
    })),
    viewChanges: Math.max(...delta('viewChanges')),
    nodeRejectedTxs: delta('rejectedTxs').reduce((a, b) => a + b, 0),
    nodeCommittedTxs: delta('committedTxs'),
    blockStagesMs: {
      execute: perBlockMs(delta('executeS'), delta('blocks')),
      state: perBlockMs(delta('stateS'), delta('blocks')),
      write: perBlockMs(delta('writeS'), delta('blocks'))
    },
    heads,
    startHeads: { agreed: level.agreed, waitedS: level.waitedS ?? 0 },
    ...(warmLoad === undefined ? {} : { warmLoad }),
    loadAvg: [load0, load1],
    benchCpuPct: 100 * (self1.user + self1.system) / 1e6 / windowS,
    txPerValidatorCpuSecond: NaN
  }
  const cpuSum = result.validators.reduce((a, v) => a + v.cpuPct, 0) / 100 * windowS
  if (cpuSum > 0) result.txPerValidatorCpuSecond = load.committedInWindow / cpuSum
  if (watch.error !== undefined) result.watchError = watch.error
  return result
}

function pctOfWindow (a: ProcSample | null | undefined, b: ProcSample | null | undefined, windowS: number, pick: (s: ProcSample) => number): number {
  return a == null || b == null ? NaN : 100 * (pick(b) - pick(a)) / windowS
}

function perBlockMs (seconds: number[], blocks: number[]): number {
  const s = seconds.filter(Number.isFinite).reduce((a, b) => a + b, 0)
  const n = blocks.filter(Number.isFinite).reduce((a, b) => a + b, 0)
  return n > 0 ? 1000 * s / n : NaN
}

/** Runs an untimed load of `txs` while following node 0's blocks; the caller owns the unsent ones. */
async function untimedLoad (cluster: Cluster, txs: PoolTx[], load: Omit<LoadOptions, 'urls'>): Promise<LoadResult> {
  const start = await (await fetch(`${cluster.urls[0]!}/status`, { signal: AbortSignal.timeout(5000) })).json() as { height: number }
  let sink: (b: SeenBlock) => void = () => {}
  const watch = new BlockWatch(cluster.urls[0]!, b => sink(b))
  await watch.start(start.height + 1)
  try {
    return await runLoad(txs, { set: fn => { sink = fn } }, { ...load, urls: cluster.urls, onTick: undefined })
  } finally {
    await watch.stop()
  }
}

async function warm (cluster: Cluster, pool: TxPool, opts: StepOptions): Promise<void> {
  const txs = pool.sign(opts.warmup, 'signing warm-up')
  const r = await untimedLoad(cluster, txs, { ...opts, rate: 'max', durationMs: 120_000, window: Math.min(opts.window, 2000) })
  pool.giveBack(txs.slice(r.sent))
  if (r.lost > 0 || Object.keys(r.rejected).length > 0) process.stderr.write(`warm-up: ${r.lost} txs not committed, rejected ${JSON.stringify(r.rejected)}\n`)
}

/**
 * Waits (bounded) until every node reports the same height, head hash and state root.
 *
 * A validator that fell behind under saturation catches up by block sync once the load stops,
 * and that can take longer than `timeoutMs`: while some lagging node's height still rises the
 * wait is extended, `extendMs` at a time, up to `capMs` in all; `waitedS` says how long agreement
 * took. If they still disagree, each lower node's head is compared with the block at its
 * height on the highest node: `forked` means a different block at the same height (a safety
 * failure), not merely a node that is behind.
 */
export async function checkHeads (urls: string[], timeoutMs: number, capMs = 4 * timeoutMs, extendMs = 10_000): Promise<HeadCheck> {
  const start = Date.now()
  let deadline = start + timeoutMs
  let heightsAtDeadline: number[] | undefined
  let last: HeadCheck = { agreed: false, heights: [], headHashes: [], stateRoots: [] }
  for (;;) {
    const ss = await Promise.all(urls.map(async u => {
      try {
        const r = await fetch(`${u}/status`, { signal: AbortSignal.timeout(3000) })
        return await r.json() as Pick<StatusView, 'height' | 'headHash' | 'stateRoot' | 'consensus' | 'peers'>
      } catch {
        return null
      }
    }))
    last = {
      agreed: ss.every(s => s !== null && s.height === ss[0]!.height && s.headHash === ss[0]!.headHash && s.stateRoot === ss[0]!.stateRoot),
      heights: ss.map(s => s?.height ?? -1),
      headHashes: ss.map(s => s?.headHash ?? '?'),
      stateRoots: ss.map(s => s?.stateRoot ?? '?'),
      waitedS: (Date.now() - start) / 1000
    }
    if (last.agreed) return last
    if (Date.now() > deadline) {
      const moving = heightsAtDeadline !== undefined && last.heights.some((h, i) => h > heightsAtDeadline![i]!)
      if ((heightsAtDeadline === undefined || moving) && Date.now() - start < capMs) {
        heightsAtDeadline = last.heights
        deadline = Date.now() + extendMs
      } else {
        last.nodes = ss.map(s => s === null ? null : { consensus: s.consensus, peersConnected: s.peers.filter(p => p.connected).length })
        last.forked = await forkedNodes(urls, last)
        return last
      }
    }
    await new Promise(resolve => setTimeout(resolve, 250))
  }
}

/** Indexes of nodes whose head differs from the highest node's block at the same height. */
async function forkedNodes (urls: string[], h: HeadCheck): Promise<number[]> {
  const top = h.heights.indexOf(Math.max(...h.heights))
  const forked: number[] = []
  for (let i = 0; i < urls.length; i++) {
    if (h.heights[i]! < 0) continue
    if (h.heights[i] === h.heights[top]) {
      if (h.headHashes[i] !== h.headHashes[top]) forked.push(i)
      continue
    }
    try {
      const r = await fetch(`${urls[top]!}/blocks/${h.heights[i]!}`, { signal: AbortSignal.timeout(3000) })
      const b = await r.json() as { hash?: string }
      if (b.hash !== h.headHashes[i]) forked.push(i)
    } catch { /* unknown: not counted either way */ }
  }
  return forked
}

function mbOrNull (bytes: number | null): number | null {
  return bytes === null ? null : bytes / 2 ** 20
}
