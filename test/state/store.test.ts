import { test } from 'node:test'
import assert from 'node:assert/strict'
import { encode, utf8 } from '../../src/codec/index.js'
import { binarySublevel } from '../../src/ledger/db.js'
import type { LevelDb, StateWrite } from '../../src/state/api.js'
import { EMPTY, childRef, decodeNode, sha256 } from '../../src/state/merkle.js'
import { verifyStateProof } from '../../src/state/proof.js'
import { StateStore, nodeStorageKey } from '../../src/state/store.js'
import { executeBlock } from '../../src/state/executor.js'
import { genesisWrites } from '../../src/state/contracts/bank.js'
import { readAccount } from '../../src/state/query.js'
import { accountKey } from '../../src/state/keys.js'
import { account, call, CHAIN } from './helpers.js'
import { commit, rootRef, smtKeys, treeNodeKeys, withDb } from './store-helpers.js'


test('StateStore: prepare writes nothing, commit in one batch, reopen, prove, old roots', async () => {
  await withDb(async (open) => {
    let db = await open()
    let store = await StateStore.open(db)
    assert.deepEqual(store.root(), EMPTY)
    const w1 = [{ key: utf8('a'), value: utf8('1') }, { key: utf8('b'), value: utf8('2') }, { key: utf8('c'), value: utf8('3') }]
    const { root: r1, ops } = await store.prepare(w1)
    assert.notDeepEqual(r1, EMPTY)
    // Nothing written yet: the state and the committed root are unchanged.
    assert.equal(await store.get(utf8('a')), undefined)
    assert.deepEqual(store.root(), EMPTY)
    await db.batch(ops)
    store.commitPrepared(r1)
    assert.deepEqual(store.root(), r1)
    assert.deepEqual(await store.get(utf8('a')), utf8('1'))

    const r2 = await commit(db, store, [{ key: utf8('a'), value: null }, { key: utf8('b'), value: utf8('22') }])
    assert.equal(await store.get(utf8('a')), undefined)
    assert.throws(() => store.commitPrepared(new Uint8Array(32).fill(9)), /not prepared/)
    await assert.rejects(store.prepare([{ key: utf8('x'), value: null }, { key: utf8('x'), value: utf8('1') }]), /twice/)

    // Reopen: the root pointer was written in the same batch.
    db = await open()
    store = await StateStore.open(db, { nodeCacheSize: 4 })
    assert.deepEqual(store.root(), r2)
    for (const [k, v] of [['a', null], ['b', '22'], ['c', '3'], ['zzz', null]] as const) {
      const p = await store.prove(utf8(k))
      assert.deepEqual(p.value, v === null ? null : utf8(v), k)
      assert.equal(verifyStateProof(r2, p), true, k)
      // The proof survives the wire (canonical CBOR) unchanged.
      assert.deepEqual(encode(p as unknown as Record<string, unknown>).length > 0, true)
    }
    // The old root is still provable and readable (no pruning).
    const old = await store.prove(utf8('a'), r1)
    assert.deepEqual(old.value, utf8('1'))
    assert.equal(verifyStateProof(r1, old), true)
    assert.equal(verifyStateProof(r2, old), false)
    assert.deepEqual(await store.getAt(r1, utf8('b')), utf8('2'))

    // prefetch loads committed values (and absences) in one read; get answers the same after it.
    db = await open()
    store = await StateStore.open(db)
    await store.prefetch([utf8('b'), utf8('a'), utf8('b'), utf8('zzz')])
    assert.deepEqual(await store.get(utf8('b')), utf8('22'))
    assert.equal(await store.get(utf8('a')), undefined)
    assert.equal(await store.get(utf8('zzz')), undefined)
    await db.close()
    // Served from memory now: the closed db is not touched for prefetched keys.
    assert.deepEqual(await store.get(utf8('b')), utf8('22'))
    await assert.rejects(store.get(utf8('c')))
  })
})

