// State-root cost per block versus state size. Not a test: run with
//   npx tsc -p . ; node dist/bench/state-root.js [sizes=10000,100000,1000000] [touched=1000] [blocks=10] [warm|cold]
// `cold` measures with a StateStore opened afresh after the build (the tree rebuilt, the value
// cache filled by open() as far as it goes), as a validator sees it after a restart.
// For each size it loads a LevelDB state of that many keys (StateStore.load, as a genesis is),
// then measures blocks that each touch `touched` keys (90% updates of existing keys, 10% new
// keys): the prefetch of their committed values (as a validator's execution does first), prepare()
// time (the new root + batch ops), the batch write, key-index ops, and the process's CPU per block
// over the whole loop (all threads; in brackets the part off the main thread: LevelDB's compaction
// and pool threads, GC helpers), and last the time a restart takes to rebuild the tree.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openLedgerDb } from '../src/ledger/db.js'
import type { StateWrite } from '../src/state/api.js'
import { StateStore } from '../src/state/store.js'
import { readFileSync } from 'node:fs'
import { clockTicks, parseStatCpuTicks } from './proc-stats.js'

const sizes = (process.argv[2] ?? '10000,100000,1000000').split(',').map(Number)
const touched = Number(process.argv[3] ?? 1000)
const blocks = Number(process.argv[4] ?? 10)
const cold = process.argv[5] === 'cold'
const BUILD_BATCH = 50_000

// Deterministic keys and values (xorshift32), so runs are comparable.
function rng (seed: number): () => number {
  let x = seed >>> 0 || 1
  return () => {
    x ^= x << 13; x >>>= 0
    x ^= x >>> 17
    x ^= x << 5; x >>>= 0
    return x
  }
}
function key (i: number): Uint8Array {
  return new TextEncoder().encode(`acct/${i.toString(16).padStart(40, '0')}`)
}
function value (r: () => number): Uint8Array {
  const v = new Uint8Array(9)
  new DataView(v.buffer).setUint32(0, r())
  return v
}

interface Row { size: number, buildS: number, prefetchMs: number, prepareMs: number, prepareCpuMs: number, writeMs: number, nodes: number, blockCpuMs: number, otherCpuMs: number, replay: string }

