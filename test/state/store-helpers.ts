import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Level } from 'level'
import type { LevelDb, StateWrite } from '../../src/state/api.js'
import { EMPTY, leafHash, nodeHash, sha256 } from '../../src/state/merkle.js'
import type { StateStore } from '../../src/state/store.js'

/** Runs `fn` with a fresh LevelDB directory; `open()` (re)opens it, closing the previous handle. */
export async function withDb (fn: (open: () => Promise<LevelDb>) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'bft-state-'))
  let db: Level<Uint8Array, Uint8Array> | undefined
  try {
    await fn(async () => {
      if (db !== undefined) await db.close()
      db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' })
      await db.open()
      return db as unknown as LevelDb
    })
  } finally {
    if (db !== undefined) await db.close()
    await rm(dir, { recursive: true, force: true })
  }
}

export async function commit (db: LevelDb, store: StateStore, writes: StateWrite[]): Promise<Uint8Array> {
  const { root, ops } = await store.prepare(writes)
  await db.batch(ops)
  store.commitPrepared(root)
  return root
}

/** Independent reference: the canonical compact tree's root straight from the key set (hex key -> value). */
export function referenceRoot (entries: Map<string, Uint8Array>): Uint8Array {
  const items = [...entries.entries()].map(([k, v]) => ({ kh: sha256(Buffer.from(k, 'hex')), vh: sha256(v) }))
  const nibble = (h: Uint8Array, d: number): number => (d % 2 === 0 ? h[d >> 1]! >> 4 : h[d >> 1]! & 15)
  // Two or more leaves below a node make it internal; one leaf is the subtree itself.
  const rec = (xs: typeof items, d: number): Uint8Array => {
    if (xs.length === 0) return EMPTY
    if (xs.length === 1) return leafHash(xs[0]!.kh, xs[0]!.vh)
    return nodeHash(Array.from({ length: 16 }, (_, nib) => rec(xs.filter(x => nibble(x.kh, d) === nib), d + 1)))
  }
  return rec(items, 0)
}
