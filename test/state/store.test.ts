import { test } from 'node:test'
import assert from 'node:assert/strict'
import { encode, toHex, utf8 } from '../../src/codec/index.js'
import { binarySublevel } from '../../src/ledger/db.js'
import type { StateWrite } from '../../src/state/api.js'
import { EMPTY, sha256 } from '../../src/state/merkle.js'
import { verifyStateProof } from '../../src/state/proof.js'
import { StateStore } from '../../src/state/store.js'
import { executeBlock } from '../../src/state/executor.js'
import { genesisWrites } from '../../src/state/contracts/bank.js'
import { readAccount } from '../../src/state/query.js'
import { accountKey } from '../../src/state/keys.js'
import { rng } from '../support/seeded.js'
import { account, call, CHAIN } from './helpers.js'
import { commit, referenceRoot, withDb } from './store-helpers.js'

const isCode = (code: string) => (err: Error & { code?: string }): boolean => err.code === code

test('StateStore: prepare writes nothing, commit in one batch, reopen rebuilds the tree, prove the current root only', async () => {
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

    // Reopen: the tree is rebuilt from the flat state the batches wrote.
    db = await open()
    store = await StateStore.open(db)
    assert.deepEqual(store.root(), r2)
    assert.deepEqual(store.stats.keys, 2)
    for (const [k, v] of [['a', null], ['b', '22'], ['c', '3'], ['zzz', null]] as const) {
      const p = await store.prove(utf8(k))
      assert.deepEqual(p.value, v === null ? null : utf8(v), k)
      assert.equal(verifyStateProof(r2, p), true, k)
      // The proof survives the wire (canonical CBOR) unchanged.
      assert.deepEqual(encode(p as unknown as Record<string, unknown>).length > 0, true)
    }
    assert.deepEqual(await store.getAt(r2, utf8('b')), utf8('22'))
    // Older roots are not kept.
    await assert.rejects(store.prove(utf8('a'), r1), (err: Error & { code?: string }) => err.code === 'ERR_UNKNOWN_ROOT' && /only the current state/.test(err.message))
    await assert.rejects(store.getAt(r1, utf8('a')), isCode('ERR_UNKNOWN_ROOT'))

    // prefetch loads committed values (and absences) in one read; get answers the same after it.
    db = await open()
    store = await StateStore.open(db, { valueCacheSize: 8 })
    await store.prefetch([utf8('b'), utf8('a'), utf8('b'), utf8('zzz')])
    assert.deepEqual(await store.get(utf8('b')), utf8('22'))
    assert.equal(await store.get(utf8('a')), undefined)
    assert.equal(await store.get(utf8('zzz')), undefined)
    await db.close()
    // Served from memory now: the closed db is not touched for prefetched keys.
    assert.deepEqual(await store.get(utf8('b')), utf8('22'))
  })
})

test('StateStore + executor: blocks of transfers, state root matches a fresh build and a reopen', async () => {
  await withDb(async (open) => {
    let db = await open()
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
    const p = await store.prove(accountKey(accts[0]!.addr))
    assert.equal(verifyStateProof(store.root(), p), true)
    // A fresh store built from the final flat state in one batch has the same root.
    const flat: StateWrite[] = []
    for await (const [key, value] of binarySublevel(db, 'state').iterator()) flat.push({ key, value })
    await withDb(async (open2) => {
      const db2 = await open2()
      const s2 = await StateStore.open(db2)
      assert.deepEqual(await commit(db2, s2, flat), store.root())
    })
    const root = store.root()
    db = await open()
    assert.deepEqual((await StateStore.open(db)).root(), root)
  })
})

