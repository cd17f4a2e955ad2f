import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readU64, utf8 } from '../../src/codec/index.js'
import { binarySublevel } from '../../src/ledger/db.js'
import type { LevelDb, StateWrite } from '../../src/state/api.js'
import { decodeJournal, encodeJournal } from '../../src/state/journal.js'
import { decodeNode } from '../../src/state/merkle.js'
import { verifyStateProof } from '../../src/state/proof.js'
import { StateStore, type StateStoreOptions } from '../../src/state/store.js'
import { rng } from '../support/seeded.js'
import { commit, rootRef, smtKeys, treeNodeKeys, withDb } from './store-helpers.js'

// Replayable: the seed is printed and can be pinned with FLUSH_SEED.
const seed = Number(process.env.FLUSH_SEED ?? Date.now() % 1_000_000)
console.log(`state flush seed: FLUSH_SEED=${seed}`)

/** Distinct random writes over a pool of `pool` keys; values 1..150 bytes (across the value cache's 92-byte limit), some deletes. */
function randomWrites (next: () => number, pool: number, max: number): StateWrite[] {
  const out = new Map<number, StateWrite>()
  const n = 1 + Math.floor(next() * max)
  for (let i = 0; i < n; i++) {
    const k = Math.floor(next() * pool)
    const value = next() < 0.15 ? null : Uint8Array.from({ length: 1 + Math.floor(next() * 150) }, () => Math.floor(next() * 256))
    out.set(k, { key: utf8(`k${k}`), value })
  }
  return [...out.values()]
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

/** Journal record versions, and stored nodes (bytes) and their keys (hex) by version, in the 'smt' sublevel. */
async function stored (db: LevelDb): Promise<{ journal: number[], nodesAt: Map<number, Uint8Array[]>, keysAt: Map<number, string[]> }> {
  const journal: number[] = []
  const nodesAt = new Map<number, Uint8Array[]>()
  const keysAt = new Map<number, string[]>()
  for await (const [k, v] of binarySublevel(db, 'smt').iterator()) {
    if (k.length === 9 && k[0] === 0x4a) journal.push(readU64(k, 1))
    if (k.length === 40) {
      const version = readU64(k, 0)
      nodesAt.set(version, [...(nodesAt.get(version) ?? []), Uint8Array.from(v)])
      keysAt.set(version, [...(keysAt.get(version) ?? []), hex(k)])
    }
  }
  return { journal, nodesAt, keysAt }
}

test('a store that flushes every few updates gives the roots of one that writes every update, across crashes, prunes and a small cache', async () => {
  const next = rng(seed)
  const flushEvery = 2 + Math.floor(next() * 5)
  const nodeCacheSize = next() < 0.5 ? 1_000_000 : 48 + Math.floor(next() * 200)
  const lazyOpts: StateStoreOptions = { flushEvery, nodeCacheSize }
  await withDb(async (openEager) => {
    await withDb(async (openLazy) => {
      const eagerDb = await openEager()
      const eager = await StateStore.open(eagerDb)
      let db = await openLazy()
      let lazy = await StateStore.open(db, lazyOpts)
      let crashes = 0
      for (let u = 1; u <= 90; u++) {
        const writes = randomWrites(next, 300, u === 1 ? 200 : 30)
        const want = await commit(eagerDb, eager, writes)
        const got = await commit(db, lazy, writes)
        assert.equal(hex(got), hex(want), `root of update ${u} (flushEvery ${flushEvery}, cache ${nodeCacheSize})`)
        if (next() < 0.15) await lazy.prune(Math.floor(next() * 3))
        if (next() < 0.12) {
          // A crash: the handle is dropped without a flush; open() replays the journal.
          crashes++
          db = await openLazy()
          lazy = await StateStore.open(db, lazyOpts)
          assert.equal(hex(lazy.root()), hex(want), `root after the crash after update ${u}`)
          assert.equal(lazy.version, u)
        }
      }
      // Proofs at the current root, of keys present and absent, through nodes not yet flushed.
      for (let i = 0; i < 12; i++) {
        const key = utf8(`k${Math.floor(next() * 320)}`)
        const p = await lazy.prove(key)
        assert.equal(verifyStateProof(lazy.root(), p), true, `proof of ${Buffer.from(key).toString()}`)
        assert.deepEqual(p.value, await eager.get(key) ?? null)
      }
      // Flushed and pruned to the current tree, storage holds that tree's nodes and nothing else.
      await lazy.flushNow()
      while (await lazy.prune(0) > 0) { /* chunks */ }
      const keys = await smtKeys(db)
      assert.deepEqual([...keys.nodes].sort(), [...await treeNodeKeys(db, await rootRef(db))].sort(), `storage after ${crashes} crashes holds exactly the current tree`)
      assert.equal(keys.stale, 0)
      assert.equal(keys.roots, 1)
      assert.deepEqual((await stored(db)).journal, [])
    })
  })
})

test('between flushes an update stores only leaves and a journal record; the flush stores the tree; roots in between are provable only while current', async () => {
  await withDb(async (open) => {
    let db = await open()
    let store = await StateStore.open(db, { flushEvery: 4 })
    const keys = Array.from({ length: 60 }, (_, i) => utf8(`key${i}`))
    const r1 = await commit(db, store, keys.map((key, i) => ({ key, value: utf8(`v${i}`) })), { flush: true })
    const roots = [r1]
    for (let u = 2; u <= 4; u++) {
      roots.push(await commit(db, store, keys.slice(u * 5, u * 5 + 8).map(key => ({ key, value: utf8(`u${u}`) }))))
      const s = await stored(db)
      assert.deepEqual(s.journal, Array.from({ length: u - 1 }, (_, i) => i + 2), `journal records after update ${u}`)
      for (const bytes of s.nodesAt.get(u) ?? []) assert.equal(decodeNode(bytes)?.kind, 'leaf', `update ${u} stored only leaves`)
      assert.equal(s.nodesAt.get(u)?.length, 8, `update ${u} stored its 8 leaves`)
    }
    assert.equal(readU64((await binarySublevel(db, 'smt').get(utf8('root')))!, 0) <= 1, true, 'the root pointer is still the first flush')
    // The current root and the flushed one are provable; the ones between are not.
    assert.equal(verifyStateProof(roots[3]!, await store.prove(keys[20]!)), true)
    assert.equal(verifyStateProof(r1, await store.prove(keys[20]!, r1)), true)
    await assert.rejects(store.prove(keys[20]!, roots[1]!), { code: 'ERR_UNKNOWN_ROOT' })
    await assert.rejects(store.getAt(roots[2]!, keys[20]!), { code: 'ERR_UNKNOWN_ROOT' })

    // The 4th update after the flush flushes: the journal is gone and the whole tree is stored.
    const r5 = await commit(db, store, [{ key: keys[0]!, value: null }])
    const s = await stored(db)
    assert.deepEqual(s.journal, [])
    const head = await rootRef(db)
    assert.equal(hex(head.hash), hex(r5))
    // Every node of the flushed tree is stored (the walk reads each one); of the internal nodes
    // the updates in between created, the flush wrote those still in the tree, at their own
    // versions, and no others.
    const inTree = await treeNodeKeys(db, head)
    let internalsBetween = 0
    for (const v of [2, 3, 4]) {
      s.nodesAt.get(v)!.forEach((bytes, i) => {
        if (decodeNode(bytes)?.kind !== 'internal') return
        internalsBetween++
        assert.ok(inTree.has(s.keysAt.get(v)![i]!), `internal node ${s.keysAt.get(v)![i]} is in the flushed tree`)
      })
    }
    assert.ok(internalsBetween > 0, 'the flush wrote internal nodes of the updates before it')
    assert.equal(verifyStateProof(r5, await store.prove(keys[0]!, r5)), true)
    // And a clean reopen needs nothing replayed.
    db = await open()
    store = await StateStore.open(db, { flushEvery: 4 })
    assert.equal(hex(store.root()), hex(r5))
  })
})

test('prune never deletes what the last flush\'s tree needs: a crash after pruning still replays', async () => {
  await withDb(async (open) => {
    let db = await open()
    let store = await StateStore.open(db, { flushEvery: 100 })
    const keys = Array.from({ length: 200 }, (_, i) => utf8(`a${i}`))
    await commit(db, store, keys.map((key, i) => ({ key, value: utf8(`${i}`) })), { flush: true })
    let root = store.root()
    for (let u = 0; u < 12; u++) {
      root = await commit(db, store, keys.slice(u * 15, u * 15 + 20).map(key => ({ key, value: utf8(`x${u}`) })))
      while (await store.prune(0) > 0) { /* chunks */ }
    }
    db = await open()
    store = await StateStore.open(db, { flushEvery: 100 })
    assert.equal(hex(store.root()), hex(root))
  })
})

/** A store with one flush and three journaled updates, closed; returns the roots. */
async function journaled (open: () => Promise<LevelDb>): Promise<Uint8Array[]> {
  const db = await open()
  const store = await StateStore.open(db, { flushEvery: 8 })
  const roots = [await commit(db, store, Array.from({ length: 30 }, (_, i) => ({ key: utf8(`j${i}`), value: utf8(`${i}`) })), { flush: true })]
  for (let u = 0; u < 3; u++) roots.push(await commit(db, store, [{ key: utf8(`j${u}`), value: utf8(`new${u}`) }, { key: utf8(`n${u}`), value: utf8('x') }]))
  return roots
}

test('a damaged, missing or wrong journal record stops open() with ERR_CORRUPT naming it', async () => {
  const journal = (db: LevelDb): ReturnType<typeof binarySublevel> => binarySublevel(db, 'smt')
  const key = (v: number): Uint8Array => { const k = new Uint8Array(9); k[0] = 0x4a; k[8] = v; return k }
  await withDb(async (open) => {
    await journaled(open)
    const db = await open()
    const v3 = (await journal(db).get(key(3)))!
    await journal(db).put(key(3), v3.subarray(0, v3.length - 1))
    await assert.rejects(StateStore.open(await open(), { flushEvery: 8 }), { code: 'ERR_CORRUPT', message: /journal record of version 3 is malformed/ })
  })
  await withDb(async (open) => {
    await journaled(open)
    const db = await open()
    await journal(db).del(key(3))
    await assert.rejects(StateStore.open(await open(), { flushEvery: 8 }), { code: 'ERR_CORRUPT', message: /record of version 4 where version 3 was expected/ })
  })
  await withDb(async (open) => {
    await journaled(open)
    const db = await open()
    const v2 = Uint8Array.from((await journal(db).get(key(2)))!)
    v2[5]! ^= 1
    await journal(db).put(key(2), v2)
    await assert.rejects(StateStore.open(await open(), { flushEvery: 8 }), { code: 'ERR_CORRUPT', message: /replaying version 2 gave root [0-9a-f]{64}, its record says/ })
  })
  // Undamaged, it replays to the last root whatever flushEvery is now.
  await withDb(async (open) => {
    const roots = await journaled(open)
    const store = await StateStore.open(await open(), { flushEvery: 2 })
    assert.equal(hex(store.root()), hex(roots[3]!))
  })
})

test('journal records round-trip writes and deletes, and refuse truncated or trailing bytes', () => {
  const root = new Uint8Array(32).fill(7)
  const writes: StateWrite[] = [
    { key: utf8('a'), value: utf8('1') },
    { key: utf8('b'), value: null },
    { key: utf8('c'), value: new Uint8Array(0) },
    { key: new Uint8Array(300).fill(1), value: new Uint8Array(5000).fill(2) }
  ]
  const bytes = encodeJournal(root, writes)
  const back = decodeJournal(bytes, 9)
  assert.deepEqual(back.root, root)
  assert.deepEqual(back.writes.map(w => ({ key: Uint8Array.from(w.key), value: w.value === null ? null : Uint8Array.from(w.value) })), writes)
  assert.deepEqual(decodeJournal(encodeJournal(root, []), 1).writes, [])
  for (const cut of [10, 36 + 1, bytes.length - 1]) {
    assert.throws(() => decodeJournal(bytes.subarray(0, cut), 9), { code: 'ERR_CORRUPT', message: /version 9/ })
  }
  const longer = new Uint8Array(bytes.length + 1)
  longer.set(bytes)
  assert.throws(() => decodeJournal(longer, 9), { code: 'ERR_CORRUPT', message: /1 bytes after the last write/ })
  assert.throws(() => encodeJournal(root, [{ key: new Uint8Array(70_000), value: null }]), RangeError)
})

test('a small node cache under eviction pressure keeps every node waiting for a flush', async () => {
  await withDb(async (open) => {
    let db = await open()
    let store = await StateStore.open(db, { flushEvery: 1000, nodeCacheSize: 200 })
    const keys = Array.from({ length: 2000 }, (_, i) => utf8(`p${i}`))
    await commit(db, store, keys.map((key, i) => ({ key, value: utf8(`${i}`) })), { flush: true })
    db = await open()
    store = await StateStore.open(db, { flushEvery: 1000, nodeCacheSize: 200 })
    await store.warm(60_000)
    // Each update reads cold paths (stored nodes the cache takes and evicts) and pins what it creates.
    for (let u = 0; u < 40; u++) {
      await commit(db, store, Array.from({ length: 12 }, (_, i) => ({ key: keys[(u * 157 + i * 31) % keys.length]!, value: utf8(`u${u}`) })))
    }
    assert.ok(store.flushedVersion < store.version, 'some updates are still waiting for a flush')
    const root = store.root()
    await store.flushNow()
    await treeNodeKeys(db, await rootRef(db))
    db = await open()
    store = await StateStore.open(db, { flushEvery: 1000, nodeCacheSize: 200 })
    assert.equal(hex(store.root()), hex(root))
  })
})