test('StateStore + executor: blocks of transfers, state root matches a fresh rebuild', async () => {
  await withDb(async (open) => {
    const db = await open()
    const store = await StateStore.open(db)
    const accts = Array.from({ length: 6 }, (_, i) => account(i + 1))
    await commit(db, store, genesisWrites(accts.map(a => ({ address: a.addr, amount: 1000n }))))
    for (let h = 1; h <= 5; h++) {
      const txs = accts.map((a, i) => call(a, 'bank', 'transfer', { to: accts[(i + h) % accts.length]!.addr, amount: 10 * h + i }))
      const r = await executeBlock(store, { chainId: CHAIN, height: h, timestamp: h, proposer: 0 }, txs)
      assert.ok(r.receipts.every(x => x.status === 'ok'))
      await commit(db, store, r.writes)
    }
    const total = (await Promise.all(accts.map(async a => (await readAccount(store, a.addr)).balance))).reduce((x, y) => x + y, 0n)
    assert.equal(total, 6000n)
    // A fresh store built from the final flat state in one batch has the same root.
    const flat: StateWrite[] = []
    for await (const [key, value] of db.sublevel<Uint8Array, Uint8Array>('state', { keyEncoding: 'view', valueEncoding: 'view' }).iterator()) {
      flat.push({ key, value })
    }
    await withDb(async (open2) => {
      const db2 = await open2()
      const s2 = await StateStore.open(db2)
      assert.deepEqual(await commit(db2, s2, flat), store.root())
    })
    const p = await store.prove(accountKey(accts[0]!.addr))
    assert.equal(verifyStateProof(store.root(), p), true)
  })
})

test('StateStore: each update\'s nodes are keyed after every earlier one; the version count survives a reopen', async () => {
  await withDb(async (open) => {
    let db = await open()
    let store = await StateStore.open(db)
    const nodeKeys = async (): Promise<string[]> => {
      const out: string[] = []
      for await (const k of binarySublevel(db, 'smt').keys()) if (k.length === 40) out.push(Buffer.from(k).toString('hex'))
      return out
    }
    const roots: Uint8Array[] = []
    let seen = new Set<string>()
    for (let u = 1; u <= 6; u++) {
      // Reopen half-way: the next update must continue the count, not reuse a version.
      if (u === 4) { db = await open(); store = await StateStore.open(db) }
      const writes = Array.from({ length: 40 }, (_, i) => ({ key: utf8(`k${(i * 7 + u) % 100}`), value: utf8(`v${u}-${i}`) }))
      roots.push(await commit(db, store, writes))
      const keys = await nodeKeys()
      const fresh = keys.filter(k => !seen.has(k))
      assert.ok(fresh.length > 0, `update ${u} stored nodes`)
      // LevelDB order is key order: this update's nodes all sort after every earlier node.
      const firstFresh = keys.indexOf(fresh[0]!)
      assert.deepEqual(keys.slice(firstFresh), fresh, `update ${u}: new nodes are the tail of the key space`)
      for (const k of fresh) assert.equal(parseInt(k.slice(0, 16), 16), u, `update ${u} stores at version ${u}`)
      seen = new Set(keys)
    }
    // Every earlier root is still readable through its version in the root index.
    for (const [i, r] of roots.entries()) {
      const p = await store.prove(utf8('k1'), r)
      assert.equal(verifyStateProof(r, p), true, `root ${i + 1}`)
    }
    await assert.rejects(store.prove(utf8('k1'), new Uint8Array(32).fill(3)), { code: 'ERR_UNKNOWN_ROOT' })
  })
})