test('StateStore: random inserts, updates and deletes keep the root canonical across reopens; every proof verifies (seeded)', async () => {
  const seed = Number(process.env.STORE_SEED ?? 20261127)
  console.log(`# STORE_SEED=${seed}`)
  const r = rng(seed)
  const int = (n: number): number => Math.floor(r() * n)
  await withDb(async (open) => {
    let db = await open()
    let store = await StateStore.open(db)
    const model = new Map<string, Uint8Array>()
    for (let round = 0; round < 40; round++) {
      const writes = new Map<string, StateWrite>()
      const n = 1 + int(round < 3 ? 200 : 40)
      for (let i = 0; i < n; i++) {
        // A small key space, so updates and deletes hit existing keys and inserts land beside existing leaves.
        const key = utf8(`k${int(400)}`)
        const value = r() < 0.25 ? null : utf8(`v${int(1_000_000)}`)
        writes.set(toHex(key), { key, value })
      }
      // Half the rounds run with cold values, so prepare reads old values and the index from LevelDB.
      if (r() < 0.5) { db = await open(); store = await StateStore.open(db, { valueCacheSize: 16 }) }
      const root = await commit(db, store, [...writes.values()])
      for (const w of writes.values()) { if (w.value === null) model.delete(toHex(w.key)); else model.set(toHex(w.key), w.value) }
      assert.deepEqual(root, referenceRoot(model), `round ${round} (STORE_SEED=${seed})`)
      if (r() < 0.2) {
        db = await open()
        store = await StateStore.open(db)
        assert.deepEqual(store.root(), root, `reopen after round ${round}`)
        assert.equal(store.stats.keys, model.size)
      }
      for (let i = 0; i < 5; i++) {
        const key = utf8(`k${int(420)}`)
        const p = await store.prove(key)
        assert.deepEqual(p.value, model.get(toHex(key)) ?? null)
        assert.equal(verifyStateProof(root, p), true, `proof of ${toHex(key)} round ${round}`)
      }
    }
    // The key index lists exactly the keys in the state.
    const indexed = new Set<string>()
    for await (const [kh, key] of binarySublevel(db, 'keys').iterator()) {
      if (kh.length !== 32) continue
      assert.deepEqual(sha256(key), new Uint8Array(kh))
      indexed.add(toHex(key))
    }
    assert.deepEqual([...indexed].sort(), [...model.keys()].sort())
  })
})

test('StateStore.open loads values so reads need no LevelDB, up to half the value cache', async () => {
  await withDb(async (open) => {
    let db = await open()
    const writes = Array.from({ length: 300 }, (_, i) => ({ key: utf8(`k${i}`), value: utf8(`v${i}`) }))
    await commit(db, await StateStore.open(db), writes)
    db = await open()
    const store = await StateStore.open(db)
    assert.equal(store.stats.values, 300)
    const flat = (store as unknown as { flat: { get: (k: Uint8Array) => Promise<unknown>, getMany: (k: Uint8Array[]) => Promise<unknown[]> } }).flat
    let reads = 0
    const get = flat.get.bind(flat)
    const getMany = flat.getMany.bind(flat)
    flat.get = async (k) => { reads++; return await get(k) }
    flat.getMany = async (ks) => { reads += ks.length; return await getMany(ks) }
    await store.prefetch(writes.map(w => w.key))
    for (const w of writes) assert.deepEqual(await store.get(w.key), w.value)
    assert.equal(reads, 0, 'every value came from the cache')
    // A key open() did not see is still read (and found absent).
    assert.equal(await store.get(utf8('absent')), undefined)
    assert.equal(reads, 1)
    db = await open()
    assert.equal((await StateStore.open(db, { valueCacheSize: 100 })).stats.values, 50)
  })
})

