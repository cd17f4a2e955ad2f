import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { toHex, utf8 } from '../../src/codec/index.js'
import { EMPTY, isEmpty, makeLeaf, nibbleAt, sha256, type LeafNode, type PathUpdate } from '../../src/state/merkle.js'
import { pathProof, StateTree, type TreePlan, type WantedLeaf } from '../../src/state/tree.js'
import { verifyStateProof } from '../../src/state/proof.js'
import { referenceRoot } from './store-helpers.js'
import type { StateProof } from '../../src/state/api.js'

// Property runs are replayable: the seed is printed and can be pinned with FC_SEED.
const seed = Number(process.env.FC_SEED ?? Date.now() % 1_000_000)
console.log(`tree property seed: FC_SEED=${seed}`)
const params = { seed, numRuns: 60 }

type Hint = 'exact' | 'none' | ((key: Uint8Array, current: Uint8Array | null) => Uint8Array | null | undefined)

/**
 * A StateTree with the state beside it in a map, as StateStore keeps it in LevelDB: leaves the
 * tree asks for are found by their place (the one key under that path), as the store's key
 * index finds them, and counted. Every update is audited.
 */
class Harness {
  readonly tree: StateTree
  readonly state = new Map<string, { key: Uint8Array, keyHash: Uint8Array, value: Uint8Array }>()
  loads = 0

  constructor (capacity = 100_000) {
    this.tree = new StateTree(capacity)
  }

  leafAt (w: WantedLeaf): LeafNode {
    this.loads++
    const under = [...this.state.values()].filter(e => {
      for (let d = 0; d < w.place.depth; d++) if (nibbleAt(e.keyHash, d) !== nibbleAt(w.place.under, d)) return false
      return true
    })
    assert.equal(under.length, 1, `one key under a leaf's place (depth ${w.place.depth}), found ${under.length}`)
    const leaf = makeLeaf(under[0]!.keyHash, under[0]!.value)
    assert.deepEqual(leaf.hash, w.hash, 'the leaf asked for is the one at its place')
    return leaf
  }

  async plan (writes: Array<{ key: Uint8Array, value: Uint8Array | null }>, hint: Hint = 'exact'): Promise<TreePlan> {
    const ups: PathUpdate[] = writes.map(w => {
      const keyHash = sha256(w.key)
      const current = this.state.get(toHex(keyHash))?.value ?? null
      const old = hint === 'exact' ? current : hint === 'none' ? undefined : hint(w.key, current)
      return { keyHash, value: w.value, old }
    })
    return await this.tree.plan(ups, async wanted => wanted.map(w => this.leafAt(w)))
  }

  async apply (writes: Array<{ key: Uint8Array, value: Uint8Array | null }>, hint: Hint = 'exact'): Promise<TreePlan> {
    const plan = await this.plan(writes, hint)
    this.tree.apply(plan)
    for (const w of writes) {
      const keyHash = sha256(w.key)
      if (w.value === null) this.state.delete(toHex(keyHash))
      else this.state.set(toHex(keyHash), { key: w.key, keyHash, value: w.value })
    }
    this.tree.audit()
    return plan
  }

  prove (key: Uint8Array): StateProof {
    const keyHash = sha256(key)
    const { steps, end } = this.tree.read(keyHash)
    const leaf = isEmpty(end.hash) ? null : this.leafAt({ hash: end.hash, place: { under: keyHash, depth: end.depth } })
    return { key, ...pathProof(keyHash, steps, leaf) }
  }

  entries (): Map<string, Uint8Array> {
    return new Map([...this.state.values()].map(e => [toHex(e.key), e.value]))
  }
}

/** A tree built bottom-up from the harness's state, as a restart builds it. */
function rebuilt (h: Harness, capacity = 100_000): StateTree {
  const sorted = [...h.state.values()].sort((a, b) => Buffer.compare(a.keyHash, b.keyHash))
  const keys = new Uint8Array(32 * sorted.length)
  const leaves = new Uint8Array(32 * sorted.length)
  sorted.forEach((e, i) => { keys.set(e.keyHash, 32 * i); leaves.set(makeLeaf(e.keyHash, e.value).hash, 32 * i) })
  const t = new StateTree(capacity)
  assert.ok(t.build(keys, leaves, sorted.length))
  t.audit()
  return t
}

