import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { toHex } from '../../src/codec/index.js'
import { ARITY, makeInternal, type InternalNode } from '../../src/state/merkle.js'
import { NodeCache } from '../../src/state/node-cache.js'
import { RecordTable } from '../../src/state/record-table.js'

// Property runs are replayable: the seed is printed and can be pinned with FC_SEED.
const seed = Number(process.env.FC_SEED ?? Date.now() % 1_000_000)
console.log(`node-cache property seed: FC_SEED=${seed}`)

/**
 * A node whose hash is forced to `hash` (the cache never rehashes, and forcing it lets a test
 * choose which hashes share a slot). Its children come from `salt`.
 */
function node (hash: Uint8Array, salt: number): InternalNode {
  const children = Array.from({ length: ARITY }, (_, i) => (salt >> (i % 8)) & 1 ? new Uint8Array(32).fill((salt + i) & 0xff || 1) : new Uint8Array(32))
  return { ...makeInternal(children, new Array<number>(ARITY).fill(0)), hash: Uint8Array.from(hash) }
}

/** Same node as far as the cache keeps it: hash, children, present bitmap (copies carry versions of 0). */
function same (a: InternalNode | undefined, b: InternalNode | undefined): boolean {
  if (a === undefined || b === undefined) return a === b
  return toHex(a.hash) === toHex(b.hash) && toHex(a.childHashes) === toHex(b.childHashes) &&
    a.present === b.present && a.versions.every(v => v === 0)
}

/**
 * Hashes of the pool: with `colliding`, they differ only outside bytes 10..13, the window the
 * slot function reads with offset 10, so all of them share one home slot and one probe run
 * (the worst case for linear probing and its deletions).
 */
function pool (size: number, colliding: boolean): Uint8Array[] {
  return Array.from({ length: size }, (_, i) => {
    const h = new Uint8Array(32)
    for (let b = 0; b < 32; b++) h[b] = (i * 131 + b * 29 + (i >> 3) * b) & 0xff
    h[0] = i & 0xff
    h[1] = i >> 8
    if (colliding) h.fill(7, 10, 14)
    return h
  })
}

const op = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), i: fc.nat(199), salt: fc.nat(1 << 20) }),
  fc.record({ kind: fc.constant('get' as const), i: fc.nat(199) }),
  fc.record({ kind: fc.constant('delete' as const), i: fc.nat(199) })
)
type Op = { kind: 'set', i: number, salt: number } | { kind: 'get' | 'delete', i: number }

/** Applies `o` to the cache and the model, then reads its key back: [cache's answer, model's]. */
function step (cache: NodeCache, model: Map<number, InternalNode>, hashes: Uint8Array[], o: Op): [InternalNode | undefined, InternalNode | undefined] {
  const h = hashes[o.i]!
  if (o.kind === 'set') {
    const n = node(h, o.salt)
    cache.set(n)
    model.set(o.i, n)
  } else if (o.kind === 'delete') {
    cache.delete(h)
    model.delete(o.i)
  }
  return [cache.get(h), model.get(o.i)]
}

for (const colliding of [false, true]) {
  test(`NodeCache answers like a map while under capacity (${colliding ? 'one probe run' : 'spread hashes'})`, () => {
    const hashes = pool(200, colliding)
    fc.assert(fc.property(fc.array(op, { minLength: 200, maxLength: 1500 }), ops => {
      const cache = new NodeCache(10_000, { offset: 10, salt: 0x5bd1e995 })
      const model = new Map<number, InternalNode>()
      for (const o of ops) {
        const [got, want] = step(cache, model, hashes, o)
        if (!same(got, want) || cache.size !== model.size) return false
      }
      // Every entry, not only the ones the ops asked for, is still found after all the moves.
      return hashes.every((h, i) => same(cache.get(h), model.get(i)))
    }), { seed, numRuns: 40 })
  })
}

test('NodeCache never evicts: when full, a new node is refused and every cached one stays; a delete frees room', () => {
  const hashes = pool(80, false)
  fc.assert(fc.property(fc.integer({ min: 1, max: 64 }), fc.array(op, { minLength: 200, maxLength: 1500 }), (capacity, ops) => {
    const cache = new NodeCache(capacity, { offset: 3, salt: 1 })
    const model = new Map<number, InternalNode>()
    for (const o of ops) {
      const h = hashes[o.i % 80]!
      if (o.kind === 'set') {
        const n = node(h, o.salt)
        const ok = cache.set(n)
        // Refused exactly when full and the hash is not cached already (then it is replaced).
        if (ok !== (model.has(o.i % 80) || model.size < capacity)) return false
        if (ok) model.set(o.i % 80, n)
      } else if (o.kind === 'delete') {
        cache.delete(h)
        model.delete(o.i % 80)
      }
      if (cache.size !== model.size) return false
    }
    return hashes.every((h, i) => same(cache.get(h), model.get(i)))
  }), { seed, numRuns: 60 })
})

test('RecordTable evicts in CLOCK order (the value cache uses it): a record found since the hand last passed survives one sweep', () => {
  const hashes = pool(70, false)
  const table = new RecordTable(64, 32, { offset: 0, salt: 0 })
  for (let i = 0; i < 64; i++) table.claim(hashes[i]!)
  // Full. The hand clears every reference bit once, then takes record 0 (hash 0).
  table.claim(hashes[64]!)
  assert.equal(table.find(hashes[0]!), -1)
  // Hash 1 is found, so the next eviction passes it and takes hash 2.
  assert.ok(table.find(hashes[1]!) >= 0)
  table.claim(hashes[65]!)
  assert.ok(table.find(hashes[1]!) >= 0, 'the record found survived')
  assert.equal(table.find(hashes[2]!), -1, 'the next unused record was evicted')
  assert.equal(table.size, 64)
  // A removed record is reused before anything else is evicted.
  table.remove(hashes[10]!)
  table.claim(hashes[66]!)
  assert.equal(table.size, 64)
  for (const i of [1, 3, 11, 63, 64, 65, 66]) assert.ok(table.find(hashes[i]!) >= 0, `hash ${i} is still held`)
})

test('NodeCache hands out copies: changing one does not change the cache; the shared versions cannot be changed', () => {
  const cache = new NodeCache(8)
  const n = node(pool(1, false)[0]!, 5)
  cache.set(n)
  const a = cache.get(n.hash)!
  a.childHashes.fill(9)
  a.hash[0] ^= 1
  assert.throws(() => { a.versions[0] = 42 }, TypeError)
  assert.ok(same(cache.get(n.hash), n))
})

test('NodeCache with capacity 0 caches nothing; a bad slot offset is refused', () => {
  const cache = new NodeCache(0)
  const n = node(pool(1, false)[0]!, 1)
  assert.equal(cache.set(n), false)
  assert.equal(cache.get(n.hash), undefined)
  assert.equal(cache.size, 0)
  assert.throws(() => new NodeCache(8, { offset: 29, salt: 0 }), /offset must be 0..28/)
})
