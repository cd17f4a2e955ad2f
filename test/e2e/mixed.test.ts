import '../../src/polyfill.js'
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { ProcNet, basePortFor, forgeSignature, torsionSignature } from './harness.js'
import { findJemalloc } from '../../src/node/allocator.js'
import { batchVerifier, nodeVerifier } from '../../src/crypto/index.js'
import { decodeTx } from '../../src/state/index.js'
import { toHex } from '../../src/codec/index.js'

// Validators may differ in how they verify signatures and in their malloc (docs/operations.md):
// here two check signatures with OpenSSL (the fallback, BFT_LEDGER_VERIFIER=node-crypto) and
// two with libsodium, two of them (one of each) without the native batch verifier
// (BFT_LEDGER_NATIVE=0), and one runs on jemalloc where it is installed. They must agree on
// every verdict and every block, also on a signature only the cofactored equation accepts.
let net: ProcNet
const jemalloc = findJemalloc()
// Where the sodium-native addon does not load, all four use OpenSSL (nothing mixed to test then).
const sodium = nodeVerifier() === 'libsodium' ? 'libsodium' : 'node:crypto'
const VERIFIER = ['node:crypto', 'node:crypto', sodium, sodium]
// Where npm install built no batch verifier, none has it.
const BATCH = [true, false, false, true].map(on => on ? batchVerifier() ?? 'none' : 'none')

before(async () => {
  net = await ProcNet.create({
    validators: 4,
    basePort: basePortFor('e2e-mixed'),
    env: i => ({
      BFT_LEDGER_VERIFIER: VERIFIER[i] === 'libsodium' ? 'libsodium' : 'node-crypto',
      BFT_LEDGER_NATIVE: BATCH[i] === 'none' ? '0' : '1',
      LD_PRELOAD: i === 3 && jemalloc !== null ? jemalloc : ''
    })
  })
  await net.startAll()
})

after(async () => { await net?.close() })

/** The `validator started` log record of validator i. */
function started (i: number): { verifier: string, batchVerifier: string, malloc: string } {
  const line = readFileSync(net.log(i), 'utf8').split('\n').find(l => l.includes('"validator started"'))
  assert.ok(line !== undefined, `validator ${i} logged no start line:\n${net.tail(i)}`)
  return JSON.parse(line) as { verifier: string, batchVerifier: string, malloc: string }
}

test('validators on OpenSSL and on libsodium, on glibc and jemalloc, agree on every signature and block', async () => {
  for (let i = 0; i < 4; i++) {
    const s = started(i)
    assert.equal(s.verifier, VERIFIER[i], `validator ${i}`)
    assert.equal(s.batchVerifier, BATCH[i], `validator ${i}`)
    assert.equal(s.malloc, i === 3 && jemalloc !== null ? 'jemalloc' : 'system', `validator ${i}`)
  }
  const bob = await net.key('bob')
  // A forged signature is refused the same way by both libraries.
  const good = await net.transferTx('alice', bob.address, 1)
  const forged = forgeSignature(good)
  for (const i of [0, 2]) {
    const f = await net.submit(i, forged)
    assert.equal(f.status, 400, `validator ${i} (${VERIFIER[i]!}): ${JSON.stringify(f.body)}`)
    assert.equal(f.body.error?.code, 'ERR_BAD_SIGNATURE')
  }
  // Transactions submitted through every validator commit everywhere, in one chain.
  const ids: string[] = []
  const first = await net.submit(0, good)
  assert.equal(first.status, 202, JSON.stringify(first.body))
  ids.push(first.body.txId!)
  // R with a small-order component: libsodium and OpenSSL refuse it, the rule (cofactored)
  // accepts it. One goes alone to the OpenSSL validator without the batch verifier (noble
  // decides after OpenSSL refused it); one goes in a POST /txs/batch of 6 to validator 0, whose
  // batch verifier checks it in one combination with the others. Every validator must apply both.
  const alice = await net.key('alice')
  const twisted = torsionSignature(await net.transferTx('alice', bob.address, 1), alice.secretKey)
  const t = await net.submit(1, twisted)
  assert.equal(t.status, 202, JSON.stringify(t.body))
  assert.equal(t.body.txId, decodeTx(twisted).idHex)
  ids.push(t.body.txId!)
  const group = [await net.transferTx('alice', bob.address, 1), await net.transferTx('alice', bob.address, 1)]
  group.push(torsionSignature(await net.transferTx('alice', bob.address, 1), alice.secretKey))
  for (let k = 0; k < 3; k++) group.push(await net.transferTx('alice', bob.address, 1))
  const res = await fetch(`${net.url(0)}/txs/batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ txs: group.map(toHex) }) })
  const body = await res.json() as { results: Array<{ txId?: string, error?: unknown }> }
  assert.equal(res.status, 200, JSON.stringify(body))
  for (const [k, r] of body.results.entries()) {
    assert.equal(r.txId, decodeTx(group[k]!).idHex, JSON.stringify(r))
    ids.push(r.txId)
  }
  const twistedIds = [ids[1]!, ids[4]!]
  for (let k = 1; k < 40; k++) {
    const r = await net.submit(k % 4, await net.transferTx('alice', bob.address, 1))
    assert.ok(r.status >= 200 && r.status < 300, JSON.stringify(r.body))
    ids.push(r.body.txId!)
  }
  const last = await net.waitFor('the last tx committed on node 1', async () => await net.txOn(1, ids[ids.length - 1]!), v => v !== null, 20_000)
  await net.converge([0, 1, 2, 3], last!.height, 20_000)
  for (const id of ids) {
    for (let i = 0; i < 4; i++) assert.ok(await net.txOn(i, id) !== null, `tx ${id} on node ${i}`)
  }
  for (const id of twistedIds) {
    for (let i = 0; i < 4; i++) assert.equal((await net.txOn(i, id))?.status, 'ok', `torsion-R tx ${id} applied on node ${i}`)
  }
})
