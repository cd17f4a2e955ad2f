import { Cluster, type ClusterOptions, type ClusterStats } from './cluster.js'
import type { Violation } from './checkers/types.js'
import type { ReplicaFactory } from './replica-api.js'
import { realReplica } from './replica-factory.js'

/** ClusterOptions without the seed (runSeed takes it) and with the real Replica as default factory. */
export type RunOptions = Omit<ClusterOptions, 'seed' | 'factory'> & { factory?: ReplicaFactory }

export interface SeedResult {
  seed: number
  ok: boolean
  violations: Violation[]
  stats: ClusterStats
  /** sha256 over every event the run processed: equal hashes mean identical runs. */
  traceHash: string
  /** The seed's configuration and fault plan, one line. */
  plan: string
  /** The command that replays exactly this run. */
  replay: string
  wallMs: number
}

/** Runs one seed to completion (liveness deadline, all requests executed, or first violation). */
export async function runSeed (seed: number, opts: RunOptions): Promise<SeedResult> {
  const t0 = performance.now()
  const cluster = new Cluster({
    seed,
    validators: opts.validators,
    factory: opts.factory ?? realReplica,
    ...(opts.crypto !== undefined ? { crypto: opts.crypto } : {}),
    ...(opts.bug !== undefined ? { bug: opts.bug } : {}),
    ...(opts.app !== undefined ? { app: opts.app } : {}),
    ...(opts.ledgerBug !== undefined ? { ledgerBug: opts.ledgerBug } : {}),
    ...(opts.mix !== undefined ? { mix: opts.mix } : {}),
    ...(opts.livenessBoundMs !== undefined ? { livenessBoundMs: opts.livenessBoundMs } : {}),
    ...(opts.maxEvents !== undefined ? { maxEvents: opts.maxEvents } : {}),
    ...(opts.trace !== undefined ? { trace: opts.trace } : {})
  })
  const r = await cluster.run()
  return {
    seed,
    ok: r.violations.length === 0,
    violations: r.violations,
    stats: r.stats,
    traceHash: r.traceHash,
    plan: r.plan,
    replay: replayCommand(seed, opts),
    wallMs: performance.now() - t0
  }
}

export function replayCommand (seed: number, opts: Pick<RunOptions, 'validators' | 'crypto' | 'bug' | 'app' | 'ledgerBug'>): string {
  let cmd = `npm run sim -- --seed ${seed} --validators ${opts.validators}`
  if (opts.app !== undefined && opts.app !== 'hash-chain') cmd += ` --app ${opts.app}`
  if (opts.crypto === 'real') cmd += ' --real-crypto'
  if (opts.bug !== undefined) cmd += ` --bug ${opts.bug}`
  if (opts.ledgerBug !== undefined) cmd += ` --ledger-bug ${opts.ledgerBug}`
  return cmd + ' --verbose'
}

export function formatViolation (v: Violation): string {
  return `[${v.invariant}] t=${v.time}ms${v.replica !== undefined ? ` replica=${v.replica}` : ''}${v.seq !== undefined ? ` seq=${v.seq}` : ''}: ${v.message}`
}

export function formatFailure (r: SeedResult): string {
  return [
    `seed ${r.seed} FAILED: ${r.violations.length} violation(s)`,
    ...r.violations.slice(0, 5).map(v => '  ' + formatViolation(v)),
    `  plan: ${r.plan}`,
    `  replay: ${r.replay}`
  ].join('\n')
}
