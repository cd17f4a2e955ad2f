import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { openMessage } from '../../src/consensus/messages.js'
import { Cluster, request, cryptoFor, assertNoInternal, rejections } from './harness.js'

function idsOf (c: Cluster, i: number): string[] {
  return c.executed[i]!.flatMap(e => e.ids)
}

function assertPrefixAgreement (c: Cluster, replicas: number[]): void {
  assertNoInternal(c)
  const longest = replicas.map(i => c.executed[i]!).sort((a, b) => b.length - a.length)[0]!
  for (const i of replicas) {
    c.executed[i]!.forEach((e, k) => {
      assert.equal(e.seq, k + 1)
      assert.deepEqual(Buffer.from(e.blockHash), Buffer.from(longest[k]!.blockHash), `replica ${i} block ${e.seq} agrees`)
    })
  }
}

test('view change: a silent primary is replaced and the requests commit in view 1', () => {
  const c = new Cluster(4)
  c.silent.add(0)
  c.start()
  for (let i = 0; i < 10; i++) c.submit(request(i))
  const ok = c.run(() => [1, 2, 3].every(i => idsOf(c, i).length === 10))
  assert.equal(ok, true)
  for (const i of [1, 2, 3]) {
    const st = c.replicas[i]!.status()
    assert.equal(st.view, 1)
    assert.equal(st.primary, 1)
    assert.equal(st.inViewChange, false)
    assert.ok(c.allEffects(i).some(e => e.type === 'viewChanged' && e.view === 1))
    // Each backup's own vote says why: its timer expired with nothing decided in view 0.
    const votes = c.allEffects(i).filter(e => e.type === 'viewChangeStarted')
    assert.deepEqual(votes.map(e => e.type === 'viewChangeStarted' && [e.newView, e.reason, e.status.lastExecuted, e.status.decided, e.status.lowWatermark, e.status.pendingRequests]), [[1, 'timeout', 0, 0, 0, 10]])
  }
  assertPrefixAgreement(c, [1, 2, 3])
})

test('view change: backups whose own execution is slow do not vote out a primary whose batches commit', () => {
  const c = new Cluster(4)
  // Every replica takes 1.2 s per block against a 0.5 s timer (a saturated testnet on shared
  // cores). Batches keep committing meanwhile: the primary is doing its job.
  for (const i of [0, 1, 2, 3]) c.execDelayMs.set(i, 1200)
  c.start()
  for (let i = 0; i < 40; i++) c.submit(request(i))
  const ok = c.run(() => [0, 1, 2, 3].every(i => c.replicas[i]!.status().lastExecuted === 10), 120_000)
  assert.equal(ok, true)
  for (const i of [0, 1, 2, 3]) {
    assert.deepEqual(c.allEffects(i).filter(e => e.type === 'viewChangeStarted'), [], `replica ${i} voted to leave view 0`)
    assert.equal(c.replicas[i]!.status().view, 0)
    assert.equal(idsOf(c, i).length, 40)
  }
  assertPrefixAgreement(c, [0, 1, 2, 3])
})

test('view change: two silent primaries in a row (exponential backoff reaches view 2)', () => {
  const c = new Cluster(7)
  c.silent.add(0)
  c.silent.add(1)
  c.start()
  for (let i = 0; i < 5; i++) c.submit(request(i))
  const live = [2, 3, 4, 5, 6]
  assert.equal(c.run(() => live.every(i => idsOf(c, i).length === 5)), true)
  for (const i of live) assert.equal(c.replicas[i]!.view, 2)
  // The second view change waited twice as long as the first.
  const vcTimers = c.allEffects(3).filter(e => e.type === 'setTimer' && e.id.startsWith('vc:')).map(e => (e as { delayMs: number }).delayMs)
  assert.ok(vcTimers.includes(500) && vcTimers.includes(1000) && vcTimers.includes(2000), `backoff delays ${vcTimers.join(',')}`)
  assertPrefixAgreement(c, live)
})

test('view change: primary crashes mid-stream; prepared batches survive and pending requests still commit', () => {
  const c = new Cluster(4)
  c.start()
  for (let i = 0; i < 8; i++) c.submit(request(i))
  // Let the primary get some batches through, then silence it with work in flight.
  c.run(() => c.executed[1]!.length >= 1)
  c.silent.add(0)
  for (let i = 8; i < 16; i++) c.submit(request(i))
  assert.equal(c.run(() => [1, 2, 3].every(i => new Set(idsOf(c, i)).size === 16)), true)
  assertPrefixAgreement(c, [0, 1, 2, 3])
  for (const i of [1, 2, 3]) assert.equal(idsOf(c, i).length, 16, 'no request executed twice')
})