/** Every key in the 'smt' sublevel, by kind. */
test('StateStore.prune: the last keep+1 roots stay provable, older ones are refused, and storage holds exactly the kept trees', async () => {
  await withDb(async (open) => {
    let db = await open()
    let store = await StateStore.open(db)
    const roots: Uint8Array[] = []
    const keep = 3
    // 12 updates over 60 keys: overwrites, deletes and keys that come back, so leaves move up and down.
    for (let u = 1; u <= 12; u++) {
      if (u === 7) { db = await open(); store = await StateStore.open(db) } // the stale index survives a reopen
      const writes = Array.from({ length: 25 }, (_, i) => {
        const k = (i * 11 + u * 7) % 60
        return { key: utf8(`k${k}`), value: (k + u) % 5 === 0 ? null : utf8(`v${u}-${i}`) }
      })
      const seen = new Set<string>()
      roots.push(await commit(db, store, writes.filter(w => { const k = Buffer.from(w.key).toString(); if (seen.has(k)) return false; seen.add(k); return true })))
      // A small max: several calls, each resuming after the records the last one deleted.
      while (await store.prune(keep, 7) > 0) { /* chunks */ }
    }
    assert.equal(store.version, 12)
    for (const [i, r] of roots.entries()) {
      const version = i + 1
      if (version >= 12 - keep) {
        const p = await store.prove(utf8('k1'), r)
        assert.equal(verifyStateProof(r, p), true, `kept root of version ${version}`)
      } else {
        await assert.rejects(store.prove(utf8('k1'), r), { code: 'ERR_UNKNOWN_ROOT' }, `pruned root of version ${version}`)
      }
    }
    // Stored nodes are exactly the union of the kept trees: nothing a kept root needs is gone,
    // nothing else is left.
    const keys = await smtKeys(db)
    const want = new Set<string>()
    const head = await rootRef(db)
    for (let v = 12 - keep; v <= 12; v++) {
      const r = roots[v - 1]!
      const ref = v === 12 ? head : { hash: r, version: v }
      for (const k of await treeNodeKeys(db, ref)) want.add(k)
    }
    assert.deepEqual([...keys.nodes].sort(), [...want].sort())
    assert.equal(keys.roots, keep + 1, 'one root-index entry per kept version')

    // keep = 0: only the committed tree is left, and the stale index is empty.
    while (await store.prune(0) > 0) { /* chunks */ }
    const after = await smtKeys(db)
    assert.deepEqual([...after.nodes].sort(), [...await treeNodeKeys(db, head)].sort())
    assert.equal(after.stale, 0)
    assert.equal(after.roots, 1)
    await assert.rejects(store.prune(-1), { code: 'ERR_BAD_ARGUMENT' })
    // A damaged stale record is reported, not half-applied.
    const bad = new Uint8Array(9)
    bad[0] = 0x53
    bad[8] = 13
    await commit(db, store, [{ key: utf8('k1'), value: utf8('last') }])
    await binarySublevel(db, 'smt').put(bad, Uint8Array.of(1, 2, 3))
    await assert.rejects(store.prune(0), { code: 'ERR_CORRUPT', message: /stale record of version 13 is malformed/ })
    await treeNodeKeys(db, await rootRef(db)) // and the head's tree is still whole
  })
})

test('StateStore: reading an old root does not cache its nodes, so pruning cannot strand a later update', async () => {
  await withDb(async (open) => {
    let db = await open()
    let store = await StateStore.open(db)
    const keys = Array.from({ length: 200 }, (_, i) => utf8(`k${i}`))
    const top = (k: Uint8Array): number => sha256(k)[0]! >> 4
    const k5 = keys[5]!
    const other = keys.find(k => top(k) !== top(k5))!
    const r1 = await commit(db, store, keys.map(key => ({ key, value: utf8('a') })))
    await commit(db, store, [{ key: k5, value: utf8('b') }])
    // k5's subtree comes back to its version-1 hashes, now stored at version 3; the root differs.
    const r3 = await commit(db, store, [{ key: k5, value: utf8('a') }, { key: other, value: utf8('x') }])
    assert.notDeepEqual(r3, r1)
    // Reopened, the cache is cold: a proof at r1 reads k5's subtree at version 1. Had those
    // copies been cached by hash, the next update would find them and follow their children's
    // version-1 addresses, which the prune below deletes.
    db = await open()
    store = await StateStore.open(db)
    const cached = store.cachedNodes
    assert.equal(verifyStateProof(r1, await store.prove(k5, r1)), true)
    assert.equal(store.cachedNodes, cached, 'an old root\'s nodes are not cached')
    while (await store.prune(0) > 0) { /* chunks */ }
    await assert.rejects(store.prove(k5, r1), { code: 'ERR_UNKNOWN_ROOT' })
    const r4 = await commit(db, store, [{ key: k5, value: utf8('c') }])
    assert.equal(verifyStateProof(r4, await store.prove(k5)), true)
  })
})

