import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Invariant } from '../../src/sim/checkers/types.js'
import type { LedgerBug } from '../../src/sim/ledger/bugs.js'
import { runRange } from './helpers.js'

/** Seeds allowed per broken executor before the ledger checkers count as blind to it. */
const BUDGET = 30

const cases: Array<{ bug: LedgerBug, invariant: Invariant, what: string }> = [
  { bug: 'mint', invariant: 'conservation', what: 'every replica creates money the same way' },
  { bug: 'diverge', invariant: 'agreement', what: 'odd replicas compute a different state' }
]

for (const { bug, invariant, what } of cases) {
  test(`broken executor "${bug}" (${what}) is caught as ${invariant} within ${BUDGET} seeds`, async () => {
    const hit = (inv: string): boolean => inv === invariant
    const r = await runRange(`ledger-bug=${bug} n=4`, 1, BUDGET, { validators: 4, app: 'ledger', ledgerBug: bug }, x => x.violations.some(v => hit(v.invariant)))
    const caught = r.results.find(x => x.violations.some(v => hit(v.invariant)))
    assert.ok(caught !== undefined, `ledger bug ${bug} not caught in seeds 1..${BUDGET}`)
    const v = caught.violations.find(x => hit(x.invariant))!
    console.log(`[sim] ledger-bug=${bug} caught at seed ${caught.seed}: [${v.invariant}] ${v.message}\n      replay: ${caught.replay}`)
  })
}
