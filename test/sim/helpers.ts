import { formatFailure, runSeed, type RunOptions, type SeedResult } from '../../src/sim/run.js'

export interface RangeResult {
  results: SeedResult[]
  failures: SeedResult[]
  seconds: number
  seedsPerSecond: number
}

/** Runs seeds start..start+count-1 and prints the range, failures (with replay commands) and seeds/s. */
export async function runRange (label: string, start: number, count: number, opts: RunOptions, stopWhen?: (r: SeedResult) => boolean): Promise<RangeResult> {
  const t0 = performance.now()
  const results: SeedResult[] = []
  for (let seed = start; seed < start + count; seed++) {
    const r = await runSeed(seed, opts)
    results.push(r)
    if (stopWhen?.(r) === true) break
  }
  const seconds = (performance.now() - t0) / 1000
  const failures = results.filter(r => !r.ok)
  const seedsPerSecond = results.length / seconds
  const last = start + results.length - 1
  const avg = (f: (r: SeedResult) => number): string => (results.reduce((a, r) => a + f(r), 0) / results.length).toFixed(1)
  console.log(`[sim] ${label}: seeds ${start}..${last} (${results.length}), ${failures.length} failed, ${seconds.toFixed(1)} s, ${seedsPerSecond.toFixed(1)} seeds/s; ` +
    `avg height ${avg(r => r.stats.height)}, view changes ${avg(r => r.stats.viewChanges)}, crashes ${avg(r => r.stats.crashes)}, syncs ${avg(r => r.stats.syncs)}`)
  for (const f of failures) console.log(`[sim]   seed ${f.seed} failed [${f.violations[0]!.invariant}]: ${f.replay}`)
  return { results, failures, seconds, seedsPerSecond }
}

export function describeFailures (failures: SeedResult[]): string {
  return `${failures.length} seed(s) failed: ${failures.map(f => f.seed).join(' ')}\n` + failures.slice(0, 5).map(formatFailure).join('\n')
}
