import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SlicedQueue } from '../../src/node/sliced-queue.js'

const turn = async (): Promise<void> => { await new Promise(resolve => setImmediate(resolve)) }

test('sliced queue: a burst is handled a slice per turn, and work queued meanwhile runs between slices', async () => {
  const log: Array<number | string> = []
  const q = new SlicedQueue<number>(i => { log.push(i) }, { slice: 64, capacity: 1000 })
  for (let i = 0; i < 200; i++) assert.equal(q.push(i), true)
  // Stands for a consensus frame that arrives while the burst is queued.
  setImmediate(() => log.push('consensus'))
  assert.equal(q.size, 200)
  for (let k = 0; k < 6; k++) await turn()
  assert.equal(q.size, 0)
  assert.equal(log.indexOf('consensus'), 64, 'handled right after the first slice, not after all 200')
  assert.deepEqual(log.filter(x => x !== 'consensus'), Array.from({ length: 200 }, (_, i) => i))
})

test('sliced queue: bounded; a throwing handler does not stall the rest; stop drops what waits', async () => {
  const seen: number[] = []
  const q = new SlicedQueue<number>(i => { if (i === 1) throw new Error('bad item'); seen.push(i) }, { slice: 2, capacity: 3 })
  assert.equal(q.push(0), true)
  assert.equal(q.push(1), true)
  assert.equal(q.push(2), true)
  assert.equal(q.push(3), false, 'over capacity')
  for (let k = 0; k < 3; k++) await turn()
  assert.deepEqual(seen, [0, 2])
  q.push(4)
  q.stop()
  assert.equal(q.push(5), false, 'stopped')
  await turn()
  assert.deepEqual(seen, [0, 2])
  assert.throws(() => new SlicedQueue<number>(() => {}, { slice: 0, capacity: 1 }), RangeError)
})

test('sliced queue: prepare sees each slice before its items are handled; a throwing prepare is skipped', async () => {
  const log: string[] = []
  const q = new SlicedQueue<number>(i => { log.push(`h${i}`) }, {
    slice: 3,
    capacity: 100,
    prepare: items => { log.push(`p${items.join(',')}`); if (items.includes(3)) throw new Error('hint failed') }
  })
  for (let i = 0; i < 7; i++) q.push(i)
  for (let k = 0; k < 4; k++) await turn()
  assert.deepEqual(log, ['p0,1,2', 'h0', 'h1', 'h2', 'p3,4,5', 'h3', 'h4', 'h5', 'p6', 'h6'])
})