test('StateStore: a read of the current root that spans commits does not cache what they replaced', async () => {
  await withDb(async (open) => {
    let db = await open()
    // A small node cache, so the nodes the commits below create are evicted again.
    const opts = { nodeCacheSize: 16 }
    let store = await StateStore.open(db, opts)
    const keys = Array.from({ length: 200 }, (_, i) => utf8(`k${i}`))
    const top = (k: Uint8Array): number => sha256(k)[0]! >> 4
    const k5 = keys[5]!
    const others = keys.filter(k => top(k) !== top(k5))
    await commit(db, store, keys.map(key => ({ key, value: utf8('a') })))
    db = await open()
    store = await StateStore.open(db, opts)
    const r1 = store.root()
    // Hold the proof's node reads (single gets; updates read with getMany) while commits
    // replace k5's subtree, bring it back to its version-1 hashes at version 3, and then touch
    // only other subtrees until the cache has let go of it.
    const nodes = (store as unknown as { nodes: { get: (k: Uint8Array) => Promise<Uint8Array | undefined> } }).nodes
    const get = nodes.get.bind(nodes)
    let release = (): void => {}
    const gate = new Promise<void>(resolve => { release = resolve })
    nodes.get = async (k) => { await gate; return await get(k) }
    const proof = store.prove(k5)
    await commit(db, store, [{ key: k5, value: utf8('b') }])
    await commit(db, store, [{ key: k5, value: utf8('a') }])
    for (let i = 0; i < 12; i++) await commit(db, store, [{ key: others[i * 7 % others.length]!, value: utf8(`x${i}`) }])
    release()
    assert.equal(verifyStateProof(r1, await proof), true, 'the proof is of the root current when it began')
    nodes.get = get
    // Had the proof cached its version-1 copies of k5's path, the next update of k5 would take
    // their children's versions for the current ones: it would name pruned addresses as
    // replaced and leave the current ones stored forever.
    while (await store.prune(0) > 0) { /* chunks */ }
    const r = await commit(db, store, [{ key: k5, value: utf8('c') }])
    while (await store.prune(0) > 0) { /* chunks */ }
    assert.equal(verifyStateProof(r, await store.prove(k5)), true)
    assert.deepEqual([...(await smtKeys(db)).nodes].sort(), [...await treeNodeKeys(db, await rootRef(db))].sort(), 'storage holds exactly the current tree')
  })
})

test('StateStore: only internal nodes stay in the node cache; updates without a cached value read the leaf', async () => {
  await withDb(async (open) => {
    let db = await open()
    let store = await StateStore.open(db)
    const writes = Array.from({ length: 300 }, (_, i) => ({ key: utf8(`k${i}`), value: utf8(`v${i}`) }))
    await commit(db, store, writes)
    const smt = binarySublevel(db, 'smt')
    let internal = 0
    for await (const [k, v] of smt.iterator()) if (k.length === 40 && v[0] === 1) internal++
    assert.ok(internal > 0)
    assert.equal(store.cachedNodes, internal, 'the 300 leaves are not cached, every internal node is')
    // Reopened: no value is cached, so the update has no hint and reads the leaves it replaces.
    db = await open()
    store = await StateStore.open(db)
    const update = [{ key: utf8('k7'), value: utf8('new') }, { key: utf8('k8'), value: null }, { key: utf8('k300'), value: utf8('x') }]
    const root = await commit(db, store, update)
    const fresh = new Map(writes.map(w => [Buffer.from(w.key).toString(), w.value]))
    fresh.set('k7', utf8('new')); fresh.delete('k8'); fresh.set('k300', utf8('x'))
    await withDb(async (open2) => {
      const db2 = await open2()
      assert.deepEqual(await commit(db2, await StateStore.open(db2), [...fresh].map(([k, v]) => ({ key: utf8(k), value: v }))), root)
    })
  })
})

