import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { runSeed } from '../../src/sim/run.js'

// Seed 6522 (found in a 10,000-seed run of the full ledger): replica 0's own COMMIT helped
// decide seq 2 in view 0, but its copies of the others' COMMITs were lost. It went on to view 1
// (the others had executed seq 2 and did not vote on it again) and then alone towards view 2.
// Installing view 1 it dropped its view-0 slot, its own COMMIT and the batch included, while
// the others forward a decision without what they believe it holds (Replica.forwardDecided):
// it never completed the certificate and never executed seq 2. It now keeps its own COMMIT and
// batch of a dropped view as late evidence.
test('a replica keeps its own COMMIT of an older view through a view change, and completes a certificate the others forward', async () => {
  const r = await runSeed(6522, { validators: 4, app: 'ledger' })
  assert.ok(r.plan.includes('byzantine=[2:silent]'), `seed 6522's plan changed (${r.plan}): pick a new seed`)
  assert.ok(r.ok, `seed 6522 failed: ${r.violations.map(v => v.message).join('; ')} (${r.replay})`)
  assert.ok(r.stats.viewChanges > 0)
})
