import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { batchDigest, openMessage, signMessage } from '../../src/consensus/messages.js'
import { Replica } from '../../src/consensus/replica.js'
import type { ReplicaEffect } from '../../src/consensus/types.js'
import { Cluster, assertNoInternal, assertPersistBeforeSendAndNoEquivocation, cryptoFor, makeConfig, request, validatorKeys } from './harness.js'

// Regressions for liveness failures the simulator found (docs/simulator.md): each is a correct
// replica left behind with nothing that would ever tell it what the others decided.

test('a replica restarted with an empty WAL announces itself and is handed the decided seqs (sim seed 9923)', () => {
  const c = new Cluster(4)
  // Replica 3 is down for the whole normal case: it persists nothing and hears nothing.
  c.silent.add(3)
  c.start()
  for (let i = 0; i < 3; i++) c.submit(request(i), [0, 1, 2])
  assert.equal(c.run(() => [0, 1, 2].every(i => c.executed[i]!.flatMap(e => e.ids).length === 3)), true)
  assert.equal(c.records[3]!.length, 0)
  c.silent.delete(3)
  c.restart(3)
  // No client resends: the only way in is the restart announcement and the answers to it.
  const ok = c.run(() => c.executed[3]!.length === c.executed[0]!.length, 10_000)
  assert.equal(ok, true, JSON.stringify(c.replicas[3]!.status()))
  assert.deepEqual(c.executed[3]!.map(e => Buffer.from(e.blockHash).toString('hex')), c.executed[0]!.map(e => Buffer.from(e.blockHash).toString('hex')))
  // It said "nothing executed" with a genesis checkpoint, which no replica counts toward a certificate.
  const first = c.effects[3]!.at(0)!.find(e => e.type === 'send')
  assert.ok(first !== undefined && first.type === 'send')
  const o = openMessage(first.bytes, c.configs[3]!, cryptoFor(c.keys[3]!))
  assert.ok('body' in o && o.body.kind === 'checkpoint' && o.body.payload.seq === 0)
  for (let i = 0; i < 4; i++) assert.ok(c.allEffects(i).every(e => e.type !== 'certified' || e.seq > 0))
  assertPersistBeforeSendAndNoEquivocation(c)
  assertNoInternal(c)
})

test('a Byzantine commit for another digest, received first, does not hide its commit for the real batch (sim seeds 858, 7465)', () => {
  const keys = validatorKeys(4)
  const cfg = makeConfig(keys, 1)
  const now = 1_000_000
  const r1 = new Replica(cfg, cryptoFor(keys[1]!))
  r1.start(now)
  const requests = [request(1)]
  const digest = batchDigest(cryptoFor(keys[0]!), now, 0, 0, requests.map(r => r.id))
  const sign = (from: number, kind: 'prepare' | 'commit', d: Uint8Array): Uint8Array =>
    signMessage({ chainId: cfg.chainId, from, kind, payload: { view: 0, seq: 1, digest: d } }, cryptoFor(keys[from]!))
  const pp = signMessage({ chainId: cfg.chainId, from: 0, kind: 'pre-prepare', payload: { view: 0, seq: 1, timestamp: now, originView: 0, proposer: 0, digest, requests } }, cryptoFor(keys[0]!))
  const fx: ReplicaEffect[] = []
  const deliver = (from: number, bytes: Uint8Array): void => { fx.push(...r1.step({ type: 'message', from, bytes }, now)) }
  deliver(0, pp)
  deliver(2, sign(2, 'prepare', digest))
  deliver(3, sign(3, 'prepare', digest))
  assert.ok(fx.some(e => e.type === 'persist' && e.record.kind === 'commit'), 'prepared and committed locally')
  const bogus = new Uint8Array(32).fill(7)
  deliver(0, sign(0, 'commit', bogus)) // the Byzantine primary's first, conflicting commit
  deliver(2, sign(2, 'commit', digest))
  assert.equal(fx.filter(e => e.type === 'execute').length, 0, 'own + 2 matching commits only: not decided')
  // Its commit for the real batch (e.g. forwarded in another replica's commit proof).
  deliver(0, sign(0, 'commit', digest))
  assert.ok(fx.some(e => e.type === 'rejected' && e.reason.startsWith('equivocation')), 'the equivocation is still reported')
  const exec = fx.filter(e => e.type === 'execute')
  assert.equal(exec.length, 1)
  assert.equal(exec[0]!.type === 'execute' && exec[0]!.seq, 1)
})

test('a conflicting vote never displaces a vote for the batch, and never counts for a digest nobody proposed', () => {
  const keys = validatorKeys(4)
  const cfg = makeConfig(keys, 1)
  const now = 1_000_000
  const r1 = new Replica(cfg, cryptoFor(keys[1]!))
  r1.start(now)
  const requests = [request(1)]
  const digest = batchDigest(cryptoFor(keys[0]!), now, 0, 0, requests.map(r => r.id))
  const bogus = new Uint8Array(32).fill(7)
  const sign = (from: number, kind: 'prepare' | 'commit', d: Uint8Array): Uint8Array =>
    signMessage({ chainId: cfg.chainId, from, kind, payload: { view: 0, seq: 1, digest: d } }, cryptoFor(keys[from]!))
  const fx: ReplicaEffect[] = []
  const deliver = (from: number, bytes: Uint8Array): void => { fx.push(...r1.step({ type: 'message', from, bytes }, now)) }
  // Votes before the pre-prepare: the first vote per sender is kept (no batch to prefer yet).
  deliver(2, sign(2, 'prepare', bogus))
  deliver(2, sign(2, 'prepare', digest))
  deliver(0, signMessage({ chainId: cfg.chainId, from: 0, kind: 'pre-prepare', payload: { view: 0, seq: 1, timestamp: now, originView: 0, proposer: 0, digest, requests } }, cryptoFor(keys[0]!)))
  assert.equal(fx.filter(e => e.type === 'persist' && e.record.kind === 'commit').length, 0, 'our prepare is the only matching one')
  deliver(2, sign(2, 'prepare', digest))
  assert.equal(fx.filter(e => e.type === 'persist' && e.record.kind === 'commit').length, 1, 'the vote for the batch now counts')
  // Commits: a matching one held is not replaced by a later conflicting one.
  deliver(2, sign(2, 'commit', digest))
  deliver(2, sign(2, 'commit', bogus))
  deliver(3, sign(3, 'commit', digest))
  assert.equal(fx.filter(e => e.type === 'execute').length, 1)
})
