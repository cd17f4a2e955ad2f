import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createPublicKey, verify as opensslVerify, createHash } from 'node:crypto'
import * as ed from '@noble/ed25519'
import { sha512 } from '@noble/hashes/sha2.js'
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { verify, verifyMany, verifyOpenssl, verifyNoble, nodeVerifier, batchVerifier, precheck, SMALL_ORDER_ENCODINGS, keyPairFromSeed, sign, type SignatureRejection, type SignedMessage } from '../../src/crypto/index.js'
import { sodium } from '../../src/crypto/sodium.js'
import { nativeBatch } from '../../src/crypto/batch.js'
import { toHex, fromHex, utf8 } from '../../src/codec/index.js'

/*
 * Edge-case vectors built here with noble's Point API, in the spirit of Project Wycheproof and
 * "Taming the many EdDSAs" (Chalkias, Garillot, Nikolaenko 2020): small-order A and R (all 8
 * points and their non-canonical encodings), mixed-order A and R (prime-order part + torsion),
 * S >= L, non-canonical y, points off the curve. For every vector the node path (pre-check +
 * libsodium, or OpenSSL without it, then the cofactored equation for what they refuse), the
 * batch path (verifyMany, in batches of every shape) and the portable path (pre-check + noble)
 * must give the rule's verdict. The whole file runs again in child processes without libsodium
 * and without the native batch verifier, so the fallbacks are held to the same vectors.
 */

ed.hashes.sha512 = sha512
type Point = InstanceType<typeof ed.Point>
const { Point } = ed
const B = Point.BASE
const { n: L, p: P } = Point.CURVE()

const le32 = (x: bigint): Uint8Array => { const out = new Uint8Array(32); for (let i = 0; i < 32; i++) { out[i] = Number(x & 0xffn); x >>= 8n } return out }
const fromLE = (b: Uint8Array): bigint => { let x = 0n; for (let i = b.length - 1; i >= 0; i--) x = (x << 8n) | BigInt(b[i]!); return x }
const cat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(parts.flatMap(p => [...p]))
const mod = (x: bigint, m: bigint): bigint => ((x % m) + m) % m
/** Deterministic scalar in [1, L) from a label (replayable: no randomness anywhere in this file). */
const scalar = (label: string): bigint => mod(fromLE(new Uint8Array(createHash('sha512').update(label).digest())), L - 1n) + 1n
const challenge = (R: Uint8Array, A: Uint8Array, M: Uint8Array): bigint => mod(fromLE(sha512(cat(R, A, M))), L)
const mul = (pt: Point, k: bigint): Point => pt.multiply(mod(k, L) === 0n ? L : mod(k, L), false)

const T8 = Point.fromBytes(fromHex(SMALL_ORDER_ENCODINGS[4]!)) // a point of order 8
const smallOrder: Point[] = [0, 1, 2, 3, 4, 5, 6, 7].map(i => i === 0 ? Point.ZERO : T8.multiply(BigInt(i)))

const SPKI = Buffer.from('302a300506032b6570032100', 'hex')
function rawOpenssl (sig: Uint8Array, msg: Uint8Array, pk: Uint8Array): boolean {
  try { return opensslVerify(null, msg, createPublicKey({ key: Buffer.concat([SPKI, pk]), format: 'der', type: 'spki' }), sig) } catch { return false }
}
function rawSodium (sig: Uint8Array, msg: Uint8Array, pk: Uint8Array): boolean | null {
  if (sodium === null) return null
  try { return sodium.crypto_sign_verify_detached(sig, msg, pk) } catch { return false }
}
function rawNoble (sig: Uint8Array, msg: Uint8Array, pk: Uint8Array): boolean {
  try { return ed.verify(sig, msg, pk, { zip215: false }) } catch { return false }
}

/** torsionR: R has a small-order component, so only the cofactored equation (the rule's) holds. */
interface Vector { name: string, sig: Uint8Array, msg: Uint8Array, pk: Uint8Array, valid: boolean, reason: SignatureRejection | null, torsionR?: boolean }
const vectors: Vector[] = []
const add = (v: Vector): void => { vectors.push(v) }

