import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { batchDigest, decodeTrusted, openMessage, signMessage } from '../../src/consensus/messages.js'
import { Replica } from '../../src/consensus/replica.js'
import { checkpointSignBytes, type ReplicaEffect } from '../../src/consensus/types.js'
import { sha256 } from '../../src/crypto/index.js'
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

/**
 * Replica 1 as a backup of view 0 whose Byzantine primary 0 equivocates: `pre` is signed by
 * 0 for seq 1 with the given requests and timestamp; `vote` is a PREPARE/COMMIT for seq 1.
 */
function backupOfEquivocatingPrimary (): {
  deliver: (from: number, bytes: Uint8Array) => void
  fx: ReplicaEffect[]
  pre: (requests: ReturnType<typeof request>[], timestamp: number) => { wire: Uint8Array, digest: Uint8Array }
  vote: (from: number, kind: 'prepare' | 'commit', digest: Uint8Array) => Uint8Array
  now: number
} {
  const keys = validatorKeys(4)
  const cfg = makeConfig(keys, 1, { maxBatchSize: 2 })
  const now = 1_000_000
  const r1 = new Replica(cfg, cryptoFor(keys[1]!))
  r1.start(now)
  const fx: ReplicaEffect[] = []
  return {
    fx,
    now,
    deliver: (from, bytes) => { fx.push(...r1.step({ type: 'message', from, bytes }, now)) },
    pre: (requests, timestamp) => {
      const digest = batchDigest(cryptoFor(keys[0]!), timestamp, 0, 0, requests.map(r => r.id))
      const wire = signMessage({ chainId: cfg.chainId, from: 0, kind: 'pre-prepare', payload: { view: 0, seq: 1, timestamp, originView: 0, proposer: 0, digest, requests } }, cryptoFor(keys[0]!))
      return { wire, digest }
    },
    vote: (from, kind, digest) => signMessage({ chainId: cfg.chainId, from, kind, payload: { view: 0, seq: 1, digest } }, cryptoFor(keys[from]!))
  }
}

test('a Byzantine commit for another digest, received first, does not hide its commit for the real batch (sim seeds 858, 7465)', () => {
  const { deliver, fx, pre, vote: sign, now } = backupOfEquivocatingPrimary()
  const { wire: pp, digest } = pre([request(1)], now)
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
  const { deliver, fx, pre, vote: sign, now } = backupOfEquivocatingPrimary()
  const { wire: pp, digest } = pre([request(1)], now)
  const bogus = new Uint8Array(32).fill(7)
  // Votes before the pre-prepare: the first vote per sender is kept (no batch to prefer yet).
  deliver(2, sign(2, 'prepare', bogus))
  deliver(2, sign(2, 'prepare', digest))
  deliver(0, pp)
  assert.equal(fx.filter(e => e.type === 'persist' && e.record.kind === 'commit').length, 0, 'our prepare is the only matching one')
  deliver(2, sign(2, 'prepare', digest))
  assert.equal(fx.filter(e => e.type === 'persist' && e.record.kind === 'commit').length, 1, 'the vote for the batch now counts')
  // Commits: a matching one held is not replaced by a later conflicting one.
  deliver(2, sign(2, 'commit', digest))
  deliver(2, sign(2, 'commit', bogus))
  deliver(3, sign(3, 'commit', digest))
  assert.equal(fx.filter(e => e.type === 'execute').length, 1)
})

/** Replicas 0..2 decide seqs 1..3 (K = 2, so seq 2 is their stable checkpoint) while replica 3 hears nothing. */
function clusterWithReplica3Behind (): Cluster {
  const c = new Cluster(4, { over: { checkpointInterval: 2, windowSize: 4, maxBatchSize: 1 } })
  c.silent.add(3)
  c.start()
  for (let i = 0; i < 3; i++) c.submit(request(i), [0, 1, 2])
  assert.equal(c.run(() => [0, 1, 2].every(i => c.executed[i]!.length === 3 && c.replicas[i]!.lowWatermark === 2)), true)
  return c
}

/** Replica 3's VIEW-CHANGE to view 1 with nothing prepared: it is stuck in view 0's change. */
function viewChangeOf3 (c: Cluster): Uint8Array {
  return signMessage({
    chainId: c.configs[3]!.chainId,
    from: 3,
    kind: 'view-change',
    payload: { newView: 1, stable: { seq: 0, blockHash: new Uint8Array(0), stateRoot: new Uint8Array(0), signatures: [] }, prepared: [] }
  }, cryptoFor(c.keys[3]!))
}

