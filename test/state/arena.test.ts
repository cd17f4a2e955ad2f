import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { arenaBytes, arenaCopy } from '../../src/state/arena.js'

// Property runs are replayable: the seed is printed and can be pinned with FC_SEED.
const seed = Number(process.env.FC_SEED ?? Date.now() % 1_000_000)
console.log(`arena property seed: FC_SEED=${seed}`)

test('arena arrays are zeroed, 8-aligned and never overlap, across chunk boundaries', () => {
  fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 4096 }), { minLength: 50, maxLength: 2000 }), sizes => {
    const got: Uint8Array[] = []
    for (const n of sizes) {
      const a = arenaBytes(n)
      assert.equal(a.length, n)
      assert.equal(a.byteOffset % 8, 0)
      assert.ok(a.every(b => b === 0), 'a fresh arena array is zero-filled')
      // Fill each with its own mark: a later request that overlapped it would see the mark.
      a.fill(got.length % 255 + 1)
      got.push(a)
    }
    got.forEach((a, i) => { assert.ok(a.every(b => b === i % 255 + 1), `array ${i} was overwritten by a later one`) })
  }), { seed, numRuns: 30 })
})

test('arena requests over 4 KiB get their own buffer', () => {
  const big = arenaBytes(4097)
  assert.equal(big.byteOffset, 0)
  assert.equal(big.buffer.byteLength, 4097)
})

test('arenaCopy copies the range and does not alias the source', () => {
  const src = Uint8Array.from({ length: 600 }, (_, i) => i & 0xff)
  const c = arenaCopy(src, 32, 544)
  assert.deepEqual([...c], [...src.subarray(32, 544)])
  src[40] = 0xee
  assert.equal(c[8], 40)
  assert.deepEqual([...arenaCopy(src)], [...src])
})