// Half the keys come from a small set, so ops overwrite and delete keys that exist (random
// byte strings almost never repeat, and a delete of an absent key changes nothing).
const keyArb = fc.oneof(fc.integer({ min: 0, max: 40 }).map(i => utf8(`k${i}`)), fc.uint8Array({ minLength: 1, maxLength: 12 }))
const valueArb = fc.uint8Array({ minLength: 0, maxLength: 40 })
const opsArb = fc.array(fc.tuple(keyArb, fc.option(valueArb, { freq: 4 })), { minLength: 0, maxLength: 80, size: 'max' })

function finalState (ops: Array<[Uint8Array, Uint8Array | null]>): Map<string, Uint8Array> {
  const m = new Map<string, Uint8Array>()
  for (const [k, v] of ops) { if (v === null) m.delete(toHex(k)); else m.set(toHex(k), v) }
  return m
}

function batches (ops: Array<[Uint8Array, Uint8Array | null]>, size: number): Array<Array<{ key: Uint8Array, value: Uint8Array | null }>> {
  const out: Array<Array<{ key: Uint8Array, value: Uint8Array | null }>> = []
  for (let i = 0; i < ops.length; i += size) {
    const m = new Map<string, { key: Uint8Array, value: Uint8Array | null }>()
    for (const [k, v] of ops.slice(i, i + size)) m.set(toHex(k), { key: k, value: v })
    out.push([...m.values()])
  }
  return out
}

test('empty tree: root zero, absence proved, nothing to read', async () => {
  const h = new Harness()
  assert.deepEqual(h.tree.root, EMPTY)
  const p = h.prove(utf8('nothing'))
  assert.equal(p.value, null)
  assert.equal(verifyStateProof(h.tree.root, p), true)
  assert.equal(h.loads, 0)
  await h.apply([])
  assert.deepEqual(h.tree.root, EMPTY)
})

test('updates in place give the reference root, whatever the order and batching, with or without old values; the tree is always whole and as big as a rebuild', async () => {
  await fc.assert(fc.asyncProperty(opsArb, fc.integer({ min: 1, max: 10 }), fc.integer(), async (ops, batch, shuffleSeed) => {
    const want = finalState(ops)
    // One tree applies the ops in batches (deletes included), told every key's old value.
    const a = new Harness()
    for (const b of batches(ops, batch)) {
      await a.apply(b)
      assert.equal(a.tree.size, rebuilt(a).size, 'as many records as a tree built from scratch')
    }
    // Another applies the same batches told nothing: it loads every leaf it rebuilds.
    const b = new Harness()
    for (const x of batches(ops, batch)) await b.apply(x, 'none')
    // A third inserts only the final entries, one at a time in a shuffled order.
    const entries = [...want.entries()]
    let s = shuffleSeed >>> 0
    for (let i = entries.length - 1; i > 0; i--) {
      s = (s * 1103515245 + 12345) >>> 0
      const j = s % (i + 1);
      [entries[i], entries[j]] = [entries[j]!, entries[i]!]
    }
    const c = new Harness()
    for (const [k, v] of entries) await c.apply([{ key: Buffer.from(k, 'hex'), value: v }])
    assert.deepEqual(a.tree.root, referenceRoot(want))
    assert.deepEqual(b.tree.root, a.tree.root)
    assert.deepEqual(c.tree.root, a.tree.root)
    assert.deepEqual(rebuilt(a).root, a.tree.root)
  }), params)
})

