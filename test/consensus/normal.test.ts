import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Cluster, request } from './harness.js'

function sameHistory (c: Cluster, replicas: number[], upTo: number): void {
  const ref = c.executed[replicas[0]!]!.slice(0, upTo)
  for (const i of replicas) {
    const h = c.executed[i]!.slice(0, upTo)
    assert.deepEqual(h.map(e => e.seq), ref.map((_, k) => k + 1), `replica ${i} executes in seq order`)
    assert.deepEqual(h.map(e => Buffer.from(e.blockHash).toString('hex')), ref.map(e => Buffer.from(e.blockHash).toString('hex')), `replica ${i} builds the same blocks`)
  }
}

test('normal case: 4 replicas commit every request once, in order, with certificates', () => {
  const c = new Cluster(4)
  c.start()
  const N = 30
  for (let i = 0; i < N; i++) c.submit(request(i))
  const ok = c.run(() => c.executed.every(e => e.flatMap(x => x.ids).length === N))
  assert.equal(ok, true, 'all requests executed on every replica')
  const last = c.executed[0]!.length
  c.run(() => c.certified.every(m => m.size >= last), 5_000)
  sameHistory(c, [0, 1, 2, 3], last)
  const ids = c.executed[0]!.flatMap(e => e.ids)
  assert.equal(new Set(ids).size, N, 'no request executed twice')
  for (let i = 0; i < 4; i++) {
    for (let s = 1; s <= last; s++) assert.ok(c.certified[i]!.has(s), `replica ${i} certified seq ${s}`)
    const st = c.replicas[i]!.status()
    assert.equal(st.view, 0)
    assert.equal(st.inViewChange, false)
    assert.equal(st.pendingRequests, 0)
    assert.ok(st.lowWatermark >= 4, `low watermark advanced (${st.lowWatermark})`)
    assert.ok(c.allEffects(i).some(e => e.type === 'truncateLog'))
    assert.equal(c.allEffects(i).filter(e => e.type === 'rejected').length, 0, `replica ${i} rejected nothing`)
  }
  // Timestamps strictly increase within a view.
  const ts = c.executed[0]!.map(e => e.timestamp)
  for (let k = 1; k < ts.length; k++) assert.ok(ts[k]! > ts[k - 1]!)
})

test('batching: a lone request waits for the batch timer, full batches go at once, window limits pipelining', () => {
  const c = new Cluster(4, { over: { maxBatchSize: 3, windowSize: 4, checkpointInterval: 2 } })
  c.start()
  c.submit(request(1))
  c.run(() => c.executed[0]!.length === 1)
  assert.deepEqual(c.executed[0]!.map(e => e.ids.length), [1])
  for (let i = 2; i < 40; i++) c.submit(request(i))
  c.run(() => c.executed.every(e => e.flatMap(x => x.ids).length === 39))
  assert.ok(c.executed[0]!.every(e => e.ids.length <= 3))
  sameHistory(c, [0, 1, 2, 3], c.executed[0]!.length)
})

test('duplicate submission of an executed request is not proposed again', () => {
  const c = new Cluster(4)
  c.start()
  c.submit(request(7))
  c.run(() => c.executed.every(e => e.length === 1))
  c.submit(request(7))
  c.submit(request(8))
  c.run(() => c.executed.every(e => e.flatMap(x => x.ids).length >= 2))
  c.run(() => false, 2_000)
  assert.deepEqual(c.executed[0]!.flatMap(e => e.ids).length, 2)
})
