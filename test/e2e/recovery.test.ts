import '../../src/polyfill.js'
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { ProcNet, basePortFor, sleep } from './harness.js'
import { openLedgerDb, binarySublevel, heightKey } from '../../src/ledger/db.js'
import { Prng } from '../../src/sim/prng.js'
import { loadTrustedValidators } from '../../src/client/trust.js'
import { verifyStateWithProof } from '../../src/client/lightclient.js'
import type { StateView } from '../../src/node/service.js'

// Crash recovery of real validator processes: repeated SIGKILLs under load lose no
// acknowledged transaction and the node converges; a flipped byte on disk is refused at start.
const SEED = Number(process.env.TEST_SEED ?? Date.now() % 1_000_000)
let net: ProcNet

before(async () => {
  console.log(`recovery e2e seed ${SEED} (replay: TEST_SEED=${SEED})`)
  net = await ProcNet.create({ validators: 4, basePort: basePortFor('e2e-recovery') })
  await net.startAll()
})

after(async () => { await net?.close() })

function parseMetrics (text: string): Map<string, number> {
  const m = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)$/.exec(line)
    assert.ok(match !== null, `not Prometheus text: ${line}`)
    m.set(match[1]! + (match[2] ?? ''), Number(match[3]))
  }
  return m
}

function committed (m: Map<string, number>): number {
  let n = 0
  for (const [k, v] of m) if (k.startsWith('bft_committed_txs_total')) n += v
  return n
}

test('a validator SIGKILLed at 8 random points under load loses nothing acknowledged and converges', async () => {
  const rnd = new Prng(SEED)
  const victim = 3
  const bob = await net.key('bob')
  const before = parseMetrics(await (await fetch(`${net.url(0)}/metrics`)).text())
  const acked: string[] = []
  let stop = false
  const loader = (async () => {
    for (let k = 0; k < 2000 && !stop; k++) {
      const tx = await net.transferTx('alice', bob.address, 1)
      try {
        const r = await net.submit(k % 3, tx, true, 15_000)
        if (r.body.status === 'committed' && r.body.txId !== undefined) acked.push(r.body.txId)
      } catch { /* timed out: not acknowledged */ }
    }
  })()
  for (let round = 0; round < 8; round++) {
    await sleep(300 + Math.floor(rnd.float() * 1200))
    await net.kill(victim, 'SIGKILL')
    await sleep(100 + Math.floor(rnd.float() * 400))
    net.start(victim)
    await net.waitUp(victim)
  }
  stop = true
  await loader
  assert.ok(acked.length > 0, 'some transactions were acknowledged as committed')
  const top = Math.max(...await net.heights([0, 1, 2]))
  await net.converge([0, 1, 2, 3], top, 60_000)
  for (const id of acked) assert.ok(await net.txOn(victim, id) !== null, `acknowledged tx ${id} is on the restarted validator`)
  const after = parseMetrics(await (await fetch(`${net.url(0)}/metrics`)).text())
  assert.ok(committed(after) >= committed(before) + acked.length, '/metrics committed-tx counter moved with the commits')
  assert.ok((after.get('bft_blocks_total') ?? 0) > (before.get('bft_blocks_total') ?? 0))
  // Every block this process committed is timed in each pipeline stage.
  for (const stage of ['execute', 'state', 'write']) {
    assert.equal(after.get(`bft_block_stage_seconds_count{stage="${stage}"}`), after.get('bft_blocks_total'), `stage ${stage} timed once per block`)
  }
  // Every node, the restarted one (whose tree was rebuilt at each start) included, answers a
  // proof that a light client verifies against genesis.
  const trust = await loadTrustedValidators(net.net.genesisPath)
  for (let i = 0; i < net.n; i++) {
    const r = await fetch(`${net.url(i)}/state/acct/${bob.address}?prove=true`)
    assert.equal(r.status, 200, `node ${i} answers a proof`)
    const v = verifyStateWithProof(trust, 'acct', bob.address, await r.json() as StateView)
    assert.ok(v.value !== null, `node ${i}: bob's account is proven`)
  }
})

/** Starts a validator expected to refuse to start; its exit code. */
async function startUntilExit (victim: number): Promise<number | null> {
  net.start(victim)
  const child = net.procs[victim]!
  const code = await new Promise<number | null>(res => child.once('exit', c => res(c)))
  net.procs[victim] = null
  return code
}

