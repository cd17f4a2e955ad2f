import '../../src/polyfill.js'
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { ProcNet, basePortFor, forgeSignature } from './harness.js'
import { findJemalloc } from '../../src/node/allocator.js'
import { nodeVerifier } from '../../src/crypto/index.js'

// Validators may differ in how they verify signatures and in their malloc (docs/operations.md):
// here two check signatures with OpenSSL (the fallback, BFT_LEDGER_VERIFIER=node-crypto) and
// two with libsodium, and one runs on jemalloc where it is installed. They must agree on
// every verdict and every block.
let net: ProcNet
const jemalloc = findJemalloc()
// Where the sodium-native addon does not load, all four use OpenSSL (nothing mixed to test then).
const sodium = nodeVerifier() === 'libsodium' ? 'libsodium' : 'node:crypto'
const VERIFIER = ['node:crypto', 'node:crypto', sodium, sodium]

before(async () => {
  net = await ProcNet.create({
    validators: 4,
    basePort: basePortFor('e2e-mixed'),
    env: i => ({
      BFT_LEDGER_VERIFIER: VERIFIER[i] === 'libsodium' ? 'libsodium' : 'node-crypto',
      LD_PRELOAD: i === 3 && jemalloc !== null ? jemalloc : ''
    })
  })
  await net.startAll()
})

after(async () => { await net?.close() })

/** The `validator started` log record of validator i. */
function started (i: number): { verifier: string, malloc: string } {
  const line = readFileSync(net.log(i), 'utf8').split('\n').find(l => l.includes('"validator started"'))
  assert.ok(line !== undefined, `validator ${i} logged no start line:\n${net.tail(i)}`)
  return JSON.parse(line) as { verifier: string, malloc: string }
}

test('validators on OpenSSL and on libsodium, on glibc and jemalloc, agree on every signature and block', async () => {
  for (let i = 0; i < 4; i++) {
    const s = started(i)
    assert.equal(s.verifier, VERIFIER[i], `validator ${i}`)
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
})