/** A signature (R, S) with R = [r]B + Rt and S = r + k*a for a key A = [a]B + At, encoded as given. */
function forge (a: bigint, At: Point, r: bigint, Rt: Point, M: Uint8Array, encA?: Uint8Array, encR?: Uint8Array): { sig: Uint8Array, pk: Uint8Array, k: bigint } {
  const A = encA ?? mul(B, a).add(At).toBytes()
  const R = encR ?? mul(B, r).add(Rt).toBytes()
  const k = challenge(R, A, M)
  return { sig: cat(R, le32(mod(r + k * a, L))), pk: A, k }
}

/** The first message "label i" whose challenge k satisfies pred (k depends on the message). */
function findMessage (label: string, pred: (M: Uint8Array) => boolean): Uint8Array {
  for (let i = 0; i < 10_000; i++) { const M = utf8(`${label} ${i}`); if (pred(M)) return M }
  throw new Error(`no message for ${label}`)
}

// The 8 small-order encodings the pre-check blocks are exactly [i]T8.
test('vectors: SMALL_ORDER_ENCODINGS are the 8 points of order dividing 8', () => {
  assert.deepEqual(new Set(smallOrder.map(p => toHex(p.toBytes()))), new Set(SMALL_ORDER_ENCODINGS))
  for (const p of smallOrder) assert.ok(p.multiply(8n, false).is0())
})

