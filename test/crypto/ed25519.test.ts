import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { generateKeyPair, keyPairFromSeed, sign, signNoble, verify, verifyNoble, precheck, clearKeyCache, measureVerifyRate } from '../../src/crypto/index.js'
import { fromHex, toHex, utf8 } from '../../src/codec/index.js'
import { BftError } from '../../src/errors.js'
import { rng } from '../support/seeded.js'

const SEED = Number(process.env.CRYPTO_SEED ?? 0xed25519)
console.log(`ed25519 property seed=${SEED} (replay: CRYPTO_SEED=${SEED})`)

test('the node\'s signer (libsodium, or node:crypto without it) and noble sign identically and both verify', () => {
  const kp = generateKeyPair()
  const msg = utf8('hello ledger')
  const a = sign(msg, kp.secretKey)
  const b = signNoble(msg, kp.secretKey)
  assert.deepEqual(a, b)
  assert.equal(verify(a, msg, kp.publicKey), true)
  assert.equal(verifyNoble(a, msg, kp.publicKey), true)
  const bad = Uint8Array.from(a); bad[5]! ^= 1
  assert.equal(verify(bad, msg, kp.publicKey), false)
  assert.equal(verifyNoble(bad, msg, kp.publicKey), false)
})

test(`sign() equals noble's signature for random keys and messages, with the key cache warm and cold (seed ${SEED})`, () => {
  const random = rng(SEED)
  const keys = Array.from({ length: 8 }, (_, i) => keyPairFromSeed(Uint8Array.from({ length: 32 }, (_, j) => (i * 31 + j * 7 + Math.floor(random() * 256)) & 0xff)))
  for (let round = 0; round < 80; round++) {
    if (round === 40) clearKeyCache()
    const kp = keys[round % keys.length]!
    const msg = Uint8Array.from({ length: Math.floor(random() * 600) }, () => Math.floor(random() * 256))
    const sig = sign(msg, kp.secretKey)
    assert.deepEqual(sig, signNoble(msg, kp.secretKey), `round ${round}`)
    assert.equal(verify(sig, msg, kp.publicKey), true)
  }
})

test('RFC 8032 section 7.1 test vectors 1-3', () => {
  const vectors = [
    ['9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', '',
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b'],
    ['4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb', '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c', '72',
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00'],
    ['c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7', 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025', 'af82',
      '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a']
  ] as const
  for (const [sk, pk, msg, sig] of vectors) {
    const kp = keyPairFromSeed(fromHex(sk))
    assert.equal(toHex(kp.publicKey), pk)
    assert.equal(toHex(sign(fromHex(msg), kp.secretKey)), sig)
    assert.equal(toHex(signNoble(fromHex(msg), kp.secretKey)), sig)
    assert.equal(verify(fromHex(sig), fromHex(msg), fromHex(pk)), true)
    assert.equal(verifyNoble(fromHex(sig), fromHex(msg), fromHex(pk)), true)
  }
})

test('property: both signers agree and both verifiers accept, and reject other messages', () => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ minLength: 1, maxLength: 8 }), (seed, msg, tweak) => {
    const kp = keyPairFromSeed(seed)
    const sig = sign(msg, kp.secretKey)
    assert.deepEqual(signNoble(msg, kp.secretKey), sig)
    assert.equal(verify(sig, msg, kp.publicKey), true)
    assert.equal(verifyNoble(sig, msg, kp.publicKey), true)
    const other = Uint8Array.from([...msg, ...tweak])
    assert.equal(verify(sig, other, kp.publicKey), false)
    assert.equal(verifyNoble(sig, other, kp.publicKey), false)
  }), { seed: SEED, numRuns: 40 })
})

test('secret keys of the wrong length are a typed error', () => {
  for (const bad of [new Uint8Array(31), new Uint8Array(33), new Uint8Array(0)]) {
    for (const f of [keyPairFromSeed, (k: Uint8Array) => sign(utf8('m'), k), (k: Uint8Array) => signNoble(utf8('m'), k)]) {
      assert.throws(() => f(bad), (e: unknown) => e instanceof BftError && e.code === 'ERR_BAD_SECRET_KEY' && /32 bytes/.test(e.message))
    }
  }
})

test('the cached key verdict gives the same answer cold and warm', () => {
  const kp = keyPairFromSeed(createHash('sha256').update('cache').digest())
  const sig = sign(utf8('m'), kp.secretKey)
  clearKeyCache()
  assert.equal(precheck(sig, kp.publicKey), null)
  assert.equal(verify(sig, utf8('m'), kp.publicKey), true)
  assert.equal(precheck(sig, kp.publicKey), null)
  clearKeyCache()
  assert.equal(verify(sig, utf8('m'), kp.publicKey), true)
  // A key off the curve stays rejected when it comes back from the cache.
  const offCurve = fromHex('0200000000000000000000000000000000000000000000000000000000000000')
  assert.equal(precheck(sig, offCurve), 'invalid-point')
  assert.equal(precheck(sig, offCurve), 'invalid-point')
})

test('measureVerifyRate returns a positive rate within its budget, on each path', () => {
  for (const path of ['node:crypto', 'node', 'batch'] as const) {
    const t0 = performance.now()
    const rate = measureVerifyRate(100, path)
    const took = performance.now() - t0
    assert.ok(Number.isFinite(rate) && rate > 100, `${path}: rate ${rate}`)
    // Generous: the loop stops after ~100 ms of wall time; setup is a few ms of CPU even on a loaded machine.
    assert.ok(took < 10_000, `${path}: took ${took} ms`)
  }
})