/** What replica 1 sends to replica 3 when `bytes` arrives from 3 at `at`: the kinds and seqs. */
function answersTo3 (c: Cluster, bytes: Uint8Array, at: number): string[] {
  const fx = c.replicas[1]!.step({ type: 'message', from: 3, bytes }, at)
  return fx.flatMap(e => {
    if (e.type !== 'send' || e.to !== 3) return []
    const o = openMessage(e.bytes, c.configs[1]!, cryptoFor(c.keys[1]!))
    if (!('body' in o)) return ['unreadable']
    const b = o.body
    return [`${b.kind}:${b.from}:${'seq' in b.payload ? b.payload.seq : '-'}`]
  })
}

test('a VIEW-CHANGE repeated by a replica stuck in it is answered with the commit proofs again, once per timeout (sim seed 76)', () => {
  const c = clusterWithReplica3Behind()
  const vc = viewChangeOf3(c)
  const first = answersTo3(c, vc, c.now)
  assert.ok(first.includes('pre-prepare:0:3'), first.join(' '))
  // The answer was lost (say, a one-way partition); the retransmission comes within a timeout: rate-limited.
  assert.deepEqual(answersTo3(c, vc, c.now + 100), [])
  // After a timeout the same bytes again: the proofs again.
  const again = answersTo3(c, vc, c.now + 600)
  assert.ok(again.includes('pre-prepare:0:3'), again.join(' '))
  assert.equal(again.filter(x => x.startsWith('commit:')).length, 3)
})

test('commit proofs forwarded to a lagging replica carry only commits whose signatures check, though their signer\'s channel vouched for them', () => {
  const c = new Cluster(4, { over: { checkpointInterval: 2, windowSize: 4, maxBatchSize: 1 } })
  c.silent.add(3)
  // Replica 2 is Byzantine towards 1: its COMMITs carry an envelope signed with another key.
  // Over 2's own channel replica 1 takes them as 2's votes (the channel proves the sender).
  c.transform = (from, to, bytes) => {
    if (from !== 2 || to !== 1) return bytes
    const body = decodeTrusted(bytes)
    return body.kind === 'commit' ? signMessage(body, cryptoFor(c.keys[0]!)) : bytes
  }
  c.start()
  for (let i = 0; i < 3; i++) c.submit(request(i), [0, 1, 2])
  assert.equal(c.run(() => [0, 1, 2].every(i => c.executed[i]!.length === 3 && c.replicas[i]!.lowWatermark === 2)), true)
  const vc = viewChangeOf3(c)
  const answer = answersTo3(c, vc, c.now)
  assert.ok(answer.includes('pre-prepare:0:3'), answer.join(' '))
  // Replica 3 checks every forwarded wire itself: a forged one would make 1 look like its forger.
  assert.ok(!answer.includes('unreadable'), answer.join(' '))
  assert.deepEqual(answer.filter(x => x.startsWith('commit:')).sort(), ['commit:0:3', 'commit:1:3'])
})

