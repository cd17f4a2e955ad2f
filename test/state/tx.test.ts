import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { keyPairFromSeed } from '../../src/crypto/index.js'
import { encode, decode } from '../../src/codec/index.js'
import { BftError } from '../../src/errors.js'
import { createTx, decodeTx, splitEnvelope, txId, txIdHex, verifyTxSignature, checkTxStateless, address, MAX_TX_BYTES, type TxBody } from '../../src/state/tx.js'

const alice = keyPairFromSeed(new Uint8Array(32).fill(1))
const bob = keyPairFromSeed(new Uint8Array(32).fill(2))
const CHAIN = 'test-chain'

function body (over: Partial<TxBody> = {}): TxBody {
  return { chainId: CHAIN, sender: alice.publicKey, nonce: 0, contract: 'bank', method: 'transfer', args: { to: address(bob.publicKey), amount: 5 }, ...over }
}

function code (fn: () => unknown): string {
  try { fn() } catch (err) { assert.ok(err instanceof BftError, `not a BftError: ${String(err)}`); return err.code }
  return 'no error'
}

test('createTx/decodeTx round trip, id and signature', () => {
  const bytes = createTx(body(), alice.secretKey)
  const tx = decodeTx(bytes)
  assert.equal(tx.body.nonce, 0)
  assert.equal(tx.sender, address(alice.publicKey))
  assert.deepEqual(txId(bytes), tx.id)
  assert.equal(txIdHex(tx), tx.idHex)
  assert.match(tx.idHex, /^[0-9a-f]{64}$/)
  assert.equal(verifyTxSignature(tx), true)
  checkTxStateless(tx, CHAIN)
  // Same body, same bytes (ed25519 is deterministic and the encoding canonical).
  assert.deepEqual(createTx(body(), alice.secretKey), bytes)
})

test('address is 40 hex chars', () => {
  assert.match(address(alice.publicKey), /^[0-9a-f]{40}$/)
  assert.notEqual(address(alice.publicKey), address(bob.publicKey))
})

test('large amounts travel as bigint', () => {
  const tx = decodeTx(createTx(body({ args: { to: address(bob.publicKey), amount: (1n << 64n) - 1n } }), alice.secretKey))
  checkTxStateless(tx, CHAIN)
  // CBOR integers stop at u64, so a larger amount cannot even be encoded.
  assert.equal(code(() => createTx(body({ args: { to: address(bob.publicKey), amount: 1n << 64n } }), alice.secretKey)), 'ERR_TX_MALFORMED')
  assert.equal(code(() => createTx(body({ nonce: -1 }), alice.secretKey)), 'ERR_TX_MALFORMED')
})

