import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { encode } from '../../src/codec/index.js'
import { sha256 } from '../../src/crypto/index.js'
import type { ClientRequest } from '../../src/consensus/types.js'
import { requestSize } from '../../src/consensus/requests.js'
import { Cluster, request, type Executed } from './harness.js'

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

function large (i: number): ClientRequest {
  const bytes = encode(['large', i, new Uint8Array(3_000).fill(i % 256)])
  return { id: sha256(bytes), bytes }
}

test('minBlockIntervalMs: partial batches at most once per interval, full batches at once, a lone request after a quiet spell waits only the batch timer', () => {
  const run = (minBlockIntervalMs: number): Executed[] => {
    const c = new Cluster(4, { over: { maxBatchSize: 64, maxBatchBytes: 10_000, batchTimeoutMs: 5, maxInFlightBatches: 1, windowSize: 16, minBlockIntervalMs } })
    c.start()
    const t0 = c.now
    // A lone request: nothing was proposed before, so only the 5 ms batch timer applies.
    c.submit(request(0))
    // After a quiet second: a steady 500 requests/s for 400 ms (fewer than 64 per 100 ms)...
    for (let i = 1; i <= 200; i++) c.submit(request(i), undefined, 1_000 + 2 * i)
    // ...and in the middle of it 4 large requests at once: the 4th fills the batch by bytes and
    // stays behind, with the batch timer armed before the full batch went out still set. It must
    // not cut a partial batch inside the new interval.
    for (let i = 201; i <= 204; i++) c.submit(large(i), undefined, 1_201)
    assert.ok(c.run(() => c.executed.every(e => e.flatMap(x => x.ids).length === 205), 10_000))
    sameHistory(c, [0, 1, 2, 3], c.executed[0]!.length)
    const blocks = c.executed[0]!
    assert.ok(blocks[0]!.timestamp - t0 < 20, `the lone request was proposed ${blocks[0]!.timestamp - t0} ms after it arrived`)
    return blocks
  }
  const all = [request(0), ...Array.from({ length: 200 }, (_, i) => request(i + 1)), ...[201, 202, 203, 204].map(large)]
  const size = new Map(all.map(r => [Buffer.from(r.id).toString('hex'), requestSize(r)]))
  // Full: 64 requests, or no room left for one more large request in 10,000 bytes.
  const full = (b: Executed): boolean => b.ids.length === 64 || b.ids.reduce((a, id) => a + size.get(id)!, 0) + requestSize(large(0)) > 10_000
  const paced = run(100)
  for (let i = 1; i < paced.length; i++) {
    const gap = paced[i]!.timestamp - paced[i - 1]!.timestamp
    // Only a full batch may follow its predecessor sooner than the interval.
    if (!full(paced[i]!)) assert.ok(gap >= 100, `partial block ${i} (${paced[i]!.ids.length} txs) came ${gap} ms after the previous one`)
  }
  assert.ok(paced.some(full), 'the large requests filled a batch by bytes')
  // Without the interval the same load makes many more (smaller) blocks.
  const eager = run(0)
  assert.ok(eager.length > 2 * paced.length, `blocks: ${eager.length} without the interval, ${paced.length} with 100 ms`)
})

test('onBatchAccepted: a backup reports each batch it votes for, never one it refuses, and the primary never', () => {
  const accepted: string[][] = [[], [], [], []]
  // Replica 3 refuses request 5 (as a node refuses a tx it cannot validate): it must not report that batch.
  const bad = Buffer.from(request(5).id).toString('hex')
  const c = new Cluster(4, {
    over: { maxBatchSize: 1 },
    options: (i) => ({
      onBatchAccepted: (reqs) => { for (const r of reqs) accepted[i]!.push(Buffer.from(r.id).toString('hex')) },
      isValidRequest: (r) => i !== 3 || Buffer.from(r.id).toString('hex') !== bad
    })
  })
  c.start()
  for (let i = 0; i < 8; i++) c.submit(request(i))
  assert.ok(c.run(() => [0, 1, 2].every(i => c.executed[i]!.flatMap(e => e.ids).length === 8)))
  const all = Array.from({ length: 8 }, (_, i) => Buffer.from(request(i).id).toString('hex'))
  assert.deepEqual(accepted[0], [], 'the primary proposes, it does not accept')
  for (const i of [1, 2]) assert.deepEqual([...accepted[i]!].sort(), [...all].sort(), `backup ${i} accepted every batch`)
  assert.ok(!accepted[3]!.includes(bad), 'backup 3 refused the batch with request 5')
  assert.deepEqual([...accepted[3]!].sort(), all.filter(id => id !== bad).sort())
})
