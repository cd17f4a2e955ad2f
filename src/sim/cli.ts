#!/usr/bin/env node
import '../polyfill.js'
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { Command, InvalidArgumentError, Option } from 'commander'
import { REPLICA_BUGS, type ReplicaBug } from './replica-api.js'
import { APP_KINDS, type AppKind } from './cluster.js'
import { LEDGER_BUGS, type LedgerBug } from './ledger/bugs.js'
import { formatFailure, formatViolation, runSeed, type RunOptions, type SeedResult } from './run.js'
import type { WorkerReply, WorkerRequest } from './worker.js'

interface CliOptions {
  seeds: number
  validators: number
  seed?: number
  start: string
  bug?: ReplicaBug
  app: AppKind
  ledgerBug?: LedgerBug
  realCrypto: boolean
  verbose: boolean
  jobs: number
  failFast: boolean
}

function int (name: string, min: number): (v: string) => number {
  return (v) => {
    const x = Number(v)
    if (!Number.isSafeInteger(x) || x < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}, got "${v}"`)
    return x
  }
}

const program = new Command()
  .name('sim')
  .description('Deterministic simulator: runs the real PBFT replica under a seeded fault plan and checks agreement, validity, certificates and liveness (and, with --app ledger, conservation and exactly-once over the full ledger).')
  .option('--seeds <n>', 'number of seeds to run', int('--seeds', 1), 100)
  .option('--validators <n>', 'cluster size n (f = floor((n-1)/3))', int('--validators', 1), 4)
  .option('--seed <s>', 'run this one seed (with --verbose: print its trace)', int('--seed', 0))
  .option('--start <s>', 'first seed of the range, or "random"', '1')
  .addOption(new Option('--bug <name>', 'run a deliberately broken replica variant').choices(REPLICA_BUGS as string[]))
  .addOption(new Option('--app <kind>', 'application of every correct replica: the hash chain stand-in or the full ledger (mempool, execution, Merkle state, block store)').choices(APP_KINDS as string[]).default('hash-chain'))
  .addOption(new Option('--ledger-bug <name>', 'with --app ledger: a deliberately broken executor').choices(LEDGER_BUGS as string[]))
  .option('--real-crypto', 'sign with ed25519 instead of the simulated signatures', false)
  .option('--verbose', 'print the trace of a single seed, or every failure in full', false)
  .option('--jobs <n>', 'worker threads', int('--jobs', 1), Math.max(1, Math.min(availableParallelism(), 8)))
  .option('--fail-fast', 'stop at the first failing seed', false)
  .parse()

const o = program.opts<CliOptions>()
const runOpts: RunOptions = {
  validators: o.validators,
  ...(o.realCrypto ? { crypto: 'real' as const } : {}),
  ...(o.bug !== undefined ? { bug: o.bug } : {}),
  ...(o.app !== 'hash-chain' ? { app: o.app } : {}),
  ...(o.ledgerBug !== undefined ? { ledgerBug: o.ledgerBug, app: 'ledger' as const } : {})
}
const out = (s: string): void => { process.stdout.write(s + '\n') }

if (o.seed !== undefined) {
  const r = await runSeed(o.seed, { ...runOpts, ...(o.verbose ? { trace: out } : {}) })
  out(`seed ${r.seed}: ${r.plan}`)
  out(`stats: ${JSON.stringify(r.stats)}`)
  out(`trace hash ${r.traceHash}, ${r.wallMs.toFixed(0)} ms wall`)
  if (r.ok) out(`seed ${r.seed} passed`)
  else out(formatFailure(r))
  process.exitCode = r.ok ? 0 : 1
} else {
  const start = o.start === 'random' ? Math.floor(Math.random() * 2 ** 32) : int('--start', 0)(o.start)
  await runRange(start, o.seeds)
}

async function runRange (start: number, count: number): Promise<void> {
  const t0 = performance.now()
  const failures: SeedResult[] = []
  let done = 0
  let next = start
  const end = start + count
  let lastPrint = t0
  const totals = { height: 0, viewChanges: 0, crashes: 0, syncs: 0, events: 0, virtualMs: 0, reinclusions: 0 }
  out(`[sim] seeds ${start}..${end - 1}, n=${o.validators}, app=${runOpts.app ?? 'hash-chain'}${o.bug !== undefined ? `, bug=${o.bug}` : ''}${o.ledgerBug !== undefined ? `, ledger-bug=${o.ledgerBug}` : ''}${o.realCrypto ? ', real crypto' : ''}, ${o.jobs} worker(s)`)

  const onResult = (r: SeedResult): void => {
    done++
    totals.height += r.stats.height; totals.viewChanges += r.stats.viewChanges; totals.crashes += r.stats.crashes
    totals.syncs += r.stats.syncs; totals.events += r.stats.events; totals.virtualMs += r.stats.virtualMs
    totals.reinclusions += r.stats.duplicateInclusions
    if (!r.ok) {
      failures.push(r)
      out(o.verbose ? formatFailure(r) : `[sim] seed ${r.seed} FAILED ${formatViolation(r.violations[0]!)}\n      replay: ${r.replay}`)
    }
    const now = performance.now()
    if (now - lastPrint > 2000) {
      lastPrint = now
      process.stderr.write(`[sim] ${done}/${count} seeds, ${failures.length} failed, ${(done / ((now - t0) / 1000)).toFixed(1)} seeds/s\n`)
    }
  }

  await new Promise<void>((resolve) => {
    let live = o.jobs
    const batch = Math.max(1, Math.min(20, Math.floor(count / (o.jobs * 8))))
    for (let j = 0; j < o.jobs; j++) {
      const w = new Worker(new URL('./worker.js', import.meta.url), { workerData: runOpts })
      const feed = (): void => {
        if (next >= end || (o.failFast && failures.length > 0)) {
          w.postMessage({ stop: true } satisfies WorkerRequest)
          return
        }
        const seeds: number[] = []
        while (seeds.length < batch && next < end) seeds.push(next++)
        w.postMessage({ seeds } satisfies WorkerRequest)
      }
      w.on('message', (msg: WorkerReply) => { msg.results.forEach(onResult); feed() })
      w.on('error', (err) => { out(`[sim] worker error: ${err.stack ?? String(err)}`); process.exitCode = 2 })
      w.on('exit', () => { if (--live === 0) resolve() })
      feed()
    }
  })

  const secs = (performance.now() - t0) / 1000
  const avg = (x: number): string => (x / Math.max(1, done)).toFixed(1)
  out(`[sim] n=${o.validators}: ${done} seeds (${start}..${start + done - 1}), ${failures.length} failed, ${secs.toFixed(1)} s, ${(done / secs).toFixed(1)} seeds/s`)
  out(`[sim] per seed: height ${avg(totals.height)}, view changes ${avg(totals.viewChanges)}, crashes ${avg(totals.crashes)}, syncs ${avg(totals.syncs)}, re-inclusions ${avg(totals.reinclusions)}, events ${avg(totals.events)}, virtual ${avg(totals.virtualMs)} ms`)
  if (failures.length > 0) {
    out('[sim] failing seeds (replay each with the command shown):')
    for (const f of failures.slice(0, 20)) out(`  ${f.replay}`)
    process.exitCode = 1
  }
}