test('rejections carry stable codes', () => {
  assert.equal(code(() => decodeTx(new Uint8Array(MAX_TX_BYTES + 1))), 'ERR_TX_OVERSIZE')
  assert.equal(code(() => decodeTx(new Uint8Array([1, 2, 3]))), 'ERR_TX_MALFORMED')
  assert.equal(code(() => decodeTx(encode({ body: new Uint8Array([1]), sig: new Uint8Array(64) }))), 'ERR_TX_MALFORMED')
  assert.equal(code(() => decodeTx(encode({ body: encode(body()), sig: new Uint8Array(63) }))), 'ERR_TX_MALFORMED')
  assert.equal(code(() => decodeTx(encode({ body: encode({ ...body(), extra: 1 }), sig: new Uint8Array(64) }))), 'ERR_TX_MALFORMED')
  // A non-canonical body (integer in a longer form than needed) is refused.
  const good = decode(createTx(body(), alice.secretKey)) as { body: Uint8Array, sig: Uint8Array }
  const b = Buffer.from(good.body)
  const i = b.indexOf(Buffer.from('656e6f6e636500', 'hex')) // "nonce": 0
  assert.ok(i >= 0)
  const nonCanon = Buffer.concat([b.subarray(0, i + 6), Buffer.from([0x18, 0x00]), b.subarray(i + 7)])
  assert.equal(code(() => decodeTx(encode({ body: new Uint8Array(nonCanon), sig: good.sig }))), 'ERR_TX_MALFORMED')

  assert.equal(code(() => checkTxStateless(decodeTx(createTx(body(), alice.secretKey)), 'other')), 'ERR_WRONG_CHAIN')
  assert.equal(code(() => checkTxStateless(decodeTx(createTx(body(), bob.secretKey)), CHAIN)), 'ERR_BAD_SIGNATURE')
  const tampered = { ...good, sig: Uint8Array.from(good.sig) }
  tampered.sig[3]! ^= 1
  assert.equal(code(() => checkTxStateless(decodeTx(encode(tampered)), CHAIN)), 'ERR_BAD_SIGNATURE')
  assert.equal(code(() => checkTxStateless(decodeTx(createTx(body({ contract: 'nope' }), alice.secretKey)), CHAIN)), 'ERR_UNKNOWN_CONTRACT')
  assert.equal(code(() => checkTxStateless(decodeTx(createTx(body({ contract: 'constructor' }), alice.secretKey)), CHAIN)), 'ERR_UNKNOWN_CONTRACT')
  assert.equal(code(() => checkTxStateless(decodeTx(createTx(body({ method: 'steal' }), alice.secretKey)), CHAIN)), 'ERR_UNKNOWN_METHOD')
  const bad = (args: unknown, contract = 'bank', method = 'transfer'): string =>
    code(() => checkTxStateless(decodeTx(createTx(body({ contract, method, args }), alice.secretKey)), CHAIN))
  assert.equal(bad({ to: 'xyz', amount: 1 }), 'ERR_BAD_ARGS')
  assert.equal(bad({ to: address(bob.publicKey), amount: 0 }), 'ERR_BAD_ARGS')
  assert.equal(bad({ to: address(bob.publicKey), amount: -3 }), 'ERR_BAD_ARGS')
  assert.equal(bad({ to: address(bob.publicKey) }), 'ERR_BAD_ARGS')
  assert.equal(bad({ to: address(bob.publicKey), amount: 1, x: 1 }), 'ERR_BAD_ARGS')
  assert.equal(bad(null), 'ERR_BAD_ARGS')
  assert.equal(bad({ key: '', value: 'x' }, 'kv', 'set'), 'ERR_BAD_ARGS')
  assert.equal(bad({ key: 'k'.repeat(129), value: 'x' }, 'kv', 'set'), 'ERR_BAD_ARGS')
  assert.equal(bad({ key: 'k', value: 'é'.repeat(3000) }, 'kv', 'set'), 'ERR_BAD_ARGS')
  assert.equal(bad({ key: 'k', value: new Uint8Array(4097) }, 'kv', 'set'), 'ERR_BAD_ARGS')
  assert.equal(bad({ name: 'l', leaseBlocks: 0 }, 'lock', 'acquire'), 'ERR_BAD_ARGS')
  assert.equal(bad({ calls: [] }, 'atomic', 'exec'), 'ERR_BAD_ARGS')
  assert.equal(bad({ calls: [{ contract: 'atomic', method: 'exec', args: { calls: [] } }] }, 'atomic', 'exec'), 'ERR_BAD_ARGS')
  assert.equal(bad({ calls: [{ contract: 'bank', method: 'mint', args: {} }] }, 'atomic', 'exec'), 'ERR_UNKNOWN_METHOD')
  assert.equal(bad({ calls: Array.from({ length: 17 }, () => ({ contract: 'lock', method: 'release', args: { name: 'a' } })) }, 'atomic', 'exec'), 'ERR_BAD_ARGS')
  // Valid calls of every method pass.
  for (const [c, m, a] of [
    ['kv', 'set', { key: 'k', value: 'v', fence: { lock: 'l', token: 1 } }], ['kv', 'set', { key: 'k', value: new Uint8Array(3) }],
    ['kv', 'delete', { key: 'k' }], ['lock', 'acquire', { name: 'l', leaseBlocks: 5 }], ['lock', 'renew', { name: 'l', leaseBlocks: 5 }],
    ['lock', 'release', { name: 'l' }], ['atomic', 'exec', { calls: [{ contract: 'kv', method: 'delete', args: { key: 'k' } }] }]
  ] as const) {
    assert.equal(bad(a, c, m), 'no error', `${c}.${m}`)
  }
})

