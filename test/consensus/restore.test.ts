import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { batchDigest, signMessage } from '../../src/consensus/messages.js'
import { Replica } from '../../src/consensus/replica.js'
import type { ReplicaEffect } from '../../src/consensus/types.js'
import { Cluster, assertNoInternal, assertPersistBeforeSendAndNoEquivocation, cryptoFor, makeConfig, request, validatorKeys } from './harness.js'

test('persist before send: every signed message is persisted ahead of its send, across normal case and view change', () => {
  const c = new Cluster(4)
  c.start()
  for (let i = 0; i < 12; i++) c.submit(request(i))
  c.run(() => c.executed[1]!.length >= 2)
  c.silent.add(0)
  for (let i = 12; i < 20; i++) c.submit(request(i))
  assert.equal(c.run(() => [1, 2, 3].every(i => new Set(c.executed[i]!.flatMap(e => e.ids)).size === 20)), true)
  assertPersistBeforeSendAndNoEquivocation(c)
  assertNoInternal(c)
  // And within one effect list the persist comes first, in the same list.
  for (let i = 1; i < 4; i++) {
    for (const list of c.effects[i]!) {
      list.forEach((e, k) => {
        if (e.type === 'send' && e.to === 'all') {
          const wire = Buffer.from(e.bytes)
          const p = list.findIndex(x => x.type === 'persist' && Buffer.from(x.record.bytes).includes(wire))
          if (p === -1) return // a relay of something persisted earlier
          assert.ok(p < k, 'persist precedes send')
        }
      })
    }
  }
})

test('crash and restart of a backup and of the primary: no conflicting signatures, progress resumes', () => {
  const c = new Cluster(4)
  c.start()
  for (let i = 0; i < 10; i++) c.submit(request(i))
  c.run(() => c.executed[2]!.length >= 1)
  c.restart(2)
  c.restart(0)
  for (let i = 10; i < 20; i++) c.submit(request(i))
  const ok = c.run(() => [0, 1, 2, 3].every(i => new Set(c.executed[i]!.flatMap(e => e.ids)).size === 20))
  assert.equal(ok, true, JSON.stringify(c.replicas.map(r => r.status())))
  assertPersistBeforeSendAndNoEquivocation(c)
  assertNoInternal(c)
})

test('a restored backup refuses a conflicting pre-prepare for a (view, seq) it already prepared', () => {
  const keys = validatorKeys(4)
  const cfg = makeConfig(keys, 1)
  const now = 1_000_000
  const r1 = new Replica(cfg, cryptoFor(keys[1]!))
  r1.start(now)
  const pp = (reqs: number[]): Uint8Array => {
    const requests = reqs.map(request)
    const digest = batchDigest(cryptoFor(keys[0]!), now, 0, 0, requests.map(r => r.id))
    return signMessage({ chainId: cfg.chainId, from: 0, kind: 'pre-prepare', payload: { view: 0, seq: 1, timestamp: now, originView: 0, proposer: 0, digest, requests } }, cryptoFor(keys[0]!))
  }
  const fx1 = r1.step({ type: 'message', from: 0, bytes: pp([1, 2]) }, now)
  const records = fx1.flatMap(e => e.type === 'persist' ? [e.record] : [])
  assert.deepEqual(records.map(r => r.kind), ['prepare'])
  assert.ok(fx1.some(e => e.type === 'send'))

  const r1b = new Replica(cfg, cryptoFor(keys[1]!), { restore: { records, lastExecuted: { seq: 0, blockHash: new Uint8Array(32), stateRoot: new Uint8Array(32) } } })
  r1b.start(now)
  const fx2: ReplicaEffect[] = r1b.step({ type: 'message', from: 0, bytes: pp([3]) }, now + 1)
  assert.equal(fx2.filter(e => e.type === 'send' || e.type === 'persist').length, 0, 'nothing signed')
  assert.ok(fx2.some(e => e.type === 'rejected' && e.reason.startsWith('equivocation')), JSON.stringify(fx2))
  // The same pre-prepare again is a duplicate, still no second signature.
  const fx3 = r1b.step({ type: 'message', from: 0, bytes: pp([1, 2]) }, now + 2)
  assert.equal(fx3.filter(e => e.type === 'send').length, 0)
  assert.ok(fx3.some(e => e.type === 'rejected' && e.reason.startsWith('duplicate')))
})

test('a replica restarted in the middle of a view change resumes it and re-announces its VIEW-CHANGE', () => {
  const c = new Cluster(4)
  c.silent.add(0)
  c.start()
  c.submit(request(1))
  // Run until replica 3 has asked for view 1, then crash it before any NEW-VIEW.
  c.run(() => c.replicas[3]!.status().inViewChange)
  c.restart(3)
  const st = c.replicas[3]!.status()
  assert.equal(st.inViewChange, true)
  assert.equal(st.view, 0)
  const restartFx = c.effects[3]!.at(-1)!
  assert.ok(restartFx.some(e => e.type === 'send'), 're-sent its view-change')
  assert.equal(c.run(() => [1, 2, 3].every(i => c.executed[i]!.length >= 1)), true)
  assert.equal(c.replicas[3]!.view, 1)
  assertPersistBeforeSendAndNoEquivocation(c)
})

test('restore rejects corrupt records with a CorruptionError', () => {
  const keys = validatorKeys(4)
  assert.throws(() => new Replica(makeConfig(keys, 1), cryptoFor(keys[1]!), {
    restore: { records: [{ kind: 'prepare', bytes: new Uint8Array([1, 2, 3]) }], lastExecuted: { seq: 0, blockHash: new Uint8Array(32), stateRoot: new Uint8Array(32) } }
  }), (err: unknown) => (err as { code?: string }).code === 'ERR_CORRUPT')
})