test('StateStore.warmValues loads committed values so reads need no LevelDB, up to half the value cache', async () => {
  await withDb(async (open) => {
    let db = await open()
    const writes = Array.from({ length: 300 }, (_, i) => ({ key: utf8(`k${i}`), value: utf8(`v${i}`) }))
    await commit(db, await StateStore.open(db), writes)
    db = await open()
    const store = await StateStore.open(db)
    assert.equal(await store.warmValues(60_000), 300)
    const flat = (store as unknown as { flat: { get: (k: Uint8Array) => Promise<unknown>, getMany: (k: Uint8Array[]) => Promise<unknown[]> } }).flat
    let reads = 0
    const get = flat.get.bind(flat)
    const getMany = flat.getMany.bind(flat)
    flat.get = async (k) => { reads++; return await get(k) }
    flat.getMany = async (ks) => { reads += ks.length; return await getMany(ks) }
    await store.prefetch(writes.map(w => w.key))
    for (const w of writes) assert.deepEqual(await store.get(w.key), w.value)
    assert.equal(reads, 0, 'every value came from the cache')
    // A key the warm did not see is still read (and found absent).
    assert.equal(await store.get(utf8('absent')), undefined)
    assert.equal(reads, 1)

    db = await open()
    assert.equal(await (await StateStore.open(db, { valueCacheSize: 100 })).warmValues(60_000), 50)
    db = await open()
    assert.equal(await (await StateStore.open(db)).warmValues(0), 0)
  })
})

test('StateStore: cached values come back byte for byte (all 256 byte values, empty values)', async () => {
  await withDb(async (open) => {
    let db = await open()
    let store = await StateStore.open(db)
    const every = Uint8Array.from({ length: 512 }, (_, i) => (i * 7) & 0xff)
    const writes = [{ key: utf8('every'), value: every }, { key: utf8('empty'), value: new Uint8Array(0) }, { key: utf8('high'), value: Uint8Array.of(0xff, 0x80, 0x00, 0x7f) }]
    await commit(db, store, writes)
    // From the cache commitPrepared filled, from LevelDB, and from warmValues.
    for (const w of writes) assert.deepEqual(await store.get(w.key), w.value)
    db = await open()
    store = await StateStore.open(db)
    for (const w of writes) assert.deepEqual(await store.get(w.key), w.value)
    for (const w of writes) assert.deepEqual(await store.get(w.key), w.value, 'second read, from the cache')
    db = await open()
    store = await StateStore.open(db)
    await store.warmValues(60_000)
    for (const w of writes) assert.deepEqual(await store.get(w.key), w.value)
  })
})

test('StateStore: a database in the old hash-keyed tree format is refused with a clear error', async () => {
  await withDb(async (open) => {
    const db = await open()
    const smt = binarySublevel(db, 'smt')
    await smt.put(utf8('root'), new Uint8Array(32).fill(1))
    await assert.rejects(StateStore.open(db), (err: Error & { code?: string }) => err.code === 'ERR_CORRUPT' && /old tree format/.test(err.message) && /empty data directory/.test(err.message))
    await smt.put(utf8('root'), new Uint8Array(47))
    await assert.rejects(StateStore.open(db), /47 bytes, expected 48/)
  })
})

