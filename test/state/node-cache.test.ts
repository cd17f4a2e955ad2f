import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { toHex } from '../../src/codec/index.js'
import { ARITY, makeInternal, type InternalNode } from '../../src/state/merkle.js'
import { NodeCache } from '../../src/state/node-cache.js'

// Property runs are replayable: the seed is printed and can be pinned with FC_SEED.
const seed = Number(process.env.FC_SEED ?? Date.now() % 1_000_000)
console.log(`node-cache property seed: FC_SEED=${seed}`)

/**
 * A node whose hash is forced to `hash` (the cache never rehashes, and forcing it lets a test
 * choose which hashes share a slot). Its children and versions come from `salt`.
 */
function node (hash: Uint8Array, salt: number): InternalNode {
  const children = Array.from({ length: ARITY }, (_, i) => (salt >> (i % 8)) & 1 ? new Uint8Array(32).fill((salt + i) & 0xff || 1) : new Uint8Array(32))
  const versions = Array.from({ length: ARITY }, (_, i) => children[i]!.some(b => b !== 0) ? salt * 1_000_003 + i : 0)
  return { ...makeInternal(children, versions), hash: Uint8Array.from(hash) }
}

function same (a: InternalNode | undefined, b: InternalNode | undefined): boolean {
  if (a === undefined || b === undefined) return a === b
  return toHex(a.hash) === toHex(b.hash) && toHex(a.childHashes) === toHex(b.childHashes) &&
    a.present === b.present && a.versions.join() === b.versions.join()
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
    cache.set(n, 1)
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

test('NodeCache over capacity: never more than capacity entries, never a wrong or deleted node', () => {
  const hashes = pool(200, false)
  fc.assert(fc.property(fc.integer({ min: 1, max: 64 }), fc.array(op, { minLength: 200, maxLength: 1500 }), (capacity, ops) => {
    const cache = new NodeCache(capacity, { offset: 3, salt: 1 })
    const model = new Map<number, InternalNode>()
    for (const o of ops) {
      const [got, want] = step(cache, model, hashes, o)
      // A node just set is there; any other may have been evicted, but never answers wrong.
      if (got === undefined ? o.kind === 'set' : !same(got, want)) return false
      if (cache.size > capacity) return false
    }
    return true
  }), { seed, numRuns: 60 })
})

test('NodeCache evicts in CLOCK order: a node read since the hand last passed survives one sweep', () => {
  const hashes = pool(70, false)
  const cache = new NodeCache(64, { offset: 0, salt: 0 })
  for (let i = 0; i < 64; i++) cache.set(node(hashes[i]!, i), 1)
  // Full. The hand clears every reference bit once, then takes record 0 (node 0).
  cache.set(node(hashes[64]!, 64), 1)
  assert.equal(cache.get(hashes[0]!), undefined)
  // Node 1 is read, so the next eviction passes it and takes node 2.
  assert.ok(cache.get(hashes[1]!) !== undefined)
  cache.set(node(hashes[65]!, 65), 1)
  assert.ok(cache.get(hashes[1]!) !== undefined, 'the node read survived')
  assert.equal(cache.get(hashes[2]!), undefined, 'the next unread node was evicted')
  assert.equal(cache.size, 64)
  // A deleted node's record is reused before anything else is evicted.
  cache.delete(hashes[10]!)
  cache.set(node(hashes[66]!, 66), 1)
  assert.equal(cache.size, 64)
  for (const i of [1, 3, 11, 63, 64, 65, 66]) assert.ok(cache.get(hashes[i]!) !== undefined, `node ${i} is still cached`)
})

test('NodeCache hands out copies: changing one does not change the cache', () => {
  const cache = new NodeCache(8)
  const n = node(pool(1, false)[0]!, 5)
  cache.set(n, 1)
  const a = cache.get(n.hash)!
  a.childHashes.fill(9)
  a.versions[0] = 42
  a.hash[0] ^= 1
  assert.ok(same(cache.get(n.hash), n))
})

test('NodeCache with capacity 0 caches nothing; a bad slot offset is refused', () => {
  const cache = new NodeCache(0)
  const n = node(pool(1, false)[0]!, 1)
  cache.set(n, 1)
  assert.equal(cache.get(n.hash), undefined)
  assert.equal(cache.size, 0)
  assert.throws(() => new NodeCache(8, { offset: 29, salt: 0 }), /offset must be 0..28/)
})

test('NodeCache never evicts a pinned node (version above pinnedAbove); with every record pinned, set fails', () => {
  const hashes = pool(40, false)
  const cache = new NodeCache(16, { offset: 0, salt: 0 })
  cache.pinnedAbove = 10
  // 8 pinned (version 11), 8 evictable (version 10).
  for (let i = 0; i < 16; i++) assert.equal(cache.set(node(hashes[i]!, i), i < 8 ? 11 : 10), true)
  for (let i = 16; i < 24; i++) assert.equal(cache.set(node(hashes[i]!, i), 10), true)
  for (let i = 0; i < 8; i++) assert.ok(cache.get(hashes[i]!) !== undefined, `pinned node ${i} survived`)
  for (let i = 8; i < 16; i++) assert.equal(cache.get(hashes[i]!), undefined, `unpinned node ${i} was evicted`)
  assert.equal(cache.versionOf(hashes[0]!), 11)
  assert.ok(same(cache.getAt(hashes[0]!, 11), node(hashes[0]!, 0)), 'the copy at its own version')
  assert.equal(cache.getAt(hashes[0]!, 10), undefined, 'not at another version')
  assert.equal(cache.getAt(hashes[30]!, 11), undefined)
  assert.equal(cache.versionOf(hashes[30]!), undefined)
  // Pin everything: the next set finds no victim and says so instead of looping.
  for (let i = 24; i < 32; i++) assert.equal(cache.set(node(hashes[i]!, i), 12), true)
  assert.equal(cache.set(node(hashes[32]!, 32), 12), false)
  assert.equal(cache.size, 16)
  // Unpinned (a flush wrote them), they may go again.
  cache.pinnedAbove = 12
  assert.equal(cache.set(node(hashes[32]!, 32), 13), true)
  assert.ok(cache.get(hashes[32]!) !== undefined)
})