test('inclusion and non-inclusion proofs verify; tampered proofs fail', async () => {
  await fc.assert(fc.asyncProperty(opsArb, fc.array(keyArb, { maxLength: 10 }), async (ops, probes) => {
    const want = finalState(ops)
    const h = new Harness()
    for (const b of batches(ops, ops.length || 1)) await h.apply(b)
    const root = h.tree.root
    const keys = [...new Set([...want.keys(), ...probes.map(p => toHex(p))])].map(k => Buffer.from(k, 'hex'))
    for (const key of keys) {
      const p = h.prove(new Uint8Array(key))
      const expected = want.get(toHex(key)) ?? null
      assert.deepEqual(p.value === null ? null : toHex(p.value), expected === null ? null : toHex(expected))
      assert.equal(verifyStateProof(root, p), true, 'honest proof')
      for (const bad of tamper(p, root)) assert.equal(verifyStateProof(bad.root, bad.proof), false, bad.what)
      // An absence proof re-targeted at a present key must fail.
      const present = [...want.keys()][0]
      if (p.value === null && present !== undefined) {
        assert.equal(verifyStateProof(root, { ...p, key: Buffer.from(present, 'hex') }), false, 'absence proof for a present key')
      }
    }
  }), params)
})

function tamper (p: StateProof, root: Uint8Array): Array<{ what: string, root: Uint8Array, proof: StateProof }> {
  const body = p.proof as { siblings: Uint8Array[], other: { keyHash: Uint8Array, valueHash: Uint8Array } | null }
  const out: Array<{ what: string, root: Uint8Array, proof: StateProof }> = []
  const flip = (b: Uint8Array, i = 0): Uint8Array => { const c = Uint8Array.from(b); c[i % c.length]! ^= 1; return c }
  out.push({ what: 'wrong root', root: flip(root), proof: p })
  if (p.value !== null) {
    out.push({ what: 'wrong key', root, proof: { ...p, key: flip(p.key) } })
    out.push({ what: 'flipped value', root, proof: { ...p, value: p.value.length > 0 ? flip(p.value) : new Uint8Array([0]) } })
    out.push({ what: 'claims absence', root, proof: { ...p, value: null } })
  } else {
    out.push({ what: 'claims presence', root, proof: { ...p, value: new Uint8Array([1]) } })
    if (body.other !== null) {
      out.push({ what: 'flipped other value', root, proof: { ...p, proof: { ...body, other: { ...body.other, valueHash: flip(body.other.valueHash) } } } })
      out.push({ what: 'dropped other leaf', root, proof: { ...p, proof: { ...body, other: null } } })
    }
  }
  for (let i = 0; i < body.siblings.length; i++) {
    const s = body.siblings.slice()
    s[i] = s[i]!.length === 0 ? new Uint8Array(32).fill(7) : flip(s[i]!, i)
    out.push({ what: `flipped sibling ${i}`, root, proof: { ...p, proof: { ...body, siblings: s } } })
  }
  if (body.siblings.length > 0) {
    out.push({ what: 'dropped a sibling', root, proof: { ...p, proof: { ...body, siblings: body.siblings.slice(1) } } })
    out.push({ what: 'dropped a level', root, proof: { ...p, proof: { ...body, siblings: body.siblings.slice(15) } } })
  }
  out.push({ what: 'extra sibling', root, proof: { ...p, proof: { ...body, siblings: [...body.siblings, new Uint8Array(0)] } } })
  out.push({ what: 'extra level', root, proof: { ...p, proof: { ...body, siblings: [...body.siblings, ...Array.from({ length: 15 }, () => new Uint8Array(0))] } } })
  out.push({ what: 'garbage body', root, proof: { ...p, proof: { siblings: 'x' } } })
  return out
}

test('per-block work grows with keys touched, not with state size', async () => {
  const h = new Harness()
  await h.apply(Array.from({ length: 4000 }, (_, i) => ({ key: utf8(`k${i}`), value: utf8(`v${i}`) })))
  const plan = await h.plan(Array.from({ length: 10 }, (_, i) => ({ key: utf8(`k${i * 97}`), value: utf8('new') })))
  // ~10 paths of depth ~log16(4000) = 3, plus slack: far below the ~4,300 nodes of the whole tree.
  assert.ok(plan.changes <= 10 * 5, `changed ${plan.changes} nodes`)
  assert.equal(plan.freed.length, 0)
})

