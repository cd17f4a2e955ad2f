import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { toHex } from '../../src/codec/index.js'
import { StateStore } from '../../src/state/store.js'
import { CorruptionError } from '../../src/errors.js'
import { binarySublevel, heightKey, openLedgerDb } from '../../src/ledger/db.js'
import { verifyStoredChain } from '../../src/ledger/recovery.js'
import { BlockStore } from '../../src/ledger/store.js'
import { decodeTx } from '../../src/state/tx.js'
import { makeGenesis, openChain, rng, tempDir, testSeed } from './helpers.js'

const CHILD = fileURLToPath(new URL('./fixtures/crash-child.js', import.meta.url))

interface Round { head: number, writes: number, acks: number }

/** Runs the child until the kill plan fires; returns what it printed. */
async function runChild (dir: string, seed: number, plan: { afterWrites: number } | { afterMs: number }, acked: Map<number, string>): Promise<Round> {
  const child = spawn(process.execPath, [CHILD, dir, String(seed)], { stdio: ['ignore', 'pipe', 'inherit'] })
  const exited = new Promise<NodeJS.Signals | null>(resolve => child.once('exit', (_code, signal) => resolve(signal)))
  let writes = 0; let acks = 0; let head = -1
  const kill = (): void => { child.kill('SIGKILL') }
  // A child that never reaches its kill point must not hang the suite.
  const guard = setTimeout(kill, 20_000)
  for await (const line of createInterface({ input: child.stdout })) {
    const [what, h, hash] = line.split(' ')
    if (what === 'ready') {
      head = Number(h)
    } else if (what === 'writing') {
      writes++
      // Timed kills count from the first write, so they land among writes, not in start-up.
      if ('afterMs' in plan && writes === 1) setTimeout(kill, plan.afterMs)
      if ('afterWrites' in plan && writes === plan.afterWrites) kill()
    } else if (what === 'ack') {
      acks++
      acked.set(Number(h), hash!)
    }
  }
  const signal = await exited
  clearTimeout(guard)
  assert.equal(signal, 'SIGKILL', 'the child died on its own (see its stderr above)')
  return { head, writes, acks }
}

test('SIGKILL at random points (also inside the block write) loses no acknowledged block and leaves no partial one', { timeout: 60_000 }, async () => {
  const seed = testSeed()
  console.log(`seed=${seed} (replay with TEST_SEED=${seed})`)
  const rand = rng(seed)
  const g = makeGenesis(4, 6)
  const dir = tempDir('crash')
  const acked = new Map<number, string>()
  const ROUNDS = 20
  let killedWithUnackedWrite = 0
  try {
    for (let round = 0; round < ROUNDS; round++) {
      // Even rounds kill the moment the child announces a block write (so inside commitBlock);
      // odd ones a random 0-60 ms after its first write.
      const plan = round % 2 === 0 ? { afterWrites: 1 + Math.floor(rand() * 6) } : { afterMs: Math.floor(rand() * 60) }
      const r = await runChild(dir.path, seed + round, plan, acked)
      const db = await openLedgerDb(dir.path)
      try {
        const store = await BlockStore.open(db)
        const state = await StateStore.open(db)
        const v = await verifyStoredChain(store, g, { txId: b => decodeTx(b).id, committedStateRoot: state.root() })
        const maxAcked = Math.max(0, ...acked.keys())
        console.log(`round ${round}: kill ${JSON.stringify(plan)} -> started at ${r.head}, ${r.writes} writes, ${r.acks} acks, stored head ${v.height}`)
        assert.ok(v.height >= maxAcked, `acknowledged block ${maxAcked} lost (head ${v.height})`)
        assert.ok(v.height <= maxAcked + 1, `head ${v.height} beyond the one write in flight after ${maxAcked}`)
        if (v.height === maxAcked + 1) killedWithUnackedWrite++
        for (const [h, hash] of acked) {
          const b = await store.getBlock(h)
          assert.equal(b === null ? null : toHex(b.hash), hash, `block ${h} differs from what was acknowledged`)
        }
        // committedStateRoot above: the state written with the head block is there (same batch), and nothing newer.
        // A block written but not acknowledged is kept: acknowledge it now so later rounds check it.
        if (v.height === maxAcked + 1 && v.height > 0) acked.set(v.height, toHex(v.tip.hash))
      } finally {
        await db.close()
      }
    }
    assert.ok(Math.max(...acked.keys()) >= ROUNDS / 2, 'the child made too little progress to test anything')
    console.log(`${ROUNDS} kills, ${killedWithUnackedWrite} landed after a write reached the db but before its ack, ${acked.size} blocks verified`)
  } finally {
    dir.cleanup()
  }
})