// ---- Build the vectors ----
const a = scalar('key a'); const A = mul(B, a); const Aenc = A.toBytes()
{
  // Honest signatures (node:crypto signer) and the same signature on another message.
  const kp = keyPairFromSeed(createHash('sha256').update('honest').digest())
  for (let i = 0; i < 4; i++) {
    const msg = utf8(`honest ${i}`)
    const sig = sign(msg, kp.secretKey)
    add({ name: `honest ${i}`, sig, msg, pk: kp.publicKey, valid: true, reason: null })
    add({ name: `honest ${i}, other message`, sig, msg: utf8(`other ${i}`), pk: kp.publicKey, valid: false, reason: null })
  }
  // Our own equation: S = r + k*a with A, R torsion-free is valid everywhere.
  const M = utf8('constructed')
  const f = forge(a, Point.ZERO, scalar('r0'), Point.ZERO, M)
  add({ name: 'constructed valid', sig: f.sig, msg: M, pk: f.pk, valid: true, reason: null })

  // S >= L: S + L, S = L, S = 2^256 - 1 (malleability: the same signature twice).
  const s = fromLE(f.sig.subarray(32))
  add({ name: 'S + L', sig: cat(f.sig.subarray(0, 32), le32(s + L)), msg: M, pk: f.pk, valid: false, reason: 'non-canonical-s' })
  add({ name: 'S = L', sig: cat(f.sig.subarray(0, 32), le32(L)), msg: M, pk: f.pk, valid: false, reason: 'non-canonical-s' })
  add({ name: 'S = 2^256-1', sig: cat(f.sig.subarray(0, 32), new Uint8Array(32).fill(0xff)), msg: M, pk: f.pk, valid: false, reason: 'non-canonical-s' })
  add({ name: 'S + 8L (top bits set)', sig: cat(f.sig.subarray(0, 32), le32(s + 8n * L)), msg: M, pk: f.pk, valid: false, reason: 'non-canonical-s' })

  // Small-order A (each of the 8), with small-order R and S = 0 so that [S]B = R + [k]A holds:
  // a "signature" that verifies under the cofactorless equation without any secret.
  for (let i = 0; i < 8; i++) {
    const Ai = smallOrder[i]!.toBytes()
    const I = Point.ZERO.toBytes()
    const M0 = findMessage(`small A${i}`, m => mul(smallOrder[i]!, challenge(I, Ai, m)).is0())
    add({ name: `small-order A[${i}], R = identity, S = 0 (cofactorless holds)`, sig: cat(I, new Uint8Array(32)), msg: M0, pk: Ai, valid: false, reason: 'small-order' })
    add({ name: `small-order A[${i}], R[1], S = 0`, sig: cat(smallOrder[1]!.toBytes(), new Uint8Array(32)), msg: M, pk: Ai, valid: false, reason: 'small-order' })
    add({ name: `small-order A[${i}], honest R`, sig: f.sig, msg: M, pk: Ai, valid: false, reason: 'small-order' })
  }
  // Small-order R with an honest key: S = k*a, R = T. Cofactored accepts every one of them.
  for (let j = 0; j < 8; j++) {
    const Rj = smallOrder[j]!.toBytes()
    const k = challenge(Rj, Aenc, M)
    add({ name: `small-order R[${j}], honest A`, sig: cat(Rj, le32(mod(k * a, L))), msg: M, pk: Aenc, valid: false, reason: 'small-order' })
  }

  // Non-canonical encodings of small-order points: y + p (for y = 0 and y = 1) with both sign
  // bits, and x = 0 with the sign bit set (y = 1 and y = -1).
  const nonCanonical: string[] = []
  for (const y of [0n, 1n]) for (const sign of [0, 0x80]) { const e = le32(y + P); e[31] = e[31]! | sign; nonCanonical.push(toHex(e)) }
  nonCanonical.push('0100000000000000000000000000000000000000000000000000000000000080', 'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff')
  for (const hex of nonCanonical) {
    const enc = fromHex(hex)
    add({ name: `non-canonical A ${hex.slice(0, 4)}..${hex.slice(-2)}`, sig: f.sig, msg: M, pk: enc, valid: false, reason: 'non-canonical-point' })
    const k = challenge(enc, Aenc, M)
    add({ name: `non-canonical R ${hex.slice(0, 4)}..${hex.slice(-2)}, honest A`, sig: cat(enc, le32(mod(k * a, L))), msg: M, pk: Aenc, valid: false, reason: 'non-canonical-point' })
  }

  // Non-canonical y for points of large order: y in [2, 19) on the curve, encoded as y + p.
  for (let y = 2n; y < 19n; y++) {
    const enc = le32(y)
    let onCurve = true
    try { Point.fromBytes(enc) } catch { onCurve = false }
    const nc = le32(y + P)
    if (onCurve) {
      add({ name: `non-canonical A y=${y}+p`, sig: f.sig, msg: M, pk: nc, valid: false, reason: 'non-canonical-point' })
      add({ name: `non-canonical R y=${y}+p`, sig: cat(nc, f.sig.subarray(32)), msg: M, pk: f.pk, valid: false, reason: 'non-canonical-point' })
    } else {
      // Not a curve point at all: as A it is caught by the cached key verdict, as R by the
      // equation (node) or by the strict pre-check (noble).
      add({ name: `off-curve A y=${y}`, sig: f.sig, msg: M, pk: enc, valid: false, reason: 'invalid-point' })
      add({ name: `off-curve R y=${y}`, sig: cat(enc, f.sig.subarray(32)), msg: M, pk: f.pk, valid: false, reason: null })
    }
  }

  // Mixed-order A = [a]B + T (T of order 2, 4 and 8). The signer knows a; cofactored verifiers
  // accept every such signature, cofactorless ones only when [k]T = O (k = 0 mod ord T).
  for (const [t, label] of [[4, 'order 2'], [2, 'order 4'], [1, 'order 8']] as const) {
    const T = smallOrder[t]!
    const Amix = mul(B, a).add(T).toBytes()
    for (const want of ['k*T = O', 'k*T != O']) {
      const M2 = findMessage(`mixed A ${label} ${want}`, m => {
        const k = challenge(mul(B, scalar('r1')).toBytes(), Amix, m)
        return mul(T, k).is0() === (want === 'k*T = O')
      })
      const g = forge(a, T, scalar('r1'), Point.ZERO, M2)
      add({ name: `mixed-order A (${label}), ${want}`, sig: g.sig, msg: M2, pk: g.pk, valid: false, reason: 'mixed-order' })
    }
  }

  // Mixed-order R = [r]B + T with an honest key: cofactored accepts, cofactorless rejects. Valid
  // under the rule since the seventeenth session (rule 5 is the cofactored equation, so batches
  // can decide it); only the holder of the key can make one.
  for (const [t, label] of [[4, 'order 2'], [2, 'order 4'], [1, 'order 8'], [3, 'order 8']] as const) {
    const g = forge(a, Point.ZERO, scalar(`r2 ${t}`), smallOrder[t]!, M)
    add({ name: `mixed-order R (${label}), honest A`, sig: g.sig, msg: M, pk: g.pk, valid: true, reason: null, torsionR: true })
  }

  // Torsion in both A and R that cancels ([k]T_A + T_R = O): even the cofactorless equation holds.
  {
    const TA = smallOrder[1]!
    const r = scalar('r3')
    const Amix = mul(B, a).add(TA).toBytes()
    const M2 = findMessage('cancelling torsion', m => {
      const k = challenge(mul(B, r).add(mul(TA, 8n - 1n)).toBytes(), Amix, m)
      return mul(TA, k).add(mul(TA, 8n - 1n)).is0()
    })
    const g = forge(a, TA, r, mul(TA, 8n - 1n), M2)
    add({ name: 'mixed-order A and R, torsion cancels', sig: g.sig, msg: M2, pk: g.pk, valid: false, reason: 'mixed-order' })
  }

  // Wrong lengths.
  add({ name: 'short signature', sig: f.sig.subarray(0, 63), msg: M, pk: f.pk, valid: false, reason: 'length' })
  add({ name: 'long key', sig: f.sig, msg: M, pk: cat(f.pk, Uint8Array.of(0)), valid: false, reason: 'length' })
}

