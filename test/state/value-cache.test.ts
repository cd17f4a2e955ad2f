import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { toHex } from '../../src/codec/index.js'
import { sha256 } from '../../src/crypto/hash.js'
import { MAX_INLINE, ValueCache } from '../../src/state/value-cache.js'

// Property runs are replayable: the seed is printed and can be pinned with FC_SEED.
const seed = Number(process.env.FC_SEED ?? Date.now() % 1_000_000)
console.log(`value-cache property seed: FC_SEED=${seed}`)

const hashes = Array.from({ length: 200 }, (_, i) => sha256(new TextEncoder().encode(`acct/${i}`)))
/** Hashes that agree on bytes 4..7, the window slot offset 4 reads: one probe run for all. */
const colliding = hashes.map(h => { const c = Uint8Array.from(h); c.fill(9, 4, 8); return c })

// Values around the inline limit, so entries move between the records and the large-value LRU.
const value = fc.oneof(
  fc.constant(null),
  fc.uint8Array({ minLength: 0, maxLength: 16 }),
  fc.uint8Array({ minLength: MAX_INLINE - 2, maxLength: MAX_INLINE + 2 }),
  fc.uint8Array({ minLength: 0, maxLength: 300 })
)
const op = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), i: fc.nat(199), value }),
  fc.record({ kind: fc.constant('get' as const), i: fc.nat(199) }),
  fc.record({ kind: fc.constant('delete' as const), i: fc.nat(199) })
)

const show = (v: Uint8Array | null | undefined): string => v === undefined ? 'undefined' : v === null ? 'null' : toHex(v)

for (const spread of [true, false]) {
  test(`ValueCache answers like a map while under capacity (${spread ? 'spread hashes' : 'one probe run'})`, () => {
    const keys = spread ? hashes : colliding
    fc.assert(fc.property(fc.array(op, { minLength: 200, maxLength: 1500 }), ops => {
      const cache = new ValueCache(10_000, { offset: 4, salt: 0x2545f491 })
      const model = new Map<number, Uint8Array | null>()
      for (const o of ops) {
        if (o.kind === 'set') { cache.set(keys[o.i]!, o.value); model.set(o.i, o.value === null ? null : Uint8Array.from(o.value)) }
        if (o.kind === 'delete') { cache.delete(keys[o.i]!); model.delete(o.i) }
        if (show(cache.get(keys[o.i]!)) !== show(model.get(o.i))) return false
        if (cache.has(keys[o.i]!) !== model.has(o.i) || cache.size !== model.size) return false
      }
      return keys.every((k, i) => show(cache.get(k)) === show(model.get(i)))
    }), { seed, numRuns: 40 })
  })
}

test('ValueCache over capacity: never a wrong value, never more than capacity small entries', () => {
  const cache = new ValueCache(64, { offset: 0, salt: 0 })
  for (let round = 0; round < 3; round++) {
    hashes.forEach((h, i) => { cache.set(h, Uint8Array.of(i, round)) })
    let found = 0
    hashes.forEach((h, i) => {
      const v = cache.get(h)
      if (v === undefined) return
      found++
      assert.deepEqual([...v!], [i, round])
    })
    assert.ok(found > 0 && found <= 64, `found ${found}`)
    assert.ok(cache.size <= 64)
  }
})

test('ValueCache hands out copies; absent keys and empty values are told apart; capacity 0 caches nothing', () => {
  const cache = new ValueCache(16, { offset: 0, salt: 0 })
  cache.set(hashes[0]!, Uint8Array.of(1, 2, 3))
  const a = cache.get(hashes[0]!)!
  a[0] = 99
  assert.deepEqual([...cache.get(hashes[0]!)!], [1, 2, 3])
  assert.equal(Object.getPrototypeOf(a), Uint8Array.prototype)
  cache.set(hashes[1]!, null)
  cache.set(hashes[2]!, new Uint8Array(0))
  assert.equal(cache.get(hashes[1]!), null)
  assert.deepEqual(cache.get(hashes[2]!), new Uint8Array(0))
  assert.equal(cache.get(hashes[3]!), undefined)
  const none = new ValueCache(0)
  none.set(hashes[0]!, Uint8Array.of(1))
  assert.equal(none.get(hashes[0]!), undefined)
  assert.equal(none.size, 0)
})