/** CPU ms of this process's main thread (Linux /proc; NaN elsewhere). */
function mainThreadCpuMs (): number {
  try {
    return parseStatCpuTicks(readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8')) * 1000 / clockTicks()
  } catch {
    return NaN
  }
}

async function run (size: number): Promise<Row> {
  const dir = await mkdtemp(join(tmpdir(), 'bft-state-bench-'))
  // The validators' LevelDB options (block cache and write buffer), not LevelDB's defaults.
  const db = await openLedgerDb(dir)
  try {
    const store = await StateStore.open(db)
    const r = rng(size)
    const t0 = performance.now()
    // As a genesis allocation is loaded: flat values and key index in batches, then the tree bottom-up.
    const all: StateWrite[] = []
    for (let i = 0; i < size; i++) all.push({ key: key(i), value: value(r) })
    await store.load(all, BUILD_BATCH)
    const buildS = (performance.now() - t0) / 1000
    const measured = cold ? await StateStore.open(db) : store
    let prefetchMs = 0; let prepareMs = 0; let prepareCpuMs = 0; let writeMs = 0; let nodes = 0
    let next = size
    const cpu0 = process.cpuUsage()
    const main0 = mainThreadCpuMs()
    for (let b = 0; b < blocks; b++) {
      const chosen = new Map<number, StateWrite>()
      while (chosen.size < touched) {
        const i = r() % 10 === 0 ? next++ : r() % size
        chosen.set(i, { key: key(i), value: value(r) })
      }
      // As a validator does: execution reads (prefetches) every touched key's committed value
      // first, so the tree update knows the old values and need not read their leaves.
      const t0 = performance.now()
      await measured.prefetch([...chosen.values()].map(w => w.key))
      const c1 = process.cpuUsage()
      const t1 = performance.now()
      prefetchMs += t1 - t0
      const { root, ops } = await measured.prepare([...chosen.values()])
      const t2 = performance.now()
      const c2 = process.cpuUsage(c1)
      prepareCpuMs += (c2.user + c2.system) / 1000
      await db.batch(ops)
      measured.commitPrepared(root)
      const t3 = performance.now()
      prepareMs += t2 - t1; writeMs += t3 - t2
      nodes += ops.length - touched
    }
    // All threads over the whole loop: LevelDB's compaction runs in the background and would
    // be missed by per-stage times.
    const cpu = process.cpuUsage(cpu0)
    const blockCpuMs = (cpu.user + cpu.system) / 1000 / blocks
    const otherCpuMs = blockCpuMs - (mainThreadCpuMs() - main0) / blocks
    // A restart: the tree is rebuilt from the flat state.
    const replayT = performance.now()
    const replayCpu = process.cpuUsage()
    const reopened = await StateStore.open(db)
    const used = process.cpuUsage(replayCpu)
    const replayCpuMs = (used.user + used.system) / 1000
    if (Buffer.compare(reopened.root(), measured.root()) !== 0) throw new Error('the rebuild gave another root')
    const replay = `${reopened.stats.nodes} nodes in ${(performance.now() - replayT).toFixed(0)} ms (CPU ${replayCpuMs.toFixed(0)} ms)`
    return { size, buildS, prefetchMs: prefetchMs / blocks, prepareMs: prepareMs / blocks, prepareCpuMs: prepareCpuMs / blocks, writeMs: writeMs / blocks, nodes: nodes / blocks, blockCpuMs, otherCpuMs, replay }
  } finally {
    if (process.env.STATE_ROOT_LEVELDB_STATS !== undefined) console.log(String((db as unknown as { getProperty: (p: string) => string }).getProperty('leveldb.stats')))
    await db.close()
    await rm(dir, { recursive: true, force: true })
  }
}

const rows: Row[] = []
for (const size of sizes) {
  const row = await run(size)
  rows.push(row)
  console.log(`size ${size}: built in ${row.buildS.toFixed(1)} s`)
}
console.log(`\nstate-root cost per block (${touched} touched keys/block, mean of ${blocks} blocks, ${cold ? 'cold value cache' : 'value cache warm from the build'}, tree in memory, node ${process.version})`)
// Wall time includes waiting for other processes on a shared machine; CPU time (user+system of
// this process, LevelDB threads included) is the steadier cost measure.
console.log('keys       | prefetch ms/block | prepare ms/block | prepare CPU ms | µs/touched key (wall) | µs/touched key (CPU) | batch write ms | index ops/block | build s | CPU ms/block (other threads) | restart rebuild')
for (const r of rows) {
  console.log(`${String(r.size).padEnd(10)} | ${r.prefetchMs.toFixed(1).padStart(17)} | ${r.prepareMs.toFixed(1).padStart(16)} | ${r.prepareCpuMs.toFixed(1).padStart(14)} | ${(r.prepareMs * 1000 / touched).toFixed(1).padStart(21)} | ${(r.prepareCpuMs * 1000 / touched).toFixed(1).padStart(20)} | ${r.writeMs.toFixed(1).padStart(14)} | ${r.nodes.toFixed(0).padStart(14)} | ${r.buildS.toFixed(1).padStart(7)} | ${r.blockCpuMs.toFixed(1)} (${r.otherCpuMs.toFixed(1)}) | ${r.replay}`)
}
if (rows.length > 1) {
  const first = rows[0]!; const last = rows[rows.length - 1]!
  console.log(`ratio ${last.size}/${first.size} keys (state ${(last.size / first.size).toFixed(0)}x larger): prepare wall ${(last.prepareMs / first.prepareMs).toFixed(2)}x, prepare CPU ${(last.prepareCpuMs / first.prepareCpuMs).toFixed(2)}x`)
}
console.log(`load average at end: ${(await import('node:os')).loadavg().map(x => x.toFixed(1)).join(' ')}`)