test('StateStore: cached values come back byte for byte (all 256 byte values, empty values)', async () => {
  await withDb(async (open) => {
    let db = await open()
    let store = await StateStore.open(db)
    const every = Uint8Array.from({ length: 512 }, (_, i) => (i * 7) & 0xff)
    const writes = [{ key: utf8('every'), value: every }, { key: utf8('empty'), value: new Uint8Array(0) }, { key: utf8('high'), value: Uint8Array.of(0xff, 0x80, 0x00, 0x7f) }]
    const root = await commit(db, store, writes)
    // From the cache commitPrepared filled, from the one open() filled, and from LevelDB.
    for (const w of writes) assert.deepEqual(await store.get(w.key), w.value)
    db = await open()
    store = await StateStore.open(db)
    assert.deepEqual(store.root(), root)
    for (const w of writes) assert.deepEqual(await store.get(w.key), w.value)
    db = await open()
    store = await StateStore.open(db, { valueCacheSize: 1 })
    for (const w of writes) assert.deepEqual(await store.get(w.key), w.value)
  })
})

test('StateStore.load writes a genesis allocation and builds the same tree as updates would; a repeated load changes nothing', async () => {
  await withDb(async (open) => {
    let db = await open()
    const store = await StateStore.open(db)
    const writes = Array.from({ length: 500 }, (_, i) => ({ key: utf8(`acct/${i}`), value: utf8(`${i * 3}`) }))
    await store.load(writes, 64)
    const model = new Map(writes.map(w => [toHex(w.key), w.value!]))
    assert.deepEqual(store.root(), referenceRoot(model))
    await store.load(writes.slice(0, 100), 64)
    assert.deepEqual(store.root(), referenceRoot(model))
    await assert.rejects(store.load([{ key: utf8('x'), value: null }], 8), isCode('ERR_BAD_ARGUMENT'))
    // Inserts next to loaded leaves find them through the index.
    const more = Array.from({ length: 100 }, (_, i) => ({ key: utf8(`new/${i}`), value: utf8('n') }))
    await commit(db, store, more)
    for (const w of more) model.set(toHex(w.key), w.value)
    assert.deepEqual(store.root(), referenceRoot(model))
    db = await open()
    assert.deepEqual((await StateStore.open(db)).root(), referenceRoot(model))
  })
})

test('StateStore: an older layout\'s directory (no key index, a stored tree) gets its index and loses the old tree', async () => {
  await withDb(async (open) => {
    let db = await open()
    const model = new Map<string, Uint8Array>()
    const flat = binarySublevel(db, 'state')
    for (let i = 0; i < 200; i++) { await flat.put(utf8(`k${i}`), utf8(`v${i}`)); model.set(toHex(utf8(`k${i}`)), utf8(`v${i}`)) }
    const smt = binarySublevel(db, 'smt')
    await smt.put(utf8('root'), new Uint8Array(48))
    await smt.put(new Uint8Array(40), Uint8Array.of(1, 2, 3))
    // And half an index from a migration a crash cut short: rebuilt whole.
    await binarySublevel(db, 'keys').put(sha256(utf8('k1')), utf8('k1'))
    let store = await StateStore.open(db)
    assert.equal(store.stats.indexed, 200)
    assert.equal(store.stats.droppedOldTree, true)
    assert.deepEqual(store.root(), referenceRoot(model))
    for await (const _ of smt.keys()) assert.fail('the old tree is gone')
    // Deletes and inserts need the index: the tree stays canonical.
    const writes = [...Array.from({ length: 50 }, (_, i) => ({ key: utf8(`k${i}`), value: null })), ...Array.from({ length: 50 }, (_, i) => ({ key: utf8(`n${i}`), value: utf8('x') }))]
    await commit(db, store, writes)
    for (const w of writes) { if (w.value === null) model.delete(toHex(w.key)); else model.set(toHex(w.key), w.value) }
    assert.deepEqual(store.root(), referenceRoot(model))
    db = await open()
    store = await StateStore.open(db)
    assert.equal(store.stats.indexed, 0)
    assert.equal(store.stats.droppedOldTree, false)
    assert.deepEqual(store.root(), referenceRoot(model))
  })
})

