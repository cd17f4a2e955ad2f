import { test } from 'node:test'
import assert from 'node:assert/strict'
import { utf8 } from '../../src/codec/index.js'
import { binarySublevel } from '../../src/ledger/db.js'
import type { LevelDb, StateWrite } from '../../src/state/api.js'
import { decodeJournal, encodeJournal } from '../../src/state/journal.js'
import { verifyStateProof } from '../../src/state/proof.js'
import { StateStore } from '../../src/state/store.js'
import { Prng } from '../../src/sim/prng.js'
import { commit, withDb } from './helpers.js'

const SEED = Number(process.env.JOURNAL_TEST_SEED ?? 20261127)

function randomWrites (rnd: Prng, keys: number, count: number, tag: string): StateWrite[] {
  const out = new Map<number, StateWrite>()
  while (out.size < count) {
    const k = rnd.int(0, keys - 1)
    const del = rnd.float() < 0.15
    out.set(k, { key: utf8(`key/${k}`), value: del ? null : utf8(`${tag}-${k}-${'x'.repeat(rnd.int(0, 39))}`) })
  }
  return [...out.values()]
}

test(`journal records: round trip, and every damaged record is ERR_CORRUPT naming its version (seed ${SEED})`, () => {
  const rnd = new Prng(SEED)
  for (let round = 0; round < 50; round++) {
    const root = Uint8Array.from({ length: 32 }, () => rnd.int(0, 255))
    const keys = randomWrites(rnd, 500, rnd.int(0, 29), `r${round}`).map(w => w.key)
    keys.push(new Uint8Array(0), new Uint8Array(300).fill(round))
    const bytes = encodeJournal(root, keys)
    const back = decodeJournal(bytes, round)
    assert.deepEqual(back.root, root)
    assert.deepEqual(back.keys, keys)
    // Any truncation, and any extra byte, is refused.
    const cut = rnd.int(0, bytes.length - 1)
    assert.throws(() => decodeJournal(bytes.subarray(0, cut), round), { code: 'ERR_CORRUPT', message: new RegExp(`version ${round} is malformed`) })
    assert.throws(() => decodeJournal(Uint8Array.of(...bytes, 0), round), { code: 'ERR_CORRUPT' })
  }
  assert.throws(() => encodeJournal(new Uint8Array(32), [new Uint8Array(70_000)]), RangeError)
})

/** Journal records and flushed tree nodes in the 'smt' sublevel. */
async function stored (db: LevelDb): Promise<{ journal: number[], nodes: number }> {
  const out = { journal: [] as number[], nodes: 0 }
  for await (const k of binarySublevel(db, 'smt').keys()) {
    if (k.length === 40) out.nodes++
    else if (k.length === 9 && k[0] === 0x4a) out.journal.push(Number(Buffer.from(k.subarray(1)).readBigUInt64BE()))
  }
  return out
}

test(`StateStore with flushes every 4 updates: same roots as writing every update, across restarts at any point (seed ${SEED})`, async () => {
  const rnd = new Prng(SEED + 1)
  await withDb(async (openLazy) => {
    await withDb(async (openEager) => {
      let lazyDb = await openLazy()
      let lazy = await StateStore.open(lazyDb, { flushEvery: 4 })
      const eagerDb = await openEager()
      const eager = await StateStore.open(eagerDb, { flushEvery: 1 })
      const roots: Uint8Array[] = []
      let restarts = 0
      let lostThrough = 0
      for (let u = 1; u <= 40; u++) {
        const writes = randomWrites(rnd, 300, 1 + rnd.int(0, 59), `u${u}`)
        const root = await commit(lazyDb, lazy, writes)
        assert.deepEqual(root, await commit(eagerDb, eager, writes), `update ${u}: same root`)
        roots.push(root)
        const onDisk = await stored(lazyDb)
        // The journal holds exactly the updates since the last flush (every 4th).
        const flushedAt = u - (u % 4)
        assert.deepEqual(onDisk.journal, Array.from({ length: u - flushedAt }, (_, i) => flushedAt + 1 + i), `update ${u}: journal`)
        // Flushed roots, and those of the updates since the flush before the last, are
        // readable; a restart forgets the unflushed roots before it.
        for (let v = Math.max(1, flushedAt - 6); v <= u; v++) {
          const key = utf8(`key/${rnd.int(0, 299)}`)
          if (v % 4 !== 0 && (v <= flushedAt - 4 || v <= lostThrough)) {
            await assert.rejects(lazy.prove(key, roots[v - 1]!), { code: 'ERR_UNKNOWN_ROOT' }, `update ${u}: root of version ${v} is forgotten`)
            continue
          }
          const p = await lazy.prove(key, roots[v - 1]!)
          assert.equal(verifyStateProof(roots[v - 1]!, p), true, `update ${u}: root of version ${v} is provable`)
          assert.deepEqual(p.value, await eager.getAt(roots[v - 1]!, key))
        }
        if (rnd.float() < 0.3) {
          // A crash after this update's batch: nothing else is written, and the reopened store
          // rebuilds the unflushed updates from the journal.
          restarts++
          lostThrough = u - 1
          lazyDb = await openLazy()
          lazy = await StateStore.open(lazyDb, { flushEvery: 4 })
          assert.deepEqual(lazy.root(), root, `update ${u}: root after a restart`)
          assert.equal(lazy.version, u)
          assert.equal(lazy.unflushedNodes > 0, u % 4 !== 0, `update ${u}: unflushed nodes rebuilt`)
        }
      }
      assert.ok(restarts >= 5, `${restarts} restarts`)
      // Fewer nodes stored than written by every update, before any pruning.
      const lazyNodes = (await stored(lazyDb)).nodes
      const eagerNodes = (await stored(eagerDb)).nodes
      assert.ok(lazyNodes < eagerNodes * 0.8, `${lazyNodes} nodes stored with flushes against ${eagerNodes}`)
    })
  })
})