test('StateStore: a damaged tree node is reported as corruption, not a wrong answer', async () => {
  await withDb(async (open) => {
    let db = await open()
    let store = await StateStore.open(db)
    const writes = Array.from({ length: 50 }, (_, i) => ({ key: utf8(`k${i}`), value: utf8(`v${i}`) }))
    const root = await commit(db, store, writes)
    const smt = binarySublevel(db, 'smt')
    // Flip one byte of the value inside every stored leaf.
    for await (const [k, v] of smt.iterator()) {
      if (k.length === 40 && v[0] === 0) { const bad = Uint8Array.from(v); bad[bad.length - 1]! ^= 1; await smt.put(k, bad) }
    }
    db = await open()
    store = await StateStore.open(db, { nodeCacheSize: 0 })
    assert.deepEqual(store.root(), root)
    await assert.rejects(store.prove(utf8('k1')), { code: 'ERR_CORRUPT' })
    await assert.rejects(store.prepare([{ key: utf8('k1'), value: utf8('x') }]), { code: 'ERR_CORRUPT' })
  })
})

/** Internal and leaf nodes per depth of the tree at `root`, read from storage. */
async function levelCounts (db: LevelDb, root: { hash: Uint8Array, version: number }): Promise<Array<{ internal: number, leaves: number }>> {
  const smt = binarySublevel(db, 'smt')
  const out: Array<{ internal: number, leaves: number }> = []
  let frontier = [root]
  for (let depth = 0; frontier.length > 0; depth++) {
    const next: typeof frontier = []
    out.push({ internal: 0, leaves: 0 })
    for (const r of frontier) {
      const n = decodeNode(new Uint8Array((await smt.get(nodeStorageKey(r)))!))!
      if (n.kind === 'leaf') { out[depth]!.leaves++; continue }
      out[depth]!.internal++
      for (let i = 0; i < 16; i++) { const c = childRef(n, i); if (c.hash.some(b => b !== 0)) next.push(c) }
    }
    frontier = next
  }
  return out
}

test('StateStore.warm caches the upper levels\' internal nodes, down to the first level that is mostly leaves', async () => {
  await withDb(async (open) => {
    let db = await open()
    const writes = Array.from({ length: 3000 }, (_, i) => ({ key: utf8(`k${i}`), value: utf8(`v${i}`) }))
    const root = await commit(db, await StateStore.open(db), writes)
    const levels = await levelCounts(db, await rootRef(db))
    // Expected: every level down to and including the first one less than half internal.
    let expectRead = 0
    let expectCached = 0
    for (const l of levels) {
      expectRead += l.internal + l.leaves
      expectCached += l.internal
      if (l.internal < 0.5 * (l.internal + l.leaves)) break
    }
    assert.ok(expectCached < levels.reduce((a, l) => a + l.internal, 0), 'the tree has internal nodes below where warm() stops')

    // Reopened, the cache holds only the root (open checks it is there).
    db = await open()
    const all = await StateStore.open(db)
    assert.equal(all.cachedNodes, 1)
    const nodes = (all as unknown as { nodes: { getMany: (k: Uint8Array[]) => Promise<Array<Uint8Array | undefined>> } }).nodes
    const getMany = nodes.getMany.bind(nodes)
    let read = 0
    nodes.getMany = async (keys) => { read += keys.length; return await getMany(keys) }
    const n = await all.warm(60_000)
    assert.equal(n, expectCached)
    // The root, cached by open(), is not read again (warm() takes nodes from the cache first).
    assert.equal(read, expectRead - 1, 'no level below the first mostly-leaf one is read')
    assert.equal(all.cachedNodes, n, 'only internal nodes are cached')

    // With a small cache it stops at half of it.
    db = await open()
    const small = await StateStore.open(db, { nodeCacheSize: 40 })
    assert.equal(await small.warm(60_000), 20)
    assert.ok(small.cachedNodes <= 20)
    // The warmed store gives the same answers (nodes were checked against their hashes).
    assert.deepEqual(await small.getAt(root, utf8('k7')), utf8('v7'))

    // A level limit: the root alone, then the root and its 16 children (3,000 keys fill all 16).
    db = await open()
    assert.equal(await (await StateStore.open(db)).warm(60_000, 1), 1)
    db = await open()
    assert.equal(await (await StateStore.open(db)).warm(60_000, 2), 17)

    // No time budget, nothing loaded.
    db = await open()
    assert.equal(await (await StateStore.open(db)).warm(0), 0)
  })
})
