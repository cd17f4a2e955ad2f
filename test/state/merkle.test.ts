import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { toHex, utf8 } from '../../src/codec/index.js'
import { EMPTY, EMPTY_ROOT, childRef, leafHash, makeInternal, makeLeaf, nodeHash, sha256, updateTree, proveKey, lookup, type NodeRef, type TreeNode, type PathUpdate } from '../../src/state/merkle.js'
import { verifyStateProof } from '../../src/state/proof.js'
import { referenceRoot } from './store-helpers.js'
import type { StateProof } from '../../src/state/api.js'

// Property runs are replayable: the seed is printed and can be pinned with FC_SEED.
const seed = Number(process.env.FC_SEED ?? Date.now() % 1_000_000)
console.log(`merkle property seed: FC_SEED=${seed}`)
const params = { seed, numRuns: 60 }

/**
 * The tree over an in-memory node map, the way StateStore uses it over LevelDB: nodes are found
 * only under the exact (version, hash) they were stored at, so every test below also checks
 * that the versions the tree records for children are right.
 */
class MemTree {
  nodes = new Map<string, TreeNode>()
  root: NodeRef = EMPTY_ROOT
  version = 0
  readonly load = async (r: NodeRef): Promise<TreeNode> => {
    const n = this.nodes.get(`${r.version}:${toHex(r.hash)}`)
    if (n === undefined) throw new Error(`missing node ${toHex(r.hash)} at version ${r.version}`)
    return n
  }

  readonly loadMany = async (rs: NodeRef[]): Promise<TreeNode[]> => await Promise.all(rs.map(this.load))

  store (created: TreeNode[]): void {
    for (const n of created) this.nodes.set(`${this.version}:${toHex(n.hash)}`, n)
  }

  async update (ups: PathUpdate[]): Promise<ReturnType<typeof updateTree>> {
    return await updateTree(this.root, ups, ++this.version, this.loadMany)
  }

  async apply (writes: Array<{ key: Uint8Array, value: Uint8Array | null }>): Promise<void> {
    const ups: PathUpdate[] = writes.map(w => ({ keyHash: sha256(w.key), value: w.value }))
    const { root, created } = await this.update(ups)
    this.store(created)
    this.root = root
  }

