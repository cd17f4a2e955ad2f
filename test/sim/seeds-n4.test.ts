import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { SeedResult } from '../../src/sim/run.js'
import { describeFailures, runRange } from './helpers.js'

// Seeds are fixed so a red run is reproducible; SIM_SEED_START shifts the window to explore.
const start = Number(process.env.SIM_SEED_START ?? 1)

test('500 seeds, n=4 (f=1): random mixes of Byzantine replicas, crashes, partitions and a lossy network', async () => {
  const r = await runRange('n=4', start, 500, { validators: 4 })
  const byz = r.results.filter(x => x.plan.includes('byzantine=[') && !x.plan.includes('byzantine=[none]')).length
  const crashes = r.results.filter(x => x.stats.crashes > 0).length
  const partitions = r.results.filter(x => !x.plan.includes('partitions=[none]')).length
  console.log(`[sim] n=4 mixes: ${byz} with Byzantine replicas, ${crashes} with crashes, ${partitions} with partitions`)
  assert.ok(byz > 300 && crashes > 100 && partitions > 100)
  // Every kind of fault actually happened somewhere in the range.
  const sum = (k: keyof SeedResult['stats']['byzantine']): number => r.results.reduce((a, x) => a + x.stats.byzantine[k], 0)
  const faults = {
    equivocations: sum('equivocations'), echoedVotes: sum('echoedVotes'), forged: sum('forged'), replayed: sum('replayed'),
    futureViews: sum('futureViews'), corrupted: sum('corrupted'),
    midStepCrashes: r.results.reduce((a, x) => a + x.stats.midStepCrashes, 0),
    syncs: r.results.reduce((a, x) => a + x.stats.syncs, 0),
    dropped: r.results.reduce((a, x) => a + x.stats.dropped, 0),
    duplicated: r.results.reduce((a, x) => a + x.stats.duplicated, 0)
  }
  console.log(`[sim] n=4 fault totals: ${JSON.stringify(faults)}`)
  for (const [k, v] of Object.entries(faults)) assert.ok(v > 0, `no ${k} in the whole range`)
  // The primary's maxInFlightBatches is drawn per seed: every choice ran.
  for (const v of ['any', '1', '2', '4']) assert.ok(r.results.some(x => x.plan.includes(`inFlight=${v} `)), `no seed with inFlight=${v}`)
  for (const v of ['0', '20', '50']) assert.ok(r.results.some(x => x.plan.includes(`minInterval=${v}ms `)), `no seed with minInterval=${v}ms`)
  assert.equal(r.failures.length, 0, describeFailures(r.failures))
})