test('StateStore: a tree past the node limit is refused before anything is written', async () => {
  await withDb(async (open) => {
    const db = await open()
    const store = await StateStore.open(db, { maxTreeNodes: 8 })
    await commit(db, store, Array.from({ length: 4 }, (_, i) => ({ key: utf8(`a${i}`), value: utf8('1') })))
    const before = store.root()
    await assert.rejects(store.prepare(Array.from({ length: 300 }, (_, i) => ({ key: utf8(`b${i}`), value: utf8('1') }))), (err: Error & { code?: string }) => err.code === 'ERR_STATE_TOO_LARGE' && /maxStateTreeNodes/.test(err.message))
    assert.deepEqual(store.root(), before)
    assert.equal(await store.get(utf8('b0')), undefined)
    // And at open, for a state already larger than the limit.
    await commit(db, await StateStore.open(db), Array.from({ length: 300 }, (_, i) => ({ key: utf8(`b${i}`), value: utf8('1') })))
    await assert.rejects(StateStore.open(db, { maxTreeNodes: 8 }), isCode('ERR_STATE_TOO_LARGE'))
  })
})

test('StateStore: a proof that a commit overtakes answers ERR_UNKNOWN_ROOT; damage is corruption, not a wrong answer', async () => {
  await withDb(async (open) => {
    const db = await open()
    const store = await StateStore.open(db)
    await commit(db, store, Array.from({ length: 50 }, (_, i) => ({ key: utf8(`k${i}`), value: utf8(`v${i}`) })))
    const { root } = await store.prepare([{ key: utf8('k1'), value: utf8('changed') }])
    const proof = store.prove(utf8('k2'))
    store.commitPrepared(root)
    await assert.rejects(proof, (err: Error & { code?: string }) => err.code === 'ERR_UNKNOWN_ROOT' && /ask again/.test(err.message))
    // A key index entry lost: the insert that needs that leaf fails loudly.
    const keys = binarySublevel(db, 'keys')
    for await (const [kh] of keys.iterator()) if (kh.length === 32) await keys.del(kh)
    let failed = 0
    for (let i = 0; i < 20 && failed === 0; i++) {
      await store.prepare([{ key: utf8(`new${i}`), value: utf8('x') }]).catch((err: Error & { code?: string }) => { assert.equal(err.code, 'ERR_CORRUPT'); failed++ })
    }
    assert.equal(failed, 1)
    // A damaged flat value: the rebuilt root differs (the node compares it with its head block's).
    await binarySublevel(db, 'state').put(utf8('k3'), utf8('tampered'))
    assert.notDeepEqual((await StateStore.open(db)).root(), store.root())
  })
})

test('StateStore: a leaf whose path starts with nibble 0 is found through the index (the index\'s own marker sorts there too)', async () => {
  await withDb(async (open) => {
    const db = await open()
    const store = await StateStore.open(db)
    // Keys whose hashes start with nibble 0: at depth 1 their leaves sit in the range the marker key falls into.
    const zero = Array.from({ length: 4000 }, (_, i) => utf8(`z${i}`)).filter(k => sha256(k)[0]! < 0x10).slice(0, 3)
    assert.equal(zero.length, 3)
    const other = Array.from({ length: 64 }, (_, i) => utf8(`o${i}`)).find(k => sha256(k)[0]! >= 0x10)!
    const model = new Map<string, Uint8Array>()
    for (const k of [zero[0]!, other]) {
      await commit(db, store, [{ key: k, value: utf8('v') }])
      model.set(toHex(k), utf8('v'))
      assert.deepEqual(store.root(), referenceRoot(model))
    }
    const reopened = await StateStore.open(db, { valueCacheSize: 2 })
    for (const k of zero.slice(1)) {
      await commit(db, reopened, [{ key: k, value: utf8('w') }])
      model.set(toHex(k), utf8('w'))
      assert.deepEqual(reopened.root(), referenceRoot(model))
    }
    await commit(db, reopened, [{ key: zero[2]!, value: null }, { key: zero[1]!, value: null }])
    model.delete(toHex(zero[2]!)); model.delete(toHex(zero[1]!))
    assert.deepEqual(reopened.root(), referenceRoot(model))
  })
})
