import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { batchDigest, signMessage, type MessageBody } from '../../src/consensus/messages.js'
import type { ReplicaEvent } from '../../src/consensus/types.js'
import { Cluster, assertNoInternal, cryptoFor, request } from './harness.js'

const SEED = 20260525

test('malformed events and bytes never throw; each gets a rejected effect', () => {
  const c = new Cluster(4)
  c.start()
  const r = c.replicas[1]!
  const weird: unknown[] = [
    null, undefined, 42, 'x', {}, { type: 'nope' },
    { type: 'message', from: 0 }, { type: 'message', from: 0, bytes: 'abc' }, { type: 'message', from: -1, bytes: new Uint8Array(0) },
    { type: 'request' }, { type: 'request', request: { id: 1, bytes: 2 } },
    { type: 'executed', seq: -1, blockHash: new Uint8Array(1), stateRoot: new Uint8Array(1) },
    { type: 'executed', seq: 1.5, blockHash: new Uint8Array(1), stateRoot: new Uint8Array(1) },
    { type: 'executed', seq: 99, blockHash: new Uint8Array(1), stateRoot: new Uint8Array(1) },
    { type: 'synced', seq: 1, blockHash: null, stateRoot: new Uint8Array(1) },
    { type: 'synced', seq: 0, blockHash: new Uint8Array(1), stateRoot: new Uint8Array(1), signatures: 'x' },
    { type: 'timer' }, { type: 'timer', id: 'vc:999' }, { type: 'timer', id: '::' }
  ]
  for (const e of weird) {
    const fx = r.step(e as ReplicaEvent, c.now)
    assert.ok(Array.isArray(fx))
  }
  fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), fc.nat(3), (bytes, from) => {
    const fx = r.step({ type: 'message', from, bytes }, c.now)
    return fx.some(e => e.type === 'rejected')
  }), { seed: SEED, numRuns: 300 })
  // Still a working replica afterwards.
  for (let i = 0; i < 8; i++) c.submit(request(i))
  assert.equal(c.run(() => c.executed.every(e => e.flatMap(x => x.ids).length === 8)), true)
  assertNoInternal(c)
})

test(`validly signed junk from a Byzantine validator never throws and never stops the others (seed ${SEED})`, () => {
  const c = new Cluster(4)
  c.start()
  const byz = cryptoFor(c.keys[3]!)
  const chainId = c.configs[0]!.chainId
  const small = fc.nat(12)
  const bytes = fc.uint8Array({ minLength: 1, maxLength: 40 })
  const body: fc.Arbitrary<MessageBody> = fc.oneof(
    fc.record({ view: small, seq: fc.integer({ min: 1, max: 30 }), timestamp: fc.nat(), n: fc.nat(3) }).map(x => {
      const requests = Array.from({ length: x.n }, (_, i) => request(1000 + i))
      const digest = batchDigest(byz, x.timestamp, x.view, 3, requests.map(r => r.id))
      return { chainId, from: 3, kind: 'pre-prepare' as const, payload: { view: x.view, seq: x.seq, timestamp: x.timestamp, originView: x.view, proposer: 3, digest, requests } }
    }),
    fc.record({ view: small, seq: fc.integer({ min: 1, max: 30 }), digest: bytes, commit: fc.boolean() }).map(x =>
      ({ chainId, from: 3, kind: x.commit ? 'commit' as const : 'prepare' as const, payload: { view: x.view, seq: x.seq, digest: x.digest } })),
    fc.record({ seq: fc.nat(100), h: bytes }).map(x =>
      ({ chainId, from: 3, kind: 'checkpoint' as const, payload: { seq: x.seq, blockHash: x.h, stateRoot: x.h, signature: byz.sign(new Uint8Array([1])) } })),
    fc.record({ newView: fc.integer({ min: 1, max: 9 }), seq: fc.nat(20), junk: fc.array(bytes, { maxLength: 2 }) }).map(x => ({
      chainId,
      from: 3,
      kind: 'view-change' as const,
      payload: { newView: x.newView, stable: { seq: x.seq, blockHash: new Uint8Array(0), stateRoot: new Uint8Array(0), signatures: [] }, prepared: x.junk.map(j => ({ prePrepare: j, prepares: [j] })) }
    })),
    fc.record({ view: fc.integer({ min: 1, max: 9 }), junk: fc.array(bytes, { maxLength: 3 }) }).map(x =>
      ({ chainId, from: 3, kind: 'new-view' as const, payload: { view: x.view, viewChanges: x.junk, prePrepares: x.junk } }))
  )
  fc.assert(fc.property(body, fc.nat(2), (b, to) => {
    const fx = c.replicas[to]!.step({ type: 'message', from: 3, bytes: signMessage(b, byz) }, c.now)
    return Array.isArray(fx) && !fx.some(e => e.type === 'rejected' && e.reason.startsWith('internal'))
  }), { seed: SEED, numRuns: 400 })
  c.silent.add(3)
  for (let i = 0; i < 8; i++) c.submit(request(i))
  const ok = c.run(() => [0, 1, 2].every(i => new Set(c.executed[i]!.flatMap(e => e.ids)).size === 8))
  assert.equal(ok, true, JSON.stringify(c.replicas.map(r => r.status())))
  assertNoInternal(c)
})