test('a byte flipped in a stored block stops the node at start with a message naming the height', async () => {
  const victim = 2
  const h = (await net.status(victim)).height
  assert.ok(h >= 2)
  await net.kill(victim, 'SIGTERM')
  const target = Math.max(1, h - 1)
  const db = await openLedgerDb(join(net.net.homes[victim]!, 'data', 'ledger'))
  const blocks = binarySublevel(db, 'blocks')
  const raw = await blocks.get(heightKey(target))
  assert.ok(raw !== undefined)
  const bad = Uint8Array.from(raw)
  bad[Math.floor(bad.length / 2)]! ^= 0x01
  await blocks.put(heightKey(target), bad)
  await db.close()
  assert.notEqual(await startUntilExit(victim), 0, 'the node refuses to start on a corrupted log')
  assert.match(net.tail(victim, 10), new RegExp(`block ${target}\\b`), 'the error names the corrupted height')
})

test('a damaged state value stops the node at start: the rebuilt root is not its head block\'s', async () => {
  const victim = 1
  const bob = await net.key('bob')
  await net.kill(victim, 'SIGTERM')
  const db = await openLedgerDb(join(net.net.homes[victim]!, 'data', 'ledger'))
  const state = binarySublevel(db, 'state')
  const key = new TextEncoder().encode(`acct/${bob.address}`)
  const value = await state.get(key)
  assert.ok(value !== undefined, 'bob has an account on disk')
  const bad = Uint8Array.from(value)
  bad[bad.length - 1]! ^= 0x01
  await state.put(key, bad)
  await db.close()
  assert.notEqual(await startUntilExit(victim), 0, 'the node refuses to start on a damaged state')
  assert.match(net.tail(victim, 10), /block \d+: state store root [0-9a-f]+ is not the stored stateRoot [0-9a-f]+ of the head block: the state database is damaged/)
})

test('a layout-6 data directory is upgraded at start; an older layout is refused with a clear message', async () => {
  const victim = 3
  await net.kill(victim, 'SIGTERM')
  const marker = new TextEncoder().encode('genesis-state')
  const path = join(net.net.homes[victim]!, 'data', 'ledger')
  let db = await openLedgerDb(path)
  let meta = binarySublevel(db, 'meta')
  assert.deepEqual([...(await meta.get(marker)) ?? []], [7], 'this build writes layout 7')
  // What layout 6 left: its marker, a stored tree ('smt') and no key index.
  await meta.put(marker, Uint8Array.of(6))
  await binarySublevel(db, 'smt').put(new TextEncoder().encode('root'), new Uint8Array(48))
  await binarySublevel(db, 'keys').clear()
  await db.close()
  net.start(victim)
  await net.waitUp(victim)
  // Validators 1 and 2 were left stopped by the tests before: the chain stands still, and the
  // upgraded validator must come back at the height validator 0 has.
  const [top] = await net.heights([0])
  await net.converge([0, 3], top!, 60_000)
  // (No proof: with the chain standing still no block gets a certificate after the restart.)
  const r = await fetch(`${net.url(victim)}/state/acct/${(await net.key('bob')).address}`)
  assert.equal(r.status, 200, 'the upgraded validator answers a state query')
  assert.notEqual((await r.json() as StateView).value, null, 'bob\'s account is there')
  await net.kill(victim, 'SIGTERM')
  db = await openLedgerDb(path)
  meta = binarySublevel(db, 'meta')
  assert.deepEqual([...(await meta.get(marker)) ?? []], [7], 're-marked 7')
  for await (const _ of binarySublevel(db, 'smt').keys()) assert.fail('the stored tree of layout 6 was deleted')
  // What layout 3 left: its marker, and a root pointer of the bare 32-byte hash.
  await meta.put(marker, Uint8Array.of(3))
  await binarySublevel(db, 'smt').put(new TextEncoder().encode('root'), new Uint8Array(32).fill(1))
  await db.close()
  assert.notEqual(await startUntilExit(victim), 0, 'the node refuses to start on another state layout')
  assert.match(net.tail(victim, 10), /holds state layout 3, this build reads layout 7/)
})