test('a replica that is only slow is sent the COMMITs it lacks, not pre-prepares it voted for nor its own COMMITs', () => {
  const c = new Cluster(4, { over: { checkpointInterval: 2, windowSize: 4, maxBatchSize: 1 } })
  // Replica 3 votes on every seq but never finishes executing its first block (a slow
  // validator), and the pre-prepare of seq 3 never reaches it.
  c.execDelayMs.set(3, 1e12)
  c.filter = (from, to, bytes) => !(to === 3 && from === 0 && decodeTrusted(bytes).kind === 'pre-prepare' && (decodeTrusted(bytes).payload as { seq: number }).seq === 3)
  c.start()
  for (let i = 0; i < 3; i++) c.submit(request(i), [0, 1, 2, 3])
  assert.equal(c.run(() => [0, 1, 2].every(i => c.executed[i]!.length === 3)), true)
  assert.equal(c.executed[3]!.length, 1, 'replica 3 started executing seq 1 and is still at it')
  // Replica 3 repeats its COMMIT for seq 1 (statusPing): "stuck here".
  const commit1 = c.effects[3]!.flat().find(e => e.type === 'send' && decodeTrusted(e.bytes).kind === 'commit' && (decodeTrusted(e.bytes).payload as { seq: number }).seq === 1)
  assert.ok(commit1 !== undefined && commit1.type === 'send')
  const answer = answersTo3(c, commit1.bytes, c.now + 10_000)
  // Seq 3's pre-prepare, which it never got, and the COMMITs that decided 1..3 but its own:
  // with its own, 2f+1 for seqs 1 and 2; 2f+1 from the others for seq 3.
  assert.deepEqual(answer.filter(x => x.startsWith('pre-prepare:')), ['pre-prepare:0:3'], answer.join(' '))
  const commits = (seq: number): string[] => answer.filter(x => x.startsWith('commit:') && x.endsWith(`:${seq}`))
  assert.equal(commits(1).length, 2, answer.join(' '))
  assert.equal(commits(2).length, 2, answer.join(' '))
  assert.equal(commits(3).length, 3, answer.join(' '))
  assert.ok(!answer.some(x => x.startsWith('commit:3:')), answer.join(' '))
  // And with them it decides all three (its execution aside).
  for (const e of c.replicas[1]!.step({ type: 'message', from: 3, bytes: commit1.bytes }, c.now + 20_000)) {
    if (e.type === 'send' && e.to === 3) c.replicas[3]!.step({ type: 'message', from: 1, bytes: e.bytes }, c.now + 20_000)
  }
  assert.equal(c.replicas[3]!.status().decided, 3)
})

test('proofs sent to a replica stuck at our stable checkpoint come with our CHECKPOINT for it (sim seed 20528)', () => {
  const c = clusterWithReplica3Behind()
  // Replica 3 executed up to seq 2 but never saw a checkpoint: it repeats its own for seq 2.
  const blockHash = c.executed[0]![1]!.blockHash
  const stateRoot = sha256(blockHash)
  const chainId = c.configs[3]!.chainId
  const signature = cryptoFor(c.keys[3]!).sign(checkpointSignBytes(chainId, 2, blockHash, stateRoot))
  const cp = signMessage({ chainId, from: 3, kind: 'checkpoint', payload: { seq: 2, blockHash, stateRoot, signature } }, cryptoFor(c.keys[3]!))
  assert.deepEqual(answersTo3(c, cp, c.now), [], 'a first checkpoint is news, not a call for help')
  const answer = answersTo3(c, cp, c.now + 1)
  assert.deepEqual(answer.slice(0, 2), ['checkpoint:1:2', 'pre-prepare:0:3'], answer.join(' '))
  // The re-sent checkpoint is byte-identical to the one replica 1 persisted: no second signature.
  assertPersistBeforeSendAndNoEquivocation(c)
})


const executedIds = (fx: ReplicaEffect[]): string[][] =>
  fx.flatMap(e => e.type === 'execute' ? [e.requests.map(r => Buffer.from(r.id).toString('hex'))] : [])

test('a batch 2f+1 others committed decides here although an equivocating primary showed us another one (sim ledger seeds 32, 59)', () => {
  for (const order of ['commits-first', 'pre-prepare-first'] as const) {
    const b = backupOfEquivocatingPrimary()
    const shadow = b.pre([request(9)], b.now)
    const real = b.pre([request(1)], b.now)
    // We accepted (and prepared) the shadow; the primary also votes for it to us (seed 59).
    b.deliver(0, shadow.wire)
    b.deliver(0, b.vote(0, 'commit', shadow.digest))
    // Replicas 2 and 3 committed the real batch; the proof (pre-prepare + 2f+1 commits, the
    // primary's included) is forwarded to us by 2.
    const proof = [b.vote(0, 'commit', real.digest), b.vote(2, 'commit', real.digest), b.vote(3, 'commit', real.digest)]
    if (order === 'pre-prepare-first') b.deliver(2, real.wire)
    for (const c of proof) b.deliver(2, c)
    if (order === 'commits-first') b.deliver(2, real.wire)
    assert.ok(b.fx.some(e => e.type === 'rejected' && e.reason.startsWith('equivocation: primary 0')), `${order}: equivocation reported`)
    assert.deepEqual(executedIds(b.fx), [[Buffer.from(request(1).id).toString('hex')]], order)
  }
})

