import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { binarySublevel, compactAll, openLedgerDb, writeBatch } from '../../src/ledger/db.js'
import type { BatchOp } from '../../src/state/api.js'
import { rng, tempDir, testSeed } from './helpers.js'

test('compactAll leaves no level-0 file and loses no key', async () => {
  const seed = testSeed()
  console.log(`seed ${seed} (TEST_SEED=${seed} replays)`)
  const r = rng(seed)
  const dir = tempDir('compact')
  // A 1 MiB write buffer and 4 batches of 1.3 MB of random keys: 3 memtable flushes whose key
  // ranges overlap, fewer than the 4 level-0 files at which LevelDB compacts on its own.
  const db = await openLedgerDb(dir.path, { writeBufferBytes: 1024 * 1024 })
  try {
    const sub = binarySublevel(db, 'smt')
    const keys: Uint8Array[] = []
    for (let b = 0; b < 4; b++) {
      const ops: BatchOp[] = []
      for (let i = 0; i < 2500; i++) {
        const key = Uint8Array.from({ length: 32 }, () => r() & 0xff)
        keys.push(key)
        ops.push({ type: 'put', sublevel: sub, key, value: new Uint8Array(512).fill(b) })
      }
      await writeBatch(db, ops, false)
    }
    const level0 = (): number => Number((db as unknown as { getProperty: (p: string) => string }).getProperty('leveldb.num-files-at-level0'))
    // Flushes run on LevelDB's background thread: wait (bounded) for one to land in level 0.
    for (let waited = 0; level0() === 0 && waited < 5000; waited += 20) await new Promise(resolve => setTimeout(resolve, 20))
    assert.ok(level0() > 0, `expected level-0 files before compacting, got ${level0()}`)
    assert.equal(await compactAll(db), true)
    assert.equal(level0(), 0)
    const got = await sub.getMany(keys)
    assert.equal(got.filter(v => v === undefined).length, 0)
  } finally {
    await db.close()
    dir.cleanup()
  }
})

test('compactAll reports false on a backend without compactRange', async () => {
  const fake = {} as unknown as Parameters<typeof compactAll>[0]
  assert.equal(await compactAll(fake), false)
})