test('one corrupted byte in a stored block is reported with its height at start', async () => {
  const seed = testSeed()
  console.log(`seed=${seed} (replay with TEST_SEED=${seed})`)
  const rand = rng(seed)
  const g = makeGenesis(4, 4)
  const dir = tempDir('corrupt')
  try {
    const { db, store, driver } = await openChain(dir.path, g, seed, 4)
    for (let i = 0; i < 20; i++) await driver.commit(await driver.next(1 + (i % 3)))
    assert.equal((await verifyStoredChain(store, g)).height, 20)
    const blocks = binarySublevel(db, 'blocks')
    for (let trial = 0; trial < 8; trial++) {
      const h = 1 + Math.floor(rand() * 20)
      const raw = await blocks.get(heightKey(h))
      assert.ok(raw !== undefined)
      const bad = Uint8Array.from(raw)
      const pos = Math.floor(rand() * bad.length)
      bad[pos] = bad[pos]! ^ (1 + Math.floor(rand() * 255))
      await blocks.put(heightKey(h), bad)
      const reopened = await BlockStore.open(db)
      const err = await verifyStoredChain(reopened, g).then(() => null, (e: unknown) => e)
      assert.ok(err instanceof CorruptionError, `byte ${pos} of block ${h} flipped: not detected (${String(err)})`)
      assert.match(err.message, new RegExp(`^block ${h}: `), `byte ${pos} of block ${h}: ${err.message}`)
      console.log(`trial ${trial}: byte ${pos} of block ${h} flipped -> ${err.message}`)
      await blocks.put(heightKey(h), raw)
    }
    assert.equal((await verifyStoredChain(await BlockStore.open(db), g)).height, 20)
    await db.close()
  } finally {
    dir.cleanup()
  }
})

test('a partial block (any one of its writes missing) is reported with its height', async () => {
  const g = makeGenesis(4, 4)
  const dir = tempDir('partial')
  try {
    const { db, store, driver } = await openChain(dir.path, g, 7, 4)
    for (let i = 0; i < 6; i++) await driver.commit(await driver.next(2))
    const b6 = (await store.getBlock(6))!
    // Cumulative damage, each step found at the height it hits first.
    const cases: Array<[string, () => Promise<void>, RegExp]> = [
      ['receipts', async () => { await store.receipts.del(heightKey(6)) }, /^block 6: receipts missing/],
      ['hash index', async () => { await store.blockHashes.del(b6.hash) }, /^block 6: hash index/],
      ['block under head', async () => { await store.blocks.del(heightKey(6)) }, /^block 6: head pointer says height 6/],
      ['gap', async () => { await store.blocks.del(heightKey(3)) }, /^block 3: missing/]
    ]
    for (const [what, damage, pattern] of cases) {
      await damage()
      const err = await verifyStoredChain(await BlockStore.open(db), g).then(() => null, (e: unknown) => e)
      assert.ok(err instanceof CorruptionError, `${what}: not detected`)
      assert.match(err.message, pattern, what)
    }
    await db.close()
  } finally {
    dir.cleanup()
  }
})