test('an old value stands in for the key\'s leaf only when its hash matches; a wrong one costs a load, never a wrong root', async () => {
  const value = (i: number, gen: number): Uint8Array => utf8(`v${gen}-${i}`)
  const h = new Harness()
  await h.apply(Array.from({ length: 2000 }, (_, i) => ({ key: utf8(`k${i}`), value: value(i, 0) })))
  const touched = Array.from({ length: 60 }, (_, i) => i * 31)
  const writes = touched.map(i => ({ key: utf8(`k${i}`), value: value(i, 1) }))

  h.loads = 0
  const plain = await h.plan(writes, 'none')
  assert.equal(h.loads, touched.length, 'told nothing, it loads every touched leaf')

  h.loads = 0
  const hinted = await h.plan(writes, 'exact')
  assert.deepEqual(hinted.root, plain.root)
  assert.equal(h.loads, 0, 'right values: no leaf loaded')

  // A stale value is found wrong by its hash (loaded after the first computation), "absent"
  // for a present key is loaded first: both cost one load, neither a wrong root.
  h.loads = 0
  const wrong = await h.plan(writes, (key) => (key[1]! % 2 === 0 ? utf8('stale') : null))
  assert.deepEqual(wrong.root, plain.root)
  assert.equal(h.loads, touched.length)
  h.tree.apply(wrong)
  h.tree.audit()
})

test('a plan changes nothing until applied, and one made from an older tree is refused', async () => {
  const h = new Harness()
  await h.apply(Array.from({ length: 300 }, (_, i) => ({ key: utf8(`k${i}`), value: utf8(`v${i}`) })))
  const before = h.tree.root
  const first = await h.plan([{ key: utf8('k1'), value: utf8('one') }, { key: utf8('new'), value: utf8('x') }])
  const second = await h.plan([{ key: utf8('k2'), value: null }])
  assert.deepEqual(h.tree.root, before)
  h.tree.audit()
  assert.deepEqual(h.prove(utf8('k1')).value, utf8('v1'))
  h.tree.apply(first)
  h.tree.audit()
  assert.throws(() => { h.tree.apply(second) }, (e: unknown) => (e as { code?: string }).code === 'ERR_STALE_PLAN' && /made from another tree/.test(String(e)))
  assert.deepEqual(h.tree.root, first.root)
  h.tree.audit()
})

test('at capacity: a build that needs more is refused whole; freed records are reused, so churn fits; a plan past capacity is refused', async () => {
  const h = new Harness()
  const writes = Array.from({ length: 500 }, (_, i) => ({ key: utf8(`k${i}`), value: utf8(`v${i}`) }))
  await h.apply(writes)
  const size = h.tree.size
  assert.ok(size > 30)
  // One record short: refused, and the tree left empty, not half built.
  const small = rebuilt(h, size)
  assert.equal(small.size, size)
  const sorted = [...h.state.values()].sort((a, b) => Buffer.compare(a.keyHash, b.keyHash))
  const tooSmall = new StateTree(size - 1)
  assert.equal(tooSmall.build(Uint8Array.from(sorted.flatMap(e => [...e.keyHash])), Uint8Array.from(sorted.flatMap(e => [...makeLeaf(e.keyHash, e.value).hash])), sorted.length), false)
  assert.deepEqual(tooSmall.root, EMPTY)
  assert.equal(tooSmall.size, 0)
  tooSmall.audit()

  // A tree exactly full takes deletes and inserts that keep its size: delete then re-insert.
  const tight = new Harness(size)
  await tight.apply(writes)
  assert.equal(tight.tree.size, size)
  for (let round = 0; round < 20; round++) {
    const i = (round * 37) % 500
    await tight.apply([{ key: utf8(`k${i}`), value: null }])
    await tight.apply([{ key: utf8(`k${i}`), value: utf8(`w${round}`) }])
  }
  assert.equal(tight.tree.size, size)
  // Inserts that need new records: the plan says how big the tree would be; apply refuses it.
  let plan: TreePlan | null = null
  for (let n = 1; plan === null; n++) {
    const p = await tight.plan(Array.from({ length: n }, (_, j) => ({ key: utf8(`extra${j}`), value: utf8('x') })))
    if (p.size > size) plan = p
  }
  const root = tight.tree.root
  assert.throws(() => { tight.tree.apply(plan) }, (e: unknown) => (e as { code?: string }).code === 'ERR_STATE_TOO_LARGE' && /more than the capacity/.test(String(e)))
  assert.deepEqual(tight.tree.root, root)
  tight.tree.audit()
})
