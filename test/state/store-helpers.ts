import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Level } from 'level'
import { readU64, utf8 } from '../../src/codec/index.js'
import { binarySublevel } from '../../src/ledger/db.js'
import type { LevelDb, StateWrite } from '../../src/state/api.js'
import { childRef, decodeNode } from '../../src/state/merkle.js'
import { nodeStorageKey, type PrepareOptions, type StateStore } from '../../src/state/store.js'

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

export async function commit (db: LevelDb, store: StateStore, writes: StateWrite[], opts?: PrepareOptions): Promise<Uint8Array> {
  const { root, ops } = await store.prepare(writes, opts)
  await db.batch(ops)
  store.commitPrepared(root)
  return root
}

export async function smtKeys (db: LevelDb): Promise<{ nodes: Set<string>, roots: number, stale: number }> {
  const out = { nodes: new Set<string>(), roots: 0, stale: 0 }
  for await (const k of binarySublevel(db, 'smt').keys()) {
    if (k.length === 40) out.nodes.add(Buffer.from(k).toString('hex'))
    else if (k.length === 41) out.roots++
    else if (k.length === 9 && k[0] === 0x53) out.stale++
  }
  return out
}

/** Storage keys (hex) of every node of the tree at `root`, walked through proofs' loader. */
export async function treeNodeKeys (db: LevelDb, root: { hash: Uint8Array, version: number }): Promise<Set<string>> {
  const smt = binarySublevel(db, 'smt')
  const out = new Set<string>()
  const walk = async (hash: Uint8Array, version: number): Promise<void> => {
    if (hash.every(b => b === 0)) return
    const key = nodeStorageKey({ hash, version })
    out.add(Buffer.from(key).toString('hex'))
    const bytes = await smt.get(key)
    assert.ok(bytes !== undefined, `node v${version} ${Buffer.from(hash).toString('hex')} is stored`)
    const n = decodeNode(new Uint8Array(bytes))
    if (n?.kind === 'internal') for (let i = 0; i < 16; i++) { const c = childRef(n, i); await walk(c.hash, c.version) }
  }
  await walk(root.hash, root.version)
  return out
}

export async function rootRef (db: LevelDb): Promise<{ hash: Uint8Array, version: number }> {
  const v = await binarySublevel(db, 'smt').get(utf8('root'))
  assert.ok(v !== undefined)
  return { hash: v.slice(8, 40), version: readU64(v, 0) }
}