const asSigned = (v: Vector): SignedMessage => ({ signature: v.sig, message: v.msg, publicKey: v.pk })

test('vectors: every verify path gives the rule\'s verdict, with the expected reason', () => {
  let rawDisagreements = 0
  for (const v of vectors) {
    assert.equal(verify(v.sig, v.msg, v.pk), v.valid, `${v.name}: node path`)
    assert.equal(verifyNoble(v.sig, v.msg, v.pk), v.valid, `${v.name}: noble path`)
    assert.deepEqual(verifyMany([asSigned(v)]), [v.valid], `${v.name}: verifyMany alone`)
    // OpenSSL's cofactorless equation is stricter than the rule: it refuses torsion in R.
    assert.equal(verifyOpenssl(v.sig, v.msg, v.pk), v.valid && v.torsionR !== true, `${v.name}: OpenSSL path`)
    assert.equal(precheck(v.sig, v.pk), v.reason, `${v.name}: precheck reason`)
    const openssl = rawOpenssl(v.sig, v.msg, v.pk)
    const nob = rawNoble(v.sig, v.msg, v.pk)
    if (openssl !== nob) rawDisagreements++
    if (precheck(v.sig, v.pk) === null) {
      // After the pre-check the cofactored equation (noble) is the verdict, and the cofactorless
      // libraries differ from it exactly on torsion in R, and only by refusing.
      assert.equal(nob, v.valid, `${v.name}: noble after precheck`)
      assert.equal(openssl, v.valid && v.torsionR !== true, `${v.name}: OpenSSL after precheck`)
      if (sodium !== null) assert.equal(rawSodium(v.sig, v.msg, v.pk), v.valid && v.torsionR !== true, `${v.name}: libsodium after precheck`)
    }
  }
  // Without the rule, the two libraries do disagree on some of these (else the vectors test nothing).
  assert.ok(rawDisagreements >= 10, `raw disagreements: ${rawDisagreements}`)
  console.log(`ed25519 vectors: ${vectors.length}, raw OpenSSL/noble disagreements without the rule: ${rawDisagreements}, with it: 0; batch verifier: ${batchVerifier() ?? 'none'}`)
})

