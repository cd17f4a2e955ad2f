import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { openMessage } from '../../src/consensus/messages.js'
import type { ReplicaOptions } from '../../src/consensus/replica.js'
import { Cluster, cryptoFor, request } from './harness.js'

/**
 * Commits reach only replica 3 in view 0: it alone commits and executes, then the others
 * time out and change view. A correct NEW-VIEW re-proposes what replica 3 executed.
 */
function scenario (bug: ReplicaOptions['bug']): { c: Cluster, diverged: boolean } {
  const c = new Cluster(4, { options: () => (bug === undefined ? {} : { bug }) })
  c.filter = (_from, to, bytes) => {
    if (to === 3) return true
    const o = openMessage(bytes, c.configs[to]!, cryptoFor(c.keys[to]!))
    return !('body' in o) || o.body.kind !== 'commit' || o.body.payload.view !== 0
  }
  c.start()
  for (let i = 0; i < 4; i++) c.submit(request(i))
  c.run(() => c.executed[3]!.length >= 1)
  for (let i = 4; i < 8; i++) c.submit(request(i))
  c.run(() => [0, 1, 2].every(i => c.executed[i]!.length >= 2), 30_000)
  let diverged = false
  for (let i = 0; i < 4; i++) {
    c.executed[i]!.forEach((e, k) => {
      const ref = c.executed[3]![k]
      if (ref !== undefined && !Buffer.from(ref.blockHash).equals(Buffer.from(e.blockHash))) diverged = true
    })
  }
  return { c, diverged }
}

test('control: the correct replica keeps the block that only one replica executed', () => {
  const { c, diverged } = scenario(undefined)
  assert.equal(diverged, false)
  assert.ok(c.replicas[2]!.view >= 1)
})

test('bug drop-prepared-in-view-change makes replicas execute different blocks at one height', () => {
  assert.equal(scenario('drop-prepared-in-view-change').diverged, true)
})

test('every bug variant still runs the normal case without internal errors', () => {
  for (const bug of ['weak-quorum', 'commit-without-prepare', 'drop-prepared-in-view-change'] as const) {
    const c = new Cluster(4, { options: () => ({ bug }) })
    c.start()
    for (let i = 0; i < 8; i++) c.submit(request(i))
    assert.equal(c.run(() => c.executed.every(e => e.flatMap(x => x.ids).length === 8)), true, bug)
    for (let i = 0; i < 4; i++) assert.ok(!c.allEffects(i).some(e => e.type === 'rejected' && e.reason.startsWith('internal')), bug)
  }
})
