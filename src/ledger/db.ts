import { Level } from 'level'
import type { AbstractBatchOptions } from 'abstract-level'
import type { LevelDb, Sublevel } from '../state/api.js'

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
