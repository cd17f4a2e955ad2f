import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Prng } from '../../src/sim/prng.js'
import { EventQueue } from '../../src/sim/queue.js'
import { SimNetwork } from '../../src/sim/network.js'
import { SimStorage } from '../../src/sim/storage.js'
import { HashChainApp } from '../../src/sim/app.js'
import { AgreementChecker } from '../../src/sim/checkers/agreement.js'
import { ValidityChecker } from '../../src/sim/checkers/validity.js'
import { CertificateChecker } from '../../src/sim/checkers/certificates.js'
import type { Violation } from '../../src/sim/checkers/types.js'
import { createCryptoSuite } from '../../src/sim/crypto.js'
import { RequestFactory } from '../../src/sim/requests.js'
import { runSeed } from '../../src/sim/run.js'
import { checkpointSignBytes } from '../../src/consensus/types.js'
import { toyReplica } from './toy-replica.js'

test('prng: same seed same stream, forks independent, ranges inclusive', () => {
  const a = new Prng(42); const b = new Prng(42); const c = new Prng(43)
  const xs = Array.from({ length: 50 }, () => a.u32())
  assert.deepEqual(xs, Array.from({ length: 50 }, () => b.u32()))
  assert.notDeepEqual(xs, Array.from({ length: 50 }, () => c.u32()))
  const big = new Prng(2 ** 40 + 7)
  assert.notEqual(big.u32(), new Prng(7).u32())
  const r = new Prng(1)
  const seen = new Set<number>()
  for (let i = 0; i < 2000; i++) { const v = r.int(3, 6); assert.ok(v >= 3 && v <= 6); seen.add(v) }
  assert.equal(seen.size, 4)
  const f1 = new Prng(9).fork('x'); const f2 = new Prng(9).fork('x')
  assert.equal(f1.u32(), f2.u32())
})

test('queue: pops by time, ties in insertion order', () => {
  const q = new EventQueue<string>()
  q.push(5, 'c'); q.push(1, 'a'); q.push(5, 'd'); q.push(1, 'b'); q.push(0, 'z')
  const out: string[] = []
  for (let e = q.pop(); e !== undefined; e = q.pop()) out.push(e.item)
  assert.deepEqual(out, ['z', 'a', 'b', 'c', 'd'])
})

test('network: partitions cut both ways (or one way) until they heal; calm network loses nothing', () => {
  const faults = { minDelayMs: 1, maxDelayMs: 5, dropRate: 1, duplicateRate: 0, tailRate: 0, tailDelayMs: 0 }
  const net = new SimNetwork(4, new Prng(1), faults, [
    { at: 0, healAt: 100, groups: [[0], [1, 2, 3]], oneWay: false },
    { at: 200, healAt: 300, groups: [[1], [0, 2, 3]], oneWay: true }
  ], 300)
  assert.equal(net.blocked(0, 1, 50), true)
  assert.equal(net.blocked(1, 0, 50), true)
  assert.equal(net.blocked(1, 2, 50), false)
  assert.equal(net.blocked(0, 1, 100), false)
  assert.equal(net.blocked(1, 0, 250), true)
  assert.equal(net.blocked(0, 1, 250), false)
  assert.deepEqual(net.send(2, 3, 150), [], 'drop rate 1 before calm')
  const t = net.send(2, 3, 400)
  assert.equal(t.length, 1)
  assert.ok(t[0]! >= 401 && t[0]! <= 405)
})

test('storage: truncate keeps records without seq and those at or above the checkpoint', () => {
  const s = new SimStorage(1)
  s.append(0, { kind: 'a', bytes: new Uint8Array([1]), seq: 1 })
  s.append(0, { kind: 'vc', bytes: new Uint8Array([2]) })
  s.append(0, { kind: 'b', bytes: new Uint8Array([3]), seq: 5 })
  s.truncate(0, 4)
  assert.deepEqual(s.records(0).map(r => r.kind), ['vc', 'b'])
})

