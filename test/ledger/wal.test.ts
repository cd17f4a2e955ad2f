import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { utf8 } from '../../src/codec/index.js'
import { heightKey, openLedgerDb } from '../../src/ledger/db.js'
import { BlockStore } from '../../src/ledger/store.js'
import { tempDir } from './helpers.js'

test('wal: append in order, survive reopen, truncate below a seq', async () => {
  const dir = tempDir('wal')
  try {
    let db = await openLedgerDb(dir.path)
    let wal = await (await BlockStore.open(db)).openWal()
    await wal.append({ kind: 'prepare', bytes: utf8('p1') }, 1)
    await wal.appendMany([{ record: { kind: 'commit', bytes: utf8('c1') }, seq: 1 }, { record: { kind: 'prepare', bytes: utf8('p2') }, seq: 2 }])
    await Promise.all([wal.append({ kind: 'prepare', bytes: utf8('p3') }, 3), wal.append({ kind: 'viewchange', bytes: utf8('vc') }, 5)])
    await db.close()
    db = await openLedgerDb(dir.path)
    wal = await (await BlockStore.open(db)).openWal()
    assert.deepEqual((await wal.load()).map(r => [r.kind, r.seq]), [['prepare', 1], ['commit', 1], ['prepare', 2], ['prepare', 3], ['viewchange', 5]])
    assert.equal(await wal.truncate(3), 3)
    await wal.append({ kind: 'prepare', bytes: utf8('p4') }, 4)
    assert.deepEqual((await wal.load()).map(r => [r.kind, r.seq, Buffer.from(r.bytes).toString()]), [['prepare', 3, 'p3'], ['viewchange', 5, 'vc'], ['prepare', 4, 'p4']])
    await assert.rejects(wal.append({ kind: '', bytes: utf8('x') }, 1), { code: 'ERR_WAL_RECORD' })
    // A damaged record is a CorruptionError, not a crash or a silent skip.
    const store = await BlockStore.open(db)
    await store.walLevel.put(heightKey(100), utf8('garbage'))
    await assert.rejects(wal.load(), { code: 'ERR_CORRUPT' })
    await db.close()
  } finally {
    dir.cleanup()
  }
})

test('wal: truncations after the first use the kept index, and it follows appends, concurrent ones too', async () => {
  const dir = tempDir('wal-index')
  try {
    let db = await openLedgerDb(dir.path)
    let wal = await (await BlockStore.open(db)).openWal()
    for (let seq = 1; seq <= 6; seq++) await wal.append({ kind: 'prepare', bytes: utf8(`p${seq}`) }, seq)
    assert.equal(await wal.truncate(3), 2) // builds the index from the stored records
    // A record for a low seq appended after the index was built (a VIEW-CHANGE tag can be lower
    // than records before it) must still be found by a later truncate.
    await wal.append({ kind: 'viewchange', bytes: utf8('vc') }, 2)
    const [dropped] = await Promise.all([wal.truncate(5), wal.append({ kind: 'prepare', bytes: utf8('p7') }, 7)])
    assert.equal(dropped, 3) // p3, p4 and the viewchange at 2
    assert.deepEqual((await wal.load()).map(r => [r.kind, r.seq]), [['prepare', 5], ['prepare', 6], ['prepare', 7]])
    await db.close()
    db = await openLedgerDb(dir.path)
    wal = await (await BlockStore.open(db)).openWal()
    assert.deepEqual((await wal.load()).map(r => [r.kind, r.seq]), [['prepare', 5], ['prepare', 6], ['prepare', 7]])
    assert.equal(await wal.truncate(7), 2)
    assert.deepEqual((await wal.load()).map(r => r.seq), [7])
    // A damaged record met while building the index is a CorruptionError naming it.
    await db.close()
    db = await openLedgerDb(dir.path)
    const store = await BlockStore.open(db)
    wal = await store.openWal()
    await store.walLevel.put(heightKey(100), utf8('garbage'))
    await assert.rejects(wal.truncate(8), { code: 'ERR_CORRUPT', message: /wal record 100/ })
    await db.close()
  } finally {
    dir.cleanup()
  }
})