  async prove (key: Uint8Array): Promise<StateProof> {
    const { value, proof } = await proveKey(this.root, sha256(key), this.load)
    return { key, value, proof }
  }
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

test('empty tree root is zero and proves absence', async () => {
  const t = new MemTree()
  assert.deepEqual(t.root.hash, EMPTY)
  const p = await t.prove(utf8('nothing'))
  assert.equal(p.value, null)
  assert.equal(verifyStateProof(t.root.hash, p), true)
})

test('root equals the reference and is independent of insertion order and batching', async () => {
  await fc.assert(fc.asyncProperty(opsArb, fc.integer({ min: 1, max: 10 }), fc.integer(), async (ops, batch, shuffleSeed) => {
    const want = finalState(ops)
    // One tree applies ops in order, in batches (deletes included).
    const a = new MemTree()
    for (let i = 0; i < ops.length; i += batch) {
      const m = new Map<string, { key: Uint8Array, value: Uint8Array | null }>()
      for (const [k, v] of ops.slice(i, i + batch)) m.set(toHex(k), { key: k, value: v })
      await a.apply([...m.values()])
    }
    // Another inserts only the final entries, one at a time in a shuffled order.
    const entries = [...want.entries()]
    let s = shuffleSeed >>> 0
    for (let i = entries.length - 1; i > 0; i--) {
      s = (s * 1103515245 + 12345) >>> 0
      const j = s % (i + 1);
      [entries[i], entries[j]] = [entries[j]!, entries[i]!]
    }
    const b = new MemTree()
    for (const [k, v] of entries) await b.apply([{ key: Buffer.from(k, 'hex'), value: v }])
    assert.deepEqual(a.root.hash, referenceRoot(want))
    assert.deepEqual(b.root.hash, a.root.hash)
  }), params)
})

/** Storage address (version:hash) of every node reachable from `root`. */
async function reachable (t: MemTree, root: NodeRef): Promise<Set<string>> {
  const out = new Set<string>()
  const walk = async (r: NodeRef): Promise<void> => {
    if (r.hash.every(b => b === 0)) return
    out.add(`${r.version}:${toHex(r.hash)}`)
    const n = await t.load(r)
    if (n.kind === 'internal') for (let i = 0; i < 16; i++) await walk(childRef(n, i))
  }
  await walk(root)
  return out
}

const addr = (r: NodeRef): string => `${r.version}:${toHex(r.hash)}`

test('replaced names exactly the stored nodes the new tree dropped (the store prunes and the cache evicts by it)', async () => {
  await fc.assert(fc.asyncProperty(opsArb, fc.integer({ min: 1, max: 10 }), async (ops, batch) => {
    const t = new MemTree()
    for (let i = 0; i < ops.length; i += batch) {
      const m = new Map<string, PathUpdate>()
      for (const [k, v] of ops.slice(i, i + batch)) m.set(toHex(k), { keyHash: sha256(k), value: v })
      const before = await reachable(t, t.root)
      const { root, created, replaced } = await t.update([...m.values()])
      t.store(created)
      const after = await reachable(t, root)
      const gone = [...before].filter(a => !after.has(a)).sort()
      // By storage address, exactly: a leaf pushed down is rebuilt at the new version, so its old
      // address is gone too. One address too many would prune a live node; one too few leaks.
      assert.deepEqual([...new Set(replaced.map(addr))].sort(), gone)
      assert.equal(new Set(replaced.map(addr)).size, replaced.length, 'no address named twice')
      t.root = root
    }
  }), params)
})

test('deleting replaced nodes K versions late keeps the last K+1 trees whole', async () => {
  await fc.assert(fc.asyncProperty(opsArb, fc.integer({ min: 1, max: 10 }), fc.integer({ min: 0, max: 4 }), async (ops, batch, keep) => {
    const t = new MemTree()
    const stale: NodeRef[][] = []
    const roots: Array<{ root: NodeRef, state: Map<string, Uint8Array> }> = []
    const state = new Map<string, Uint8Array>()
    for (let i = 0; i < ops.length; i += batch) {
      const m = new Map<string, PathUpdate>()
      for (const [k, v] of ops.slice(i, i + batch)) {
        m.set(toHex(k), { keyHash: sha256(k), value: v })
        if (v === null) state.delete(toHex(k)); else state.set(toHex(k), v)
      }
      const { root, created, replaced } = await t.update([...m.values()])
      t.store(created)
      t.root = root
      stale.push(replaced)
      roots.push({ root, state: new Map(state) })
      // Prune what became stale at version (current - keep), as StateStore.prune does.
      const v = t.version - keep
      if (v >= 1) for (const r of stale[v - 1]!) assert.ok(t.nodes.delete(addr(r)), `pruned node ${addr(r)} was stored`)
      for (const kept of roots.slice(-(keep + 1))) {
        for (const [k, want] of kept.state) assert.deepEqual(await lookup(kept.root, sha256(Buffer.from(k, 'hex')), t.load), want)
        await reachable(t, kept.root) // walks every node of the kept tree: throws if one was pruned
      }
    }
    // With nothing kept beyond the head, the store holds exactly the head's tree.
    if (keep === 0) assert.equal(t.nodes.size, (await reachable(t, t.root)).size)
  }), params)
})

test('inclusion and non-inclusion proofs verify; tampered proofs fail', async () => {
  await fc.assert(fc.asyncProperty(opsArb, fc.array(keyArb, { maxLength: 10 }), async (ops, probes) => {
    const want = finalState(ops)
    const t = new MemTree()
    const m = new Map<string, { key: Uint8Array, value: Uint8Array | null }>()
    for (const [k, v] of ops) m.set(toHex(k), { key: k, value: v })
    await t.apply([...m.values()])
    const keys = [...new Set([...want.keys(), ...probes.map(p => toHex(p))])].map(k => Buffer.from(k, 'hex'))
    for (const key of keys) {
      const p = await t.prove(new Uint8Array(key))
      const expected = want.get(toHex(key)) ?? null
      assert.deepEqual(p.value === null ? null : toHex(p.value), expected === null ? null : toHex(expected))
      assert.deepEqual(await lookup(t.root, sha256(key), t.load), p.value)
      assert.equal(verifyStateProof(t.root.hash, p), true, 'honest proof')
      for (const bad of tamper(p, t.root.hash)) assert.equal(verifyStateProof(bad.root, bad.proof), false, bad.what)
      // An absence proof re-targeted at a present key must fail.
      const present = [...want.keys()][0]
      if (p.value === null && present !== undefined) {
        assert.equal(verifyStateProof(t.root.hash, { ...p, key: Buffer.from(present, 'hex') }), false, 'absence proof for a present key')
      }
    }
  }), params)
})

function tamper (p: StateProof, root: Uint8Array): Array<{ what: string, root: Uint8Array, proof: StateProof }> {
  const body = p.proof as { siblings: Uint8Array[], other: { keyHash: Uint8Array, valueHash: Uint8Array } | null }
  const out: Array<{ what: string, root: Uint8Array, proof: StateProof }> = []
  const flip = (b: Uint8Array, i = 0): Uint8Array => { const c = Uint8Array.from(b); c[i % c.length]! ^= 1; return c }
  const wrongRoot = flip(root)
  out.push({ what: 'wrong root', root: wrongRoot, proof: p })
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
  const t = new MemTree()
  const writes = Array.from({ length: 4000 }, (_, i) => ({ key: utf8(`k${i}`), value: utf8(`v${i}`) }))
  await t.apply(writes)
  const ups = Array.from({ length: 10 }, (_, i) => ({ keyHash: sha256(utf8(`k${i * 97}`)), value: utf8('new') }))
  const { created } = await t.update(ups)
  // ~10 paths of depth ~log16(4000) = 3, plus slack: far below the ~4,300 nodes of the whole tree.
  assert.ok(created.length <= 10 * 5, `created ${created.length} nodes`)
})

