import { Level } from 'level'
import type { AbstractBatchOptions } from 'abstract-level'
import type { BatchOp, LevelDb, Sublevel } from '../state/api.js'

/**
 * Opens the node's single LevelDB with binary keys and values. ledger/ and state/ both take
 * sublevels of this one db, so one `db.batch` can commit a block and its state atomically.
 */
export async function openLedgerDb (path: string): Promise<LevelDb> {
  const db = new Level<Uint8Array, Uint8Array>(path, { keyEncoding: 'view', valueEncoding: 'view' })
  await db.open()
  return db as unknown as LevelDb
}

export function binarySublevel (db: LevelDb, name: string): Sublevel {
  return db.sublevel<Uint8Array, Uint8Array>(name, { keyEncoding: 'view', valueEncoding: 'view' }) as unknown as Sublevel
}

/** 8-byte big-endian, so LevelDB's byte order is numeric order. */
export function heightKey (height: number): Uint8Array {
  const k = new Uint8Array(8)
  new DataView(k.buffer).setBigUint64(0, BigInt(height))
  return k
}

export function heightFromKey (key: Uint8Array): number {
  if (key.length !== 8) return -1
  return Number(new DataView(key.buffer, key.byteOffset, 8).getBigUint64(0))
}

/** classic-level honours `sync` (fsync before resolving); the abstract types do not list it. */
export function writeOptions (sync: boolean): AbstractBatchOptions<Uint8Array, Uint8Array> {
  return { sync } as unknown as AbstractBatchOptions<Uint8Array, Uint8Array>
}

/**
 * Writes `ops` as ONE atomic batch through a chained batch on the root db, with the sublevel
 * prefixes applied here. Same result as `db.batch(ops)`, but abstract-level's array form copies,
 * re-resolves encodings and re-prefixes every operation in JS before the native call: a block's
 * ~6,000 operations (mostly Merkle nodes) took ~50 ms of event-loop time that way and ~4 ms
 * chained (measured on this machine), and it was the largest frame after signature checks.
 */
export async function writeBatch (db: LevelDb, ops: BatchOp[], sync: boolean): Promise<void> {
  // Global prefixes are relative to the root; on a sublevel let abstract-level do the work.
  if ((db as { prefix?: string }).prefix) { await db.batch(ops, writeOptions(sync)); return }
  const batch = db.batch()
  for (const op of ops) {
    const sub = op.sublevel as Sublevel | undefined | null
    const key = sub === undefined || sub === null ? op.key : sub.prefixKey(op.key, 'view') as Uint8Array
    if (op.type === 'put') batch.put(key, op.value)
    else batch.del(key)
  }
  await batch.write(writeOptions(sync))
}
