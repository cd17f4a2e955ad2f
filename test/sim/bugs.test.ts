import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { ReplicaBug } from '../../src/sim/replica-api.js'
import { runRange } from './helpers.js'

/** Seeds allowed per broken variant and cluster size before the simulator counts as blind to it. */
const BUDGET = 1000

for (const bug of ['weak-quorum', 'commit-without-prepare', 'drop-prepared-in-view-change'] as ReplicaBug[]) {
  test(`broken replica "${bug}" is caught as a safety violation within ${BUDGET} seeds`, async () => {
    const safety = (inv: string): boolean => inv === 'agreement' || inv === 'validity' || inv === 'certificate'
    const r = await runRange(`bug=${bug} n=4`, 1, BUDGET, { validators: 4, bug }, x => x.violations.some(v => safety(v.invariant)))
    const caught = r.results.find(x => x.violations.some(v => safety(v.invariant)))
    assert.ok(caught !== undefined, `bug ${bug} not caught in seeds 1..${BUDGET}`)
    const v = caught.violations.find(x => safety(x.invariant))!
    console.log(`[sim] bug=${bug} caught at seed ${caught.seed}: [${v.invariant}] ${v.message}\n      replay: ${caught.replay}`)
  })
}