test('vectors: verifyMany gives each vector its verdict in batches of every shape', () => {
  const kp = keyPairFromSeed(createHash('sha256').update('batch').digest())
  const honest = Array.from({ length: 80 }, (_, i) => {
    const message = utf8(`honest ${i}`)
    return { signature: sign(message, kp.secretKey), message, publicKey: kp.publicKey }
  })
  const all = vectors.map(asSigned)
  const want = vectors.map(v => v.valid)
  assert.deepEqual(verifyMany(all), want, 'all vectors in one call')
  for (const size of [2, 3, 4, 5, 7, 16, 63, 64, 65]) {
    for (let i = 0; i < all.length; i += size) assert.deepEqual(verifyMany(all.slice(i, i + size)), want.slice(i, i + size), `chunks of ${size} at ${i}`)
  }
  // Each vector alone among honest signatures: a bad one must fail its batch's combined check
  // and be found, a torsion-R one must pass it, and the honest ones around it stay valid.
  for (const [k, v] of vectors.entries()) {
    const at = k % 64
    const batch = [...honest.slice(0, at), asSigned(v), ...honest.slice(at, 63)]
    const got = verifyMany(batch)
    assert.equal(got[at], v.valid, `${v.name} among 63 honest signatures`)
    assert.ok(got.every((ok, i) => i === at || ok), `${v.name}: an honest signature beside it failed`)
  }
  // Torsion in several R of one batch, in every combination of the four orders: still valid.
  const torsion = vectors.filter(v => v.torsionR === true).map(asSigned)
  assert.equal(torsion.length, 4)
  assert.deepEqual(verifyMany([...torsion, ...torsion, ...honest.slice(0, 8)]), new Array(16).fill(true))
})

test('vectors: mutated honest signatures get one verdict from both paths', () => {
  const kp = keyPairFromSeed(createHash('sha256').update('mutate').digest())
  const msg = utf8('mutate me')
  const sig = sign(msg, kp.secretKey)
  let state = 12345 // xorshift, fixed seed: replayable
  const next = (): number => { state ^= state << 13; state ^= state >>> 17; state ^= state << 5; return state >>> 0 }
  for (let i = 0; i < 150; i++) {
    const s = Uint8Array.from(sig); const pk = Uint8Array.from(kp.publicKey)
    const target = next() % 3 === 0 ? pk : s
    target[next() % target.length]! ^= 1 << (next() % 8)
    const node = verify(s, msg, pk)
    assert.equal(node, verifyNoble(s, msg, pk), `mutation ${i}`)
    assert.equal(node, false)
  }
})

test('verify paths never throw on junk', () => {
  const junk: unknown[] = [undefined, null, 'ab', 42, {}, [], new Uint8Array(0), new Uint8Array(64), new Uint8Array(32)]
  const many: SignedMessage[] = []
  for (const s of junk) for (const p of junk) {
    assert.equal(verify(s as Uint8Array, new Uint8Array(1), p as Uint8Array), false)
    assert.equal(verifyNoble(s as Uint8Array, new Uint8Array(1), p as Uint8Array), false)
    many.push({ signature: s as Uint8Array, message: new Uint8Array(1), publicKey: p as Uint8Array })
  }
  assert.deepEqual(verifyMany(many), new Array(many.length).fill(false))
  const kp = keyPairFromSeed(new Uint8Array(32).fill(7))
  const sig = sign(utf8('x'), kp.secretKey)
  assert.equal(verify(sig, 'x' as unknown as Uint8Array, kp.publicKey), false)
  assert.equal(verifyNoble(sig, 'x' as unknown as Uint8Array, kp.publicKey), false)
})