test('checkers: agreement, validity and certificate violations are reported', () => {
  const vs: Violation[] = []
  const report = (v: Violation): void => { vs.push(v) }
  const reqs = new RequestFactory(1)
  const r1 = reqs.next(); const r2 = reqs.next()
  assert.equal(reqs.isValid(r1), true)
  assert.equal(reqs.isValid(RequestFactory.forge(0, new Uint8Array(32))), false)
  const agreement = new AgreementChecker(report)
  const validity = new ValidityChecker(report)
  validity.onSubmit(r1, 0)
  const a = new HashChainApp(); const b = new HashChainApp()
  const ba = a.execute({ seq: 1, view: 0, proposer: 0, timestamp: 1, requests: [r1] })
  const bb = b.execute({ seq: 1, view: 0, proposer: 0, timestamp: 1, requests: [r2] })
  agreement.onExecute(0, ba, 10)
  validity.onExecute(0, ba, [r1], 10)
  assert.equal(vs.length, 0)
  agreement.onExecute(1, bb, 11)
  validity.onExecute(1, bb, [r2], 11)
  assert.deepEqual(vs.map(v => v.invariant), ['agreement', 'validity'])

  const suite = createCryptoSuite('sim', 1, 4)
  const certs = new CertificateChecker('c', suite.validators, suite.forReplica(0), agreement, report)
  const msg = checkpointSignBytes('c', 1, ba.blockHash, ba.stateRoot)
  const good = [0, 1, 2].map(i => ({ replica: i, signature: suite.forReplica(i).sign(msg) }))
  assert.equal(certs.verify({ seq: 1, blockHash: ba.blockHash, stateRoot: ba.stateRoot, signatures: good }), null)
  // Replica 3 signing in replica 2's name does not count.
  const forged = [...good.slice(0, 2), { replica: 2, signature: suite.forReplica(3).sign(msg) }]
  assert.match(certs.verify({ seq: 1, blockHash: ba.blockHash, stateRoot: ba.stateRoot, signatures: forged }) ?? '', /bad signature from replica 2/)
  assert.match(certs.verify({ seq: 1, blockHash: ba.blockHash, stateRoot: ba.stateRoot, signatures: good.slice(0, 2) }) ?? '', /quorum/)
})

test('real-crypto suite: ed25519 signatures verify only under the signer key', () => {
  const suite = createCryptoSuite('real', 5, 4)
  const m = new Uint8Array([1, 2, 3])
  const sig = suite.forReplica(1).sign(m)
  const c = suite.forReplica(0)
  assert.equal(c.verify(sig, m, suite.validators[1]!.publicKey), true)
  assert.equal(c.verify(sig, m, suite.validators[2]!.publicKey), false)
})

const calm = { byzantine: 0, crashes: false, partitions: false, networkFaults: false }

test('toy replica on a calm network passes every invariant, deterministically', async () => {
  const r1 = await runSeed(11, { validators: 4, factory: toyReplica, mix: calm })
  const r2 = await runSeed(11, { validators: 4, factory: toyReplica, mix: calm })
  assert.equal(r1.ok, true, r1.violations.map(v => v.message).join('\n'))
  assert.equal(r1.traceHash, r2.traceHash)
  assert.ok(r1.stats.height > 0)
  const r3 = await runSeed(12, { validators: 4, factory: toyReplica, mix: calm })
  assert.notEqual(r1.traceHash, r3.traceHash)
})

test('toy replica is caught: equivocating primary breaks agreement, a lossy network breaks liveness', async () => {
  let agreementCaught = -1
  for (let seed = 1; seed <= 40 && agreementCaught < 0; seed++) {
    const r = await runSeed(seed, { validators: 4, factory: toyReplica, mix: { ...calm, byzantine: 1, behaviours: ['equivocate'] } })
    if (r.violations.some(v => v.invariant === 'agreement')) agreementCaught = seed
  }
  assert.ok(agreementCaught > 0, 'no seed in 1..40 caught the equivocating toy primary')
  let livenessCaught = -1
  for (let seed = 1; seed <= 20 && livenessCaught < 0; seed++) {
    const r = await runSeed(seed, { validators: 4, factory: toyReplica, mix: { ...calm, partitions: true }, livenessBoundMs: 2000 })
    if (r.violations.some(v => v.invariant === 'liveness')) livenessCaught = seed
  }
  assert.ok(livenessCaught > 0, 'no seed in 1..20 caught the toy replica losing messages to a partition')
})