test('an old-value hint stands in for the key\'s stored leaf only when its hash matches', async () => {
  const t = new MemTree()
  const value = (i: number, gen: number): Uint8Array => utf8(`v${gen}-${i}`)
  await t.apply(Array.from({ length: 2000 }, (_, i) => ({ key: utf8(`k${i}`), value: value(i, 0) })))
  const loads: string[] = []
  const counting = async (rs: NodeRef[]): Promise<TreeNode[]> => {
    const ns = await t.loadMany(rs)
    for (const n of ns) loads.push(n.kind)
    return ns
  }
  const touched = Array.from({ length: 60 }, (_, i) => i * 31)
  const ups = (hint: (i: number) => Uint8Array | null | undefined): PathUpdate[] =>
    touched.map(i => ({ keyHash: sha256(utf8(`k${i}`)), value: value(i, 1), old: hint(i) }))
  const version = t.version + 1

  const plain = await updateTree(t.root, ups(() => undefined), version, counting)
  const leavesRead = loads.filter(k => k === 'leaf').length
  assert.ok(leavesRead >= touched.length, `without hints every touched leaf is read (${leavesRead})`)

  loads.length = 0
  const hinted = await updateTree(t.root, ups(i => value(i, 0)), version, counting)
  assert.deepEqual(hinted.root, plain.root)
  assert.deepEqual(hinted.created.map(n => toHex(n.hash)).sort(), plain.created.map(n => toHex(n.hash)).sort())
  assert.equal(loads.filter(k => k === 'leaf').length, 0, 'right hints: no leaf read')

  // Wrong hints (a stale value, or "absent" for a present key) cost a read, never a wrong root.
  loads.length = 0
  const wrong = await updateTree(t.root, ups(i => (i % 2 === 0 ? value(i, 9) : null)), version, counting)
  assert.deepEqual(wrong.root, plain.root)
  assert.equal(loads.filter(k => k === 'leaf').length, leavesRead)
})