test('native batch verifier: the combined check itself accepts torsion in R, fails on an invalid member, and chunks past 64', { skip: nativeBatch === null }, () => {
  const native = nativeBatch!
  const kp = keyPairFromSeed(createHash('sha256').update('native').digest())
  const honest = (n: number, tag: string): SignedMessage[] => Array.from({ length: n }, (_, i) => {
    const message = utf8(`${tag} ${i}`)
    return { signature: sign(message, kp.secretKey), message, publicKey: kp.publicKey }
  })
  const torsion = vectors.filter(v => v.torsionR === true).map(asSigned)
  const invalid = vectors.filter(v => !v.valid && v.reason === null && v.name.startsWith('honest')).map(asSigned)
  assert.ok(torsion.length === 4 && invalid.length >= 2)
  const run = (items: SignedMessage[]): { got: boolean[], batches: number, fallbacks: number } => {
    const s0 = native.stats()
    const got = verifyMany(items)
    const s1 = native.stats()
    return { got, batches: s1.batches - s0.batches, fallbacks: s1.fallbacks - s0.fallbacks }
  }
  // 64 honest: one combination, accepted.
  assert.deepEqual(run(honest(64, 'a')), { got: new Array(64).fill(true), batches: 1, fallbacks: 0 })
  // Torsion in R: accepted by the combination itself (the cofactor multiplies it away), not by
  // the one-by-one fallback, which would give the same verdicts and hide a broken combination.
  assert.deepEqual(run([...honest(60, 'b'), ...torsion]), { got: new Array(64).fill(true), batches: 1, fallbacks: 0 })
  // One invalid member: the combination fails, and the one-by-one pass finds exactly it.
  const one = run([...honest(40, 'c'), invalid[0]!, ...honest(23, 'd')])
  assert.deepEqual(one, { got: [...new Array(40).fill(true), false, ...new Array(23).fill(true)], batches: 1, fallbacks: 1 })
  // 67 = a chunk of 64 and a tail of 3 (checked one by one); the invalid one in the tail.
  const r67 = run([...honest(64, 'e'), honest(1, 'f')[0]!, invalid[1]!, ...torsion.slice(0, 1)])
  assert.deepEqual(r67, { got: [...new Array(65).fill(true), false, true], batches: 1, fallbacks: 0 })
  // 130 = 64 + 64 + 2: torsion in the first chunk, an invalid member in the second and in the tail.
  const items = [...honest(62, 'g'), ...torsion.slice(0, 2), ...honest(30, 'h'), invalid[0]!, ...honest(33, 'i'), invalid[1]!, ...honest(1, 'j')]
  assert.equal(items.length, 130)
  const r130 = run(items)
  assert.deepEqual(r130.got, items.map((_, i) => i !== 94 && i !== 128))
  assert.deepEqual([r130.batches, r130.fallbacks], [2, 1])
})

const isChild = process.env.BFT_LEDGER_VERIFIER === 'node-crypto' || process.env.BFT_LEDGER_NATIVE === '0'

/** This file again in a child process with `extra` in its environment; its tests must all pass. */
function runChild (extra: Record<string, string>): void {
  // Without NODE_TEST_CONTEXT the child reports as a plain test run, not into our runner.
  const { NODE_TEST_CONTEXT: _ctx, ...env } = process.env
  const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url)], { env: { ...env, ...extra }, encoding: 'utf8', timeout: 120_000 })
  assert.equal(child.status, 0, child.stdout + child.stderr)
  assert.match(child.stdout, /ed25519 vectors: \d+/)
}

test('vectors: the node path without libsodium (node:crypto and noble) gives the same verdicts and reasons', { skip: isChild }, () => {
  assert.equal(nodeVerifier(), sodium === null ? 'node:crypto' : 'libsodium')
  runChild({ BFT_LEDGER_VERIFIER: 'node-crypto' })
})

test('vectors: without the native batch verifier (one signature at a time, noble for what libsodium refuses) the same verdicts', { skip: isChild }, () => {
  runChild({ BFT_LEDGER_NATIVE: '0' })
})

test('the native batch verifier loads wherever npm install built it (and must, with BFT_LEDGER_REQUIRE_NATIVE=1, as in CI)', { skip: isChild }, () => {
  const built = existsSync(fileURLToPath(new URL('../../../build/Release/bft_ed25519.node', import.meta.url)))
  if (process.env.BFT_LEDGER_REQUIRE_NATIVE === '1') assert.ok(built, 'npm install did not build build/Release/bft_ed25519.node')
  assert.equal(batchVerifier(), built ? 'ed25519-donna' : null)
})

test('BFT_LEDGER_NATIVE=0 turns the native batch verifier off', { skip: process.env.BFT_LEDGER_NATIVE !== '0' }, () => {
  assert.equal(batchVerifier(), null)
})

test('BFT_LEDGER_VERIFIER=node-crypto selects OpenSSL', { skip: process.env.BFT_LEDGER_VERIFIER !== 'node-crypto' }, () => {
  assert.equal(nodeVerifier(), 'node:crypto')
})