test('the first of several invalid pre-prepares held as evidence does not hide the committed one (sim ledger seed 170)', () => {
  const b = backupOfEquivocatingPrimary()
  // Both arrive too late for the clock-skew rule, so we vote for neither. The first is a
  // rebatched copy (digest matching) that nobody committed.
  const old = b.now - 10_000
  const forged = b.pre([request(1), request(2)], old)
  const real = b.pre([request(1)], old)
  b.deliver(0, forged.wire)
  b.deliver(2, real.wire)
  for (const r of [0, 2, 3]) b.deliver(r, b.vote(r, 'commit', real.digest))
  assert.deepEqual(executedIds(b.fx), [[Buffer.from(request(1).id).toString('hex')]])
})

/** Replica `self` of a fresh 4-validator cluster (test keys), not started. */
function freshReplica (self: number, over: Parameters<typeof makeConfig>[2] = {}): { keys: ReturnType<typeof validatorKeys>, cfg: ReturnType<typeof makeConfig>, crypto: ReturnType<typeof cryptoFor>, replica: Replica } {
  const keys = validatorKeys(4)
  const cfg = makeConfig(keys, self, over)
  const crypto = cryptoFor(keys[self]!)
  return { keys, cfg, crypto, replica: new Replica(cfg, crypto) }
}

/**
 * Primary 0 proposes `req` at seq 1, the backups commit it, the driver executes it (with
 * `retryable` as given) and the client resubmits it. What does the primary propose next?
 */
function resubmitAfterExecution (retryable: Uint8Array[] | undefined): string[] {
  const { keys, cfg, crypto: crypto0, replica: r0 } = freshReplica(0, { maxBatchSize: 1 })
  let now = 1_000_000
  r0.start(now)
  const req = request(1)
  const proposed = (fx: ReplicaEffect[]): Array<{ seq: number, digest: Uint8Array, ids: string[] }> => fx.flatMap(e => {
    if (e.type !== 'send') return []
    const o = openMessage(e.bytes, cfg, crypto0)
    return 'body' in o && o.body.kind === 'pre-prepare' ? [{ seq: o.body.payload.seq, digest: o.body.payload.digest, ids: o.body.payload.requests.map(r => Buffer.from(r.id).toString('hex')) }] : []
  })
  const first = proposed(r0.step({ type: 'request', request: req }, now))
  assert.equal(first.length, 1)
  const fx: ReplicaEffect[] = []
  for (const [from, kind] of [[1, 'prepare'], [2, 'prepare'], [1, 'commit'], [2, 'commit']] as const) {
    const wire = signMessage({ chainId: cfg.chainId, from, kind, payload: { view: 0, seq: 1, digest: first[0]!.digest } }, cryptoFor(keys[from]!))
    fx.push(...r0.step({ type: 'message', from, bytes: wire }, now))
  }
  assert.equal(fx.filter(e => e.type === 'execute').length, 1)
  const blockHash = sha256(new Uint8Array([1]))
  now += 5
  r0.step({ type: 'executed', seq: 1, blockHash, stateRoot: blockHash, ...(retryable !== undefined ? { retryable } : {}) }, now)
  now += 100
  return proposed(r0.step({ type: 'request', request: req }, now)).flatMap(p => p.ids)
}

test('a request executed without effect that may apply later (a nonce gap) can be proposed again; others stay deduplicated (sim ledger seed 244)', () => {
  const id = Buffer.from(request(1).id).toString('hex')
  // The ledger refused it (ERR_NONCE_GAP): the resubmission must be proposed again.
  assert.deepEqual(resubmitAfterExecution([request(1).id]), [id])
  // Applied (or refused for good): a resubmission within 4L+64 seqs is not proposed again.
  assert.deepEqual(resubmitAfterExecution(undefined), [])
  // Ids outside the executed batch are ignored: the driver cannot lift other dedup entries.
  assert.deepEqual(resubmitAfterExecution([request(2).id]), [])
})

/** Sends (kind:seq) among `fx`, opened with replica `self`'s config. */
function sentKinds (fx: ReplicaEffect[], cfg: ReturnType<typeof makeConfig>, crypto: ReturnType<typeof cryptoFor>): string[] {
  return fx.flatMap(e => {
    if (e.type !== 'send') return []
    const o = openMessage(e.bytes, cfg, crypto)
    return 'body' in o ? [`${o.body.kind}:${'seq' in o.body.payload ? o.body.payload.seq : '-'}`] : ['unreadable']
  })
}

