import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { TraceLog } from '../../src/node/traces.js'
import { BftError } from '../../src/errors.js'

test('trace log: stages reached, in stage order, and the first trace id a tx was admitted under', () => {
  const log = new TraceLog(4)
  assert.equal(log.begin('tx1', 'client-a'), 'client-a')
  // A second admission (e.g. the same tx resubmitted) keeps the first id.
  assert.equal(log.begin('tx1', 'client-b'), 'client-a')
  log.mark('tx1', 'executed', 40)
  log.mark('tx1', 'admitted', 10, true)
  log.mark('tx1', 'admitted', 11, true)
  log.mark('tx1', 'proposed', 20)
  log.mark('tx1', 'proposed', 25)
  assert.deepEqual(log.view('tx1'), { traceId: 'client-a', timings: { admitted: 10, proposed: 25, executed: 40 } })
  assert.deepEqual(Object.keys(log.view('tx1')!.timings), ['admitted', 'proposed', 'executed'])
  assert.equal(log.time('tx1', 'ordered'), undefined)
  assert.equal(log.time('tx1', 'proposed'), 25)
  assert.equal(log.traceId('tx1'), 'client-a')
  // Untraced txs: nothing recorded, nothing shown.
  log.mark('nope', 'admitted', 1)
  assert.equal(log.view('nope'), undefined)
  assert.equal(log.traceId('nope'), undefined)
  assert.equal(log.size, 1)
})

test('trace log: the oldest trace is overwritten first, and a reused slot starts empty', () => {
  const log = new TraceLog(3)
  for (let i = 0; i < 3; i++) { log.begin(`tx${i}`, `id${i}`); log.mark(`tx${i}`, 'ordered', 100 + i) }
  log.begin('tx3', 'id3')
  assert.equal(log.size, 3)
  assert.equal(log.view('tx0'), undefined)
  // tx3 took tx0's slot: tx0's times must not show through.
  assert.deepEqual(log.view('tx3'), { traceId: 'id3', timings: {} })
  assert.deepEqual(log.view('tx1'), { traceId: 'id1', timings: { ordered: 101 } })
  // Re-beginning a kept tx does not move it: tx1 is still the next to go.
  log.begin('tx1', 'other')
  log.begin('tx4', 'id4')
  assert.equal(log.view('tx1'), undefined)
  assert.deepEqual([...['tx2', 'tx3', 'tx4']].map(t => log.traceId(t)), ['id2', 'id3', 'id4'])
  // Many more than the capacity: the size stays bounded and only the newest are kept.
  for (let i = 5; i < 1000; i++) log.begin(`tx${i}`, `id${i}`)
  assert.equal(log.size, 3)
  assert.deepEqual(['tx997', 'tx998', 'tx999'].map(t => log.traceId(t)), ['id997', 'id998', 'id999'])
})

test('trace log: ids are kept as given, cons strings included; bad capacities are refused', () => {
  const log = new TraceLog(2)
  const base = randomUUID()
  // The batch route's ids are `${id}.${i}`; padded ones must not be altered by the flattening.
  assert.equal(log.begin('a', `${base}.${7}`), `${base}.7`)
  assert.equal(log.begin('b', ' padded '), ' padded ')
  for (const bad of [0, -1, 1.5, Number.NaN]) {
    assert.throws(() => new TraceLog(bad), (err: unknown) => err instanceof BftError && err.code === 'ERR_BAD_ARGUMENT')
  }
})