test('view change: commits lost to everyone are recovered from prepared certificates', () => {
  const c = new Cluster(4)
  // Drop every COMMIT: batches prepare everywhere but never commit in view 0.
  c.filter = (_from, to, bytes) => {
    const o = openMessage(bytes, c.configs[to]!, cryptoFor(c.keys[to]!))
    return !('body' in o) || o.body.kind !== 'commit' || o.body.payload.view !== 0
  }
  c.start()
  for (let i = 0; i < 6; i++) c.submit(request(i))
  assert.equal(c.run(() => [0, 1, 2, 3].every(i => idsOf(c, i).length === 6)), true)
  for (let i = 0; i < 4; i++) assert.equal(c.replicas[i]!.view, 1)
  assertPrefixAgreement(c, [0, 1, 2, 3])
  // The NEW-VIEW re-issued the batches prepared in view 0: they keep their origin view.
  assert.ok(c.executed[1]!.some(e => e.view === 0))
})

test('seeded random latency: agreement and progress (seed printed for replay)', () => {
  for (const seed of [1, 2, 3]) {
    const c = new Cluster(4, { seed })
    c.start()
    for (let i = 0; i < 20; i++) c.submit(request(i))
    c.run(() => c.executed[2]!.length >= 1)
    c.silent.add(0)
    for (let i = 20; i < 30; i++) c.submit(request(i))
    const ok = c.run(() => [1, 2, 3].every(i => new Set(idsOf(c, i)).size === 30))
    assert.equal(ok, true, `seed ${seed}`)
    for (const i of [1, 2, 3]) assert.ok(c.replicas[i]!.view >= 1, `seed ${seed}: replica ${i} changed view`)
    assertPrefixAgreement(c, [0, 1, 2, 3])
    if (process.env.DEBUG_CONSENSUS !== undefined) for (let i = 0; i < 4; i++) console.log(seed, i, rejections(c, i))
  }
})

test('a primary that missed the view change is handed the NEW-VIEW, rejoins and catches up by block sync', () => {
  const c = new Cluster(4)
  c.silent.add(0)
  c.start()
  for (let i = 0; i < 40; i++) c.submit(request(i))
  assert.equal(c.run(() => [1, 2, 3].every(i => idsOf(c, i).length === 40)), true)
  c.silent.delete(0)
  for (let i = 40; i < 44; i++) c.submit(request(i))
  const ok = c.run(() => c.replicas[0]!.view === 1 && [0, 1, 2, 3].every(i => new Set(idsOf(c, i)).size === 44))
  assert.equal(ok, true, JSON.stringify(c.replicas.map(r => r.status())))
  assert.ok(c.syncs.some(s => s.replica === 0), 'replica 0 block-synced')
  assertPrefixAgreement(c, [0, 1, 2, 3])
})

test('a replica cut off from every message catches up from forwarded commit proofs, without block sync', () => {
  const c = new Cluster(4)
  let cut = true
  // First nothing reaches replica 3; then everything but checkpoints (so block sync cannot kick in).
  c.filter = (_from, to, bytes) => {
    if (to !== 3) return true
    if (cut) return false
    const o = openMessage(bytes, c.configs[3]!, cryptoFor(c.keys[3]!))
    return !('body' in o) || o.body.kind !== 'checkpoint'
  }
  c.start()
  for (let i = 0; i < 8; i++) c.submit(request(i))
  assert.equal(c.run(() => [0, 1, 2].every(i => idsOf(c, i).length === 8)), true)
  cut = false
  // Replica 3 sees no progress, asks for view 1; the others answer with what they decided.
  assert.equal(c.run(() => idsOf(c, 3).length === 8), true, JSON.stringify(c.replicas[3]!.status()))
  assert.equal(c.syncs.filter(s => s.replica === 3).length, 0)
  assertPrefixAgreement(c, [0, 1, 2, 3])
  assert.equal(c.replicas[0]!.view, 0, 'the others stayed in view 0')
})

test('a primary that lost one commit (no certificate possible) recovers through a status ping', () => {
  const c = new Cluster(4)
  c.silent.add(3)
  let dropped = 0
  c.filter = (from, to, bytes) => {
    if (from !== 2 || to !== 0 || dropped > 0) return true
    const o = openMessage(bytes, c.configs[0]!, cryptoFor(c.keys[0]!))
    if ('body' in o && o.body.kind === 'commit') { dropped++; return false }
    return true
  }
  c.start()
  for (let i = 0; i < 4; i++) c.submit(request(i), [0, 1, 2])
  assert.equal(c.run(() => [0, 1, 2].every(i => idsOf(c, i).length === 4)), true, JSON.stringify(c.replicas.map(r => r.status())))
  assert.equal(dropped, 1)
  assert.equal(c.replicas[0]!.view, 0, 'no view change was needed')
  assertPrefixAgreement(c, [0, 1, 2])
})