/** Validator `from`'s CHECKPOINT for seq 1 (blockHash doubles as the state root). */
function checkpointAt1 (keys: ReturnType<typeof validatorKeys>, chainId: string, from: number, blockHash: Uint8Array): Uint8Array {
  const signature = cryptoFor(keys[from]!).sign(checkpointSignBytes(chainId, 1, blockHash, blockHash))
  return signMessage({ chainId, from, kind: 'checkpoint', payload: { seq: 1, blockHash, stateRoot: blockHash, signature } }, cryptoFor(keys[from]!))
}

const syncTimer = (fx: ReplicaEffect[]): string | undefined => fx.flatMap(e => e.type === 'setTimer' && e.id.startsWith('sync:') ? [e.id] : []).at(-1)

test('a primary whose batches stay undecided repeats its pre-prepare once per timeout (sim ledger seeds 573, 745)', () => {
  // Cut off while the others moved to a later view and went idle: nobody would ever tell it.
  const { cfg, crypto, replica: r0 } = freshReplica(0, { maxBatchSize: 1 })
  const now = 1_000_000
  r0.start(now)
  const fx = r0.step({ type: 'request', request: request(1) }, now)
  assert.deepEqual(sentKinds(fx, cfg, crypto), ['pre-prepare:1'])
  const timer = syncTimer(fx)
  assert.ok(timer !== undefined, 'a stalled primary arms the status timer')
  // Its pre-prepare (others in a later view relay their NEW-VIEW and forward what they decided),
  // after a seq-0 checkpoint: it has executed nothing.
  assert.deepEqual(sentKinds(r0.step({ type: 'timer', id: timer }, now + 500), cfg, crypto), ['checkpoint:0', 'pre-prepare:1'])
})

test('a backup that executed nothing and never saw seq 1 pings with a seq-0 checkpoint (sim ledger seed 630)', () => {
  const keys = validatorKeys(4)
  const cfg = makeConfig(keys, 1)
  const crypto = cryptoFor(keys[1]!)
  const r1 = new Replica(cfg, crypto)
  const now = 1_000_000
  r1.start(now)
  // Replicas 2 and 3 executed seq 1 (its pre-prepare reached us corrupted: we hold nothing for it).
  const blockHash = sha256(new Uint8Array([1]))
  const fx: ReplicaEffect[] = []
  for (const from of [2, 3]) fx.push(...r1.step({ type: 'message', from, bytes: checkpointAt1(keys, cfg.chainId, from, blockHash) }, now))
  const timer = syncTimer(fx)
  assert.ok(timer !== undefined)
  const ping = r1.step({ type: 'timer', id: timer }, now + 500)
  assert.deepEqual(sentKinds(ping, cfg, crypto), ['checkpoint:0'])
  assert.ok(ping.findIndex(e => e.type === 'persist') < ping.findIndex(e => e.type === 'send'), 'persisted before it is sent')
})

test('a restart announcement nobody answered is repeated, backing off, until f+1 others send checkpoints (sim ledger seed 737)', () => {
  const keys = validatorKeys(4)
  const cfg = makeConfig(keys, 1)
  const crypto = cryptoFor(keys[1]!)
  const blockHash = sha256(new Uint8Array([1]))
  const r1 = new Replica(cfg, crypto, { restore: { records: [], lastExecuted: { seq: 1, blockHash, stateRoot: blockHash } } })
  let now = 1_000_000
  let fx = r1.start(now)
  // Signed and sent, then repeated: only a repeat reads as "stuck here".
  assert.deepEqual(sentKinds(fx, cfg, crypto), ['checkpoint:1', 'checkpoint:1'])
  const delays: number[] = []
  for (let i = 0; i < 3; i++) {
    const timer = fx.find(e => e.type === 'setTimer' && e.id.startsWith('sync:'))
    assert.ok(timer !== undefined && timer.type === 'setTimer', `ping ${i} re-armed`)
    delays.push(timer.delayMs)
    now += timer.delayMs
    fx = r1.step({ type: 'timer', id: timer.id }, now)
    assert.deepEqual(sentKinds(fx, cfg, crypto), ['checkpoint:1'], `ping ${i}`)
  }
  assert.deepEqual(delays, [500, 1000, 2000])
  // Two others answer with their checkpoints (at our height): heard, no more pings.
  for (const from of [2, 3]) fx.push(...r1.step({ type: 'message', from, bytes: checkpointAt1(keys, cfg.chainId, from, blockHash) }, now))
  assert.ok(fx.some(e => e.type === 'cancelTimer' && e.id.startsWith('sync:')), 'the ping timer is cancelled')
})
