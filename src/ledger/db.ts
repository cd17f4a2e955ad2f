import { Level } from 'level'
import type { AbstractBatchOptions } from 'abstract-level'
import type { BatchOp, LevelDb, Sublevel } from '../state/api.js'
import { readU64, u64Bytes } from '../codec/index.js'
import { arenaBytes, arenaCopy } from '../state/arena.js'

export interface LedgerDbOptions {
  /** LevelDB block cache (default 256 MiB; LevelDB's own default is 8 MiB). */
  cacheBytes?: number
  /** LevelDB write buffer, the memtable size before a flush to level 0 (default 64 MiB; LevelDB's is 4 MiB). */
  writeBufferBytes?: number
  /** Snappy-compress table blocks (default false; LevelDB's default is true). */
  compression?: boolean
  /** Size at which compactions start a new table file (default 8 MiB; LevelDB's is 2 MiB). */
  maxFileBytes?: number
}

export const DEFAULT_CACHE_BYTES = 256 * 1024 * 1024
export const DEFAULT_WRITE_BUFFER_BYTES = 64 * 1024 * 1024
export const DEFAULT_MAX_FILE_BYTES = 8 * 1024 * 1024

/**
 * Opens the node's single LevelDB with binary keys and values. ledger/ and state/ both take
 * sublevels of this one db, so one `db.batch` can commit a block and its state atomically.
 *
 * Why larger cache and write buffer than LevelDB's defaults: state tree nodes are keyed by their
 * hash, so every block writes keys spread uniformly over the whole key space, the worst case for
 * an LSM tree: with a 4 MiB memtable each level-0 file overlapped all of level 1 and compaction
 * ran every few blocks, and with an 8 MiB cache nearly every cold tree node was a file read.
 * Measured at 1M accounts (bench --accounts 1000000, closed loop, 60 s after a 5 s warm-up
 * load, 4 validators on 2 cores, 256 MiB cache): 302.9 tx/s with a 4 MiB write buffer, 499.2
 * with 64 MiB. (30 s runs from cold flatter the big buffer: a 64 MiB memtable never flushes in
 * them.) Both are ceilings: the cache fills only with what is read, the memtable with what is
 * written.
 *
 * Why no compression by default: nearly every byte stored is a hash, a signature or a public
 * key, which Snappy cannot shrink, yet LevelDB compresses every block it writes (memtable
 * flushes and every compaction rewrite) and decompresses every block it reads. A 1M-key state
 * took 618 MB compressed and 630 MB uncompressed, and committing 1,024-key blocks on it cost
 * 97.3 and 101.5 ms of process CPU per block without compression against 102.4-110.4 with it
 * (bench/state-root.ts, docs/performance.md, twenty-first session). Blocks written compressed
 * stay readable either way.
 *
 * Why 8 MiB table files: at 1M accounts the state is ~600 MB of LevelDB tables, which with 2 MiB
 * files is ~300 files in the last level alone, and every compaction opens, merges and closes
 * several. Committing 1,024-key blocks on a 1M-key state (with pruning) cost 85.4 and 86.6 ms of
 * process CPU per block with 8 MiB files against 90.4 and 94.6 with 2 MiB (bench/state-root.ts,
 * twenty-first session). (A 256 MiB memtable read better still, 79.8 and 82.4, but only because
 * it kept most of the run's writes in level 0, uncompacted: a short run's artefact.)
 */
export async function openLedgerDb (path: string, opts: LedgerDbOptions = {}): Promise<LevelDb> {
  const db = new Level<Uint8Array, Uint8Array>(path, {
    keyEncoding: 'view',
    valueEncoding: 'view',
    cacheSize: opts.cacheBytes ?? DEFAULT_CACHE_BYTES,
    writeBufferSize: opts.writeBufferBytes ?? DEFAULT_WRITE_BUFFER_BYTES,
    compression: opts.compression ?? false,
    maxFileSize: opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES
  })
  await db.open()
  return db as unknown as LevelDb
}

/**
 * Compacts the whole database when the backend can (classic-level; memory-level cannot) and
 * returns whether it did. Every key sits under a sublevel prefix ('!name!', 0x21...), so
 * [0x00, 0xff] spans them all.
 *
 * Why after writing a genesis state: the allocation lands as a few huge batches, so the fresh
 * database is all level-0 and level-1 files that LevelDB then compacts in the background while
 * the node is ordering blocks. At 1M accounts that was 142 compactions writing 1.8 GB on each
 * validator during its first ~100 s of load; compacting once up front takes ~6 s.
 */
export async function compactAll (db: LevelDb): Promise<boolean> {
  const compact = (db as { compactRange?: (start: Uint8Array, end: Uint8Array) => Promise<void> }).compactRange
  if (typeof compact !== 'function') return false
  await compact.call(db, Uint8Array.of(0x00), Uint8Array.of(0xff))
  return true
}

export function binarySublevel (db: LevelDb, name: string): Sublevel {
  return db.sublevel<Uint8Array, Uint8Array>(name, { keyEncoding: 'view', valueEncoding: 'view' }) as unknown as Sublevel
}

/** 8-byte big-endian, so LevelDB's byte order is numeric order. */
export function heightKey (height: number): Uint8Array {
  return u64Bytes(height)
}

export function heightFromKey (key: Uint8Array): number {
  if (key.length !== 8) return -1
  return readU64(key, 0)
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
  const prefixes = new Map<Sublevel, Uint8Array>()
  for (const op of ops) {
    const sub = op.sublevel as Sublevel | undefined | null
    let key = op.key
    if (sub !== undefined && sub !== null) {
      let prefix = prefixes.get(sub)
      if (prefix === undefined) {
        // abstract-level answers an empty key with the prefix itself, without a copy.
        prefix = sub.prefixKey(new Uint8Array(0), 'view') as Uint8Array
        prefixes.set(sub, prefix)
      }
      // Prefixed in the arena: a fresh array this small would live on the JS heap, and the
      // binding moves each such array into a backing store of its own when it reads it.
      key = arenaBytes(prefix.length + op.key.length)
      key.set(prefix, 0)
      key.set(op.key, prefix.length)
    }
    // Small values too (account records, tx locations): the same move, for a copy of <= 64 bytes.
    if (op.type === 'put') batch.put(key, op.value.byteLength <= 64 ? arenaCopy(op.value) : op.value)
    else batch.del(key)
  }
  await batch.write(writeOptions(sync))
}