test('StateStore: prune after flushes leaves exactly the current tree; recent roots older than the prune are refused, not corrupt', async () => {
  await withDb(async (open) => {
    const db = await open()
    const store = await StateStore.open(db, { flushEvery: 4 })
    const rnd = new Prng(SEED + 2)
    const roots: Uint8Array[] = []
    for (let u = 1; u <= 10; u++) {
      roots.push(await commit(db, store, randomWrites(rnd, 200, 30, `p${u}`)))
      while (await store.prune(0) > 0) { /* chunks */ }
    }
    // Version 9 is in memory, but prune(0) at version 10 may have deleted stored nodes it shares.
    await assert.rejects(store.prove(utf8('key/1'), roots[8]!), { code: 'ERR_UNKNOWN_ROOT' })
    const p = await store.prove(utf8('key/1'))
    assert.equal(verifyStateProof(store.root(), p), true)
    // A forced flush, then prune(0): storage holds the current tree and nothing else.
    const { root, ops } = await store.prepare([{ key: utf8('key/1'), value: utf8('last') }], { flush: true })
    await db.batch(ops)
    store.commitPrepared(root)
    while (await store.prune(0) > 0) { /* chunks */ }
    assert.deepEqual((await stored(db)).journal, [])
    const reopened = await StateStore.open(db, { flushEvery: 4, nodeCacheSize: 0 })
    assert.deepEqual(reopened.root(), root)
    for (let k = 0; k < 200; k += 7) {
      const q = await reopened.prove(utf8(`key/${k}`))
      assert.equal(verifyStateProof(root, q), true, `key/${k} provable from storage alone`)
    }
  })
})

test('StateStore: created nodes over maxUnflushedNodes force a flush before flushEvery', async () => {
  await withDb(async (open) => {
    const db = await open()
    const store = await StateStore.open(db, { flushEvery: 1000, maxUnflushedNodes: 500 })
    const rnd = new Prng(SEED + 3)
    let flushes = 0
    for (let u = 1; u <= 12; u++) {
      await commit(db, store, randomWrites(rnd, 2000, 100, `m${u}`))
      assert.ok(store.unflushedNodes < 500, `update ${u}: ${store.unflushedNodes} unflushed`)
      if ((await stored(db)).journal.length === 0) flushes++
    }
    assert.ok(flushes >= 2, `${flushes} flushes`)
  })
})

test('StateStore: a damaged journal stops the open with ERR_CORRUPT', async () => {
  await withDb(async (open) => {
    let db = await open()
    const store = await StateStore.open(db, { flushEvery: 8 })
    const rnd = new Prng(SEED + 4)
    for (let u = 1; u <= 3; u++) await commit(db, store, randomWrites(rnd, 100, 20, `d${u}`))
    const smt = binarySublevel(db, 'smt')
    const key = (v: number): Uint8Array => { const k = new Uint8Array(9); k[0] = 0x4a; Buffer.from(k.buffer).writeBigUInt64BE(BigInt(v), 1); return k }
    const third = await smt.get(key(3))
    assert.ok(third !== undefined)
    // A last record whose keys' values do not give the root it names.
    const wrongRoot = Uint8Array.from(third)
    wrongRoot[0]! ^= 1
    await smt.put(key(3), wrongRoot)
    db = await open()
    await assert.rejects(StateStore.open(db), { code: 'ERR_CORRUPT', message: /replaying versions 1\.\.3 gives root/ })
    await binarySublevel(db, 'smt').put(key(3), third)
    // The flat state a record names changed behind the store's back: the same check catches it.
    const named = decodeJournal(new Uint8Array(third), 3).keys[0]!
    await binarySublevel(db, 'state').put(named, utf8('tampered'))
    db = await open()
    await assert.rejects(StateStore.open(db), { code: 'ERR_CORRUPT', message: /replaying versions 1\.\.3 gives root/ })
    // A gap in the versions.
    await binarySublevel(db, 'smt').del(key(2))
    db = await open()
    await assert.rejects(StateStore.open(db), { code: 'ERR_CORRUPT', message: /expected the record of version 2, found version 3/ })
    // A malformed record.
    await binarySublevel(db, 'smt').put(key(2), Uint8Array.of(1, 2, 3))
    db = await open()
    await assert.rejects(StateStore.open(db), { code: 'ERR_CORRUPT', message: /version 2 is malformed/ })
  })
})