test('splitEnvelope takes exactly the canonical envelopes, and reads them as the codec does', () => {
  const seed = Number(process.env.FC_SEED ?? Date.now() % 1_000_000)
  console.log(`envelope property seed: FC_SEED=${seed}`)
  // Body lengths across every length form: 1..23 in the header byte, then 1 and 2 extra bytes.
  const envelope = fc.tuple(fc.oneof(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 240, max: 300 }), fc.integer({ min: 1, max: 3000 })), fc.nat(), fc.nat())
    .map(([len, a, b]) => encode({ body: Uint8Array.from({ length: len }, (_, i) => (i * 31 + a) & 255), sig: Uint8Array.from({ length: 64 }, (_, i) => (i * 7 + b) & 255) }) as Uint8Array)
  fc.assert(fc.property(envelope, (bytes) => {
    const want = decode(bytes) as { body: Uint8Array, sig: Uint8Array }
    const got = splitEnvelope(bytes)
    assert.ok(got !== null, 'every canonical envelope takes the byte-level path')
    assert.deepEqual(Uint8Array.from(got.body), want.body)
    assert.deepEqual(Uint8Array.from(got.sig), want.sig)
  }), { seed, numRuns: 500 })
  // Damaged: whatever the byte-level path takes, the codec decodes to the same fields.
  const damaged = fc.tuple(envelope, fc.nat(), fc.nat({ max: 255 }), fc.constantFrom('set', 'cut', 'add')).map(([bytes, at, byte, how]) => {
    const b = Uint8Array.from(bytes)
    const i = at % Math.min(b.length, 90)
    if (how === 'set') { b[i] = byte; return b }
    if (how === 'cut') return b.subarray(0, b.length - 1 - (at % 3))
    return Uint8Array.from([...b.subarray(0, i), byte, ...b.subarray(i)])
  })
  fc.assert(fc.property(damaged, (bytes) => {
    const got = splitEnvelope(bytes)
    if (got === null) return
    let want: { body: Uint8Array, sig: Uint8Array }
    try { want = decode(bytes) as { body: Uint8Array, sig: Uint8Array } } catch (err) { assert.fail(`split took bytes the codec refuses (${String(err)}): ${Buffer.from(bytes).toString('hex')}`) }
    assert.deepEqual(Uint8Array.from(got.body), want.body)
    assert.deepEqual(Uint8Array.from(got.sig), want.sig)
  }), { seed, numRuns: 5000 })
  // A non-minimal body length, an empty body, and a real tx all behave as before through decodeTx.
  const tx = createTx(body(), alice.secretKey)
  assert.ok(splitEnvelope(tx) !== null)
  assert.deepEqual(decodeTx(tx).body, body())
  const d = decodeTx(tx)
  const nonMinimal = Uint8Array.from([...tx.subarray(0, 76), 0x59, 0, d.bodyBytes.length, ...d.bodyBytes])
  assert.equal(splitEnvelope(nonMinimal), null)
  assert.equal(code(() => decodeTx(nonMinimal)), 'ERR_TX_MALFORMED')
  const empty = Uint8Array.from([...tx.subarray(0, 76), 0x40])
  assert.equal(splitEnvelope(empty), null)
  assert.equal(code(() => decodeTx(empty)), 'ERR_TX_MALFORMED')
})
