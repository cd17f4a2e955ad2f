import { Command, InvalidArgumentError } from 'commander'

export interface BenchOptions {
  validators: number
  attach?: string[]
  rate: number | 'max'
  duration: number
  sweep: boolean
  rates: Array<number | 'max'>
  accounts?: number[]
  senders: number
  window: number
  batch: number
  inflight: number
  pool?: number
  basePort: number
  seed: number
  profile?: number
  out: string
  keep: boolean
  logLevel: string
  progress: boolean
  drain: number
  verifyMs: number
  json: boolean
  warmup: boolean
  /** Seconds of untimed load at the first step's rate before its clock starts. */
  warmupLoad: number
  quiet: boolean
  /** Genesis batchTimeoutMs of the testnet the bench starts (default: the testnet's own). */
  batchTimeout?: number
  /** Genesis maxBatchSize of the testnet the bench starts (default: the testnet's own). */
  maxBatch?: number
  /** proposer.minBlockIntervalMs of the started validators (default: the node's own). */
  minBlockInterval?: number
}

const int = (name: string, min: number, max: number) => (v: string): number => {
  const n = Number(v)
  if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer in ${min}..${max}, got "${v}"`)
  return n
}

function rateOf (v: string): number | 'max' {
  if (v === 'max') return 'max'
  const n = Number(v)
  if (!Number.isFinite(n) || n <= 0 || n > 1_000_000) throw new InvalidArgumentError(`a rate is tx/s in (0, 1000000] or "max", got "${v}"`)
  return n
}

function accountsOf (v: string): number[] {
  return v.split(',').map(s => {
    const n = Number(s.trim().replace(/_/g, ''))
    if (!Number.isInteger(n) || n < 1 || n > 5_000_000) throw new InvalidArgumentError(`--accounts takes counts in 1..5000000 separated by commas, got "${s}"`)
    return n
  })
}

function urlsOf (v: string): string[] {
  return v.split(',').map(s => {
    try {
      const u = new URL(s.trim())
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http')
      return u.toString().replace(/\/+$/, '')
    } catch {
      throw new InvalidArgumentError(`--attach takes node API URLs separated by commas (e.g. http://127.0.0.1:47001), got "${s}"`)
    }
  })
}

export function benchProgram (defaultOut: string): Command {
  return new Command('bench')
    .description('throughput and latency benchmark of a real validator testnet on 127.0.0.1')
    .option('--validators <n>', 'validator processes to start', int('--validators', 1, 16), 4)
    .option('--attach <urls>', 'use running nodes (comma-separated API URLs) instead of starting a testnet; senders must be funded there', urlsOf)
    .option('--rate <r>', 'target tx/s (open loop) or "max" (closed loop, --window txs outstanding)', rateOf, 'max' as number | 'max')
    .option('--duration <s>', 'seconds of timed load per run (per step with --sweep)', int('--duration', 1, 3600), 60)
    .option('--sweep', 'run --rates from low to saturation; write JSON and an SVG plot to --out', false)
    .option('--rates <list>', 'rates for --sweep', (v: string) => v.split(',').map(s => rateOf(s.trim())), [250, 500, 1000, 1500, 2000, 2500, 3000, 'max'] as Array<number | 'max'>)
    .option('--accounts <list>', 'state-size mode: one fresh testnet per funded-account count, e.g. 10000,100000,1000000', accountsOf)
    .option('--senders <n>', 'accounts that sign the load (spreads the per-sender mempool limit)', int('--senders', 1, 100_000), 1000)
    .option('--window <n>', 'closed loop: most txs submitted but not yet committed', int('--window', 1, 1_000_000), 6000)
    .option('--batch <n>', 'most txs per POST /txs/batch', int('--batch', 1, 1000), 500)
    .option('--inflight <n>', 'most HTTP requests open at once', int('--inflight', 1, 10_000), 64)
    .option('--pool <n>', 'txs to pre-sign per run (default: rate x duration, or 3000/s x duration + --window for max)', int('--pool', 1, 10_000_000))
    .option('--base-port <port>', 'first port of the testnet (p2p = base+2i, api = base+2i+1)', int('--base-port', 1024, 65000), 27000)
    .option('--seed <n>', 'seed of keys and recipients (printed; replays a run)', int('--seed', 0, 2 ** 31 - 1), Math.floor(Math.random() * 2 ** 31))
    .option('--profile [index]', 'run validator <index> (default 0, the first primary) under node --cpu-prof; summarise the profile at the end')
    .option('--out <dir>', 'directory for reports, plots and profiles', defaultOut)
    .option('--keep', 'keep the testnet homes (logs, data) after the run', false)
    .option('--log-level <level>', 'LOG_LEVEL of the validators', 'warn')
    .option('--no-progress', 'no progress bars')
    .option('--drain <s>', 'seconds to wait after the load for accepted txs to commit', int('--drain', 1, 600), 30)
    .option('--verify-ms <ms>', 'time spent measuring the ed25519 verify rate', int('--verify-ms', 100, 60_000), 2000)
    .option('--json', 'print the report as JSON', false)
    .option('--quiet', 'print nothing (the JSON report is still written to --out)', false)
    .option('--batch-timeout <ms>', 'batchTimeoutMs of the started testnet\'s genesis (default: the testnet default, 20)', int('--batch-timeout', 1, 60_000))
    .option('--max-batch <n>', 'maxBatchSize (txs per block) of the started testnet\'s genesis (default: the testnet default)', int('--max-batch', 1, 100_000))
    .option('--min-block-interval <ms>', 'proposer.minBlockIntervalMs of the started validators: a partial batch is cut no sooner than this after the previous proposal (default: the node default, 50)', int('--min-block-interval', 0, 60_000))
    .option('--no-warmup', 'skip the untimed warm-up (one committed tx per sender, then --warmup-load seconds of load, before the clock starts)')
    .option('--warmup-load <s>', 'seconds of untimed load at the first step\'s rate before its clock starts (validators start cold)', int('--warmup-load', 0, 600), 5)
    .exitOverride()
}

export function parseBenchArgs (argv: string[], defaultOut: string): BenchOptions {
  const program = benchProgram(defaultOut)
  program.parse(argv, { from: 'user' })
  const o = program.opts<Omit<BenchOptions, 'profile'> & { profile?: string | boolean }>()
  let profile: number | undefined
  if (o.profile === true) profile = 0
  else if (typeof o.profile === 'string') profile = int('--profile', 0, o.validators - 1)(o.profile)
  const { profile: _p, ...rest } = o
  return { ...rest, ...(profile === undefined ? {} : { profile }) }
}
