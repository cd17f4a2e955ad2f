import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { describeFailures, runRange } from './helpers.js'

// Seeds are fixed so a red run is reproducible; SIM_SEED_START shifts the window to explore.
const start = Number(process.env.SIM_SEED_START ?? 1)

test('seeds 251..500 of 500, n=7 (f=2): random mixes of Byzantine replicas, crashes, partitions and a lossy network', async () => {
  const r = await runRange('n=7 part 2', start + 250, 250, { validators: 7 })
  assert.equal(r.failures.length, 0, describeFailures(r.failures))
  const byz = r.results.filter(x => x.plan.includes('byzantine=[') && !x.plan.includes('byzantine=[none]')).length
  const crashes = r.results.filter(x => x.stats.crashes > 0).length
  const partitions = r.results.filter(x => !x.plan.includes('partitions=[none]')).length
  console.log(`[sim] n=7 mixes: ${byz} with Byzantine replicas, ${crashes} with crashes, ${partitions} with partitions`)
  assert.ok(byz > 150 && crashes > 50 && partitions > 50)
})
