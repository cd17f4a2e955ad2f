import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify, randomBytes, type KeyObject } from 'node:crypto'
import * as ed from '@noble/ed25519'
import { sha512 } from '@noble/hashes/sha2.js'
import { ValidationError } from '../errors.js'
import { toHex } from '../codec/hex.js'
import { nativeBatch } from './batch.js'
import { sodium } from './sodium.js'

// noble needs a synchronous sha512 for its sync API.
ed.hashes.sha512 = sha512

export const PUBLIC_KEY_BYTES = 32
export const SECRET_KEY_BYTES = 32
export const SIGNATURE_BYTES = 64

export interface KeyPair {
  /** 32-byte ed25519 seed (RFC 8032 private key). */
  secretKey: Uint8Array
  publicKey: Uint8Array
}

const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')

function assertSecretKey (secretKey: Uint8Array): void {
  if (!(secretKey instanceof Uint8Array) || secretKey.length !== SECRET_KEY_BYTES) {
    const got = secretKey instanceof Uint8Array ? `${secretKey.length} bytes` : typeof secretKey
    throw new ValidationError('ERR_BAD_SECRET_KEY', `secret key must be ${SECRET_KEY_BYTES} bytes, got ${got}`)
  }
}

export function generateKeyPair (): KeyPair {
  const secretKey = new Uint8Array(randomBytes(SECRET_KEY_BYTES))
  return { secretKey, publicKey: ed.getPublicKey(secretKey) }
}

export function keyPairFromSeed (secretKey: Uint8Array): KeyPair {
  assertSecretKey(secretKey)
  return { secretKey, publicKey: ed.getPublicKey(secretKey) }
}

/** Signs with @noble/ed25519 (portable: used by clients and the light client). */
export function signNoble (message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  assertSecretKey(secretKey)
  return ed.sign(message, secretKey)
}

const privCache = new Map<string, KeyObject>()
/** libsodium's form of each secret key (seed || public key), by the seed's hex. */
const sodiumKeyCache = new Map<string, Uint8Array>()
const SIGNING_KEYS_CACHED = 64

/** libsodium's 64-byte secret key (seed || public key) for a 32-byte seed. */
function sodiumSecretKey (lib: NonNullable<typeof sodium>, seed: Uint8Array): Uint8Array {
  const sk = new Uint8Array(64)
  lib.crypto_sign_seed_keypair(new Uint8Array(PUBLIC_KEY_BYTES), sk, seed)
  return sk
}

function remember<V> (cache: Map<string, V>, id: string, value: V): V {
  if (cache.size >= SIGNING_KEYS_CACHED) cache.delete(cache.keys().next().value!)
  cache.set(id, value)
  return value
}

/**
 * Signs through libsodium when it loaded (src/crypto/sodium.ts), else node:crypto (~14x faster
 * than noble). ed25519 signatures are deterministic (RFC 8032), so every path gives the same
 * bytes. Why libsodium: 17.4–18.0 us per signature against 35.0–38.8 for node:crypto on this
 * machine, and a validator signs 4–5 consensus messages per block (docs/performance.md,
 * fifteenth session).
 */
export function sign (message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  assertSecretKey(secretKey)
  const id = hexOf(secretKey)
  if (sodium !== null) {
    const sk = sodiumKeyCache.get(id) ?? remember(sodiumKeyCache, id, sodiumSecretKey(sodium, secretKey))
    const signature = new Uint8Array(SIGNATURE_BYTES)
    sodium.crypto_sign_detached(signature, message, sk)
    return signature
  }
  const key = privCache.get(id) ??
    remember(privCache, id, createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, secretKey]), format: 'der', type: 'pkcs8' }))
  return new Uint8Array(nodeSign(null, message, key))
}

// ---- The validity rule every verifier applies (docs/crypto.md) ----
//
// A signature (R, S) on M under A is valid iff
//   1. |A| = 32, |sig| = 64, and S < L;
//   2. A and R are canonical encodings: y < p, and not x = 0 with the sign bit set;
//   3. neither A nor R is one of the 8 small-order points;
//   4. A decodes to a curve point in the prime-order subgroup ([L]A = O);
//   5. [8]([S]B - R - [k]A) = O, k = SHA-512(R || A || M) mod L (the cofactored equation).
// Rules 1-4 are `precheck` (4 cached per key, since keys repeat). Rule 5 is cofactored because
// only the cofactored equation can be checked in batches (`verifyMany`): a random linear
// combination of cofactorless equations can pass or fail for a signature whose R carries a
// small-order component depending on the coefficients and on the other signatures in its batch,
// so validators batching differently would disagree about it. (Until the seventeenth session the
// rule also required R to be torsion-free, which made the cofactorless equation of libsodium and
// OpenSSL exact; ZIP 215 and CometBFT made the same move for the same reason.)
//
// Who decides rule 5: the batch addon (batch.ts) for batches; for one signature libsodium's (else
// OpenSSL's) cofactorless equation first, which implies the cofactored one and is what every
// honest signature passes; only a signature it refuses is decided again, cofactored, by the addon
// or by noble. So the fast libraries keep deciding the common case, and every path gives the
// rule's verdict (test/crypto/vectors.test.ts runs the edge cases through each).

// L = 2^252 + 27742317777372353535851937790883648493, little-endian.
const L_LE = Buffer.from('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010', 'hex')
// p = 2^255 - 19, little-endian.
const P_LE = Buffer.from('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', 'hex')

/** Little-endian comparison a < b for equal-length byte strings. */
function lessThanLE (a: Uint8Array, b: Uint8Array): boolean {
  for (let i = a.length - 1; i >= 0; i--) {
    if (a[i]! !== b[i]!) return a[i]! < b[i]!
  }
  return false
}

function hexOf (bytes: Uint8Array): string {
  return toHex(bytes)
}

/**
 * Canonical encodings of the 8 points of small order (identity, order 2, 4 and 8). A or R equal
 * to one of these make a signature meaningless (it can verify for many messages or keys), and
 * implementations disagree about them. Their non-canonical encodings fail rule 2 first.
 */
export const SMALL_ORDER_ENCODINGS: readonly string[] = [
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0000000000000000000000000000000000000000000000000000000000000080',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85'
]
const SMALL_ORDER = new Set(SMALL_ORDER_ENCODINGS)

/** x = 0 only for y = 1 and y = -1; these are those two points with the sign bit set. */
const NEGATIVE_ZERO_X = new Set([
  '0100000000000000000000000000000000000000000000000000000000000080',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff'
])

/** Rule 2 on raw bytes: y (sign bit masked off) < p, and no "negative zero" x. */
function isCanonicalPointEncoding (enc: Uint8Array, hex: string): boolean {
  // y < p fails only when bytes 1..30 are all 0xff, so check the cheap bytes first.
  if (enc[30] === 0xff && (enc[31]! & 0x7f) === 0x7f) {
    const y = Uint8Array.from(enc)
    y[31] = y[31]! & 0x7f
    if (!lessThanLE(y, P_LE)) return false
  }
  return !NEGATIVE_ZERO_X.has(hex)
}

export type SignatureRejection =
  | 'length' // wrong length of signature or public key
  | 'non-canonical-s' // S >= L
  | 'non-canonical-point' // y >= p, or x = 0 with the sign bit set (A or R)
  | 'small-order' // A or R is one of the 8 small-order points
  | 'invalid-point' // A is not on the curve
  | 'mixed-order' // A has a small-order component

/**
 * A small LRU map: a hit moves the entry to the back, a miss past the limit drops the front. Hot
 * keys (validators, active senders) stay; a flood of fresh keys only evicts cold ones.
 */
class Lru<V> {
  private readonly map = new Map<string, V>()
  constructor (private readonly limit: number) {}
  get (key: string): V | undefined {
    const v = this.map.get(key)
    if (v !== undefined) { this.map.delete(key); this.map.set(key, v) }
    return v
  }

  set (key: string, v: V): void {
    if (this.map.size >= this.limit) this.map.delete(this.map.keys().next().value!)
    this.map.set(key, v)
  }

  clear (): void { this.map.clear() }
}

// Rule 4's verdict per public key: ~0.8 ms of CPU the first time (a full scalar multiplication in
// JS), a map lookup after that; ~100 bytes an entry. OpenSSL key objects are heavier (~1 KB of
// RSS) but rebuilding one costs ~100 us of CPU, as much as the verify itself, so many are kept
// (~35 MB when full).
const verdictCache = new Lru<SignatureRejection | 'ok'>(65_536)
const nodeKeyCache = new Lru<KeyObject>(32_768)

function keyVerdict (publicKey: Uint8Array, hex: string): SignatureRejection | null {
  let v = verdictCache.get(hex)
  if (v === undefined) {
    v = judgeKey(publicKey, hex) ?? 'ok'
    verdictCache.set(hex, v)
  }
  return v === 'ok' ? null : v
}

function judgeKey (publicKey: Uint8Array, hex: string): SignatureRejection | null {
  if (!isCanonicalPointEncoding(publicKey, hex)) return 'non-canonical-point'
  if (SMALL_ORDER.has(hex)) return 'small-order'
  return isTorsionFreeSodium(publicKey) ? null : judgePoint(publicKey)
}

const L_BYTES = new Uint8Array(L_LE)

/**
 * Rule 4 in libsodium, ~7x faster than noble: a point is torsion-free iff [L]P = O.
 * is_valid_point only proves X([L]P) = 0, which the point of order 2 also has, so [L]P is then
 * computed: scalarmult_noclamp refuses (throws) exactly when the product is the identity.
 * False means "not proven torsion-free" (or no libsodium); noble then decides and names the reason.
 */
function isTorsionFreeSodium (point: Uint8Array): boolean {
  if (sodium === null || !sodium.crypto_core_ed25519_is_valid_point(point)) return false
  try {
    sodium.crypto_scalarmult_ed25519_noclamp(new Uint8Array(32), L_BYTES, point)
    return false
  } catch {
    return true
  }
}

/** Rules 4/5 for one canonical, non-small-order encoding. */
function judgePoint (encoding: Uint8Array): SignatureRejection | null {
  let point: InstanceType<typeof ed.Point>
  try {
    point = ed.Point.fromBytes(encoding, false)
  } catch {
    return 'invalid-point'
  }
  return point.isTorsionFree() ? null : 'mixed-order'
}

function isBytes (x: unknown): x is Uint8Array {
  return x instanceof Uint8Array
}

/**
 * Rules 1-4 of the validity rule (see above and docs/crypto.md); null when the input may go to a
 * cofactorless verifier such as node:crypto. Never throws.
 */
export function precheck (signature: Uint8Array, publicKey: Uint8Array): SignatureRejection | null {
  if (!isBytes(signature) || !isBytes(publicKey) || signature.length !== SIGNATURE_BYTES || publicKey.length !== PUBLIC_KEY_BYTES) return 'length'
  if (!lessThanLE(signature.subarray(32, 64), L_LE)) return 'non-canonical-s'
  const r = signature.subarray(0, 32)
  const rHex = hexOf(r)
  if (!isCanonicalPointEncoding(r, rHex)) return 'non-canonical-point'
  if (SMALL_ORDER.has(rHex)) return 'small-order'
  return keyVerdict(publicKey, hexOf(publicKey))
}

function nodePublicKey (publicKey: Uint8Array): KeyObject {
  const hex = hexOf(publicKey)
  let key = nodeKeyCache.get(hex)
  if (key === undefined) {
    key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' })
    nodeKeyCache.set(hex, key)
  }
  return key
}

/** Which library checks one signature's equation first: libsodium, or OpenSSL where sodium-native is unavailable. */
export function nodeVerifier (): 'libsodium' | 'node:crypto' {
  return sodium === null ? 'node:crypto' : 'libsodium'
}

/** Whether batches are checked by the native batch verifier (built at install) or one signature at a time. */
export function batchVerifier (): 'ed25519-donna' | null {
  return nativeBatch === null ? null : 'ed25519-donna'
}

/** OpenSSL's cofactorless equation through node:crypto. Never throws. */
function opensslEquation (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    return nodeVerify(null, message, nodePublicKey(publicKey), signature)
  } catch {
    return false
  }
}

/** The cofactorless equation in libsodium, else OpenSSL: true implies rule 5; false decides nothing alone. */
function cofactorless (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (sodium === null) return opensslEquation(signature, message, publicKey)
  try {
    return sodium.crypto_sign_verify_detached(signature, message, publicKey)
  } catch {
    return false
  }
}

/** Rule 5 for one prechecked signature: the fast cofactorless check, then the cofactored one for what it refuses. */
function equation (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  return cofactorless(signature, message, publicKey) || cofactored(signature, message, publicKey)
}

/**
 * Rule 5 alone, cofactored, for a prechecked signature the cofactorless equation refused: in the
 * addon (~60 us), else noble (~1.4 ms). Without the addon, libsodium first proves R torsion-free
 * where it is (~0.2 ms); then the two equations agree and the refusal stands. So noble runs only
 * for an R with a small-order component, which only a crafted signature has.
 */
function cofactored (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (nativeBatch !== null) {
    try {
      return nativeBatch.verify([signature], [message], [publicKey])[0] === 1
    } catch { /* out of memory in the addon: noble decides */ }
  }
  if (isTorsionFreeSodium(signature.subarray(0, 32))) return false
  try {
    return ed.verify(signature, message, publicKey, { zip215: false })
  } catch {
    return false
  }
}

/** The node's verify path for one signature: rules 1-4, then rule 5 (see above). Never throws. */
export function verify (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (precheck(signature, publicKey) !== null || !isBytes(message)) return false
  return equation(signature, message, publicKey)
}

export interface SignedMessage {
  signature: Uint8Array
  message: Uint8Array
  publicKey: Uint8Array
}

/** Below this many signatures a batch saves nothing (ed25519-donna checks up to 3 one by one). */
const MIN_BATCH = 4

/**
 * `verify` for many signatures at once, in order: the same verdicts (rule 5 is cofactored so
 * that they are the same), at ~40 % of the CPU per signature for batches of 64 with the native
 * batch verifier (docs/crypto.md, "Batch verification"). Without it, or for fewer than 4
 * signatures after the prechecks, it is `verify` on each. Never throws.
 */
export function verifyMany (items: readonly SignedMessage[]): boolean[] {
  const out = new Array<boolean>(items.length).fill(false)
  const idx: number[] = []
  for (let i = 0; i < items.length; i++) {
    const it = items[i]!
    if (precheck(it.signature, it.publicKey) === null && isBytes(it.message)) idx.push(i)
  }
  if (nativeBatch !== null && idx.length >= MIN_BATCH) {
    try {
      const ok = nativeBatch.verify(idx.map(i => items[i]!.signature), idx.map(i => items[i]!.message), idx.map(i => items[i]!.publicKey))
      for (let j = 0; j < idx.length; j++) out[idx[j]!] = ok[j] === 1
      return out
    } catch { /* out of memory in the addon: one at a time below */ }
  }
  for (const i of idx) out[i] = equation(items[i]!.signature, items[i]!.message, items[i]!.publicKey)
  return out
}

/**
 * Rules 1-4, then OpenSSL's cofactorless equation through node:crypto, whatever the node uses:
 * the benchmark's verify bound is defined by it. Stricter than the rule (it refuses a signature
 * whose R has a small-order component), so true is valid, false may not be. Never throws.
 */
export function verifyOpenssl (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (precheck(signature, publicKey) !== null || !isBytes(message)) return false
  return opensslEquation(signature, message, publicKey)
}

/** The portable verify path (clients, light client): rules 1-4, then @noble/ed25519 (strict decoding, cofactored equation). Never throws. */
export function verifyNoble (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (precheck(signature, publicKey) !== null || !isBytes(message)) return false
  try {
    return ed.verify(signature, message, publicKey, { zip215: false })
  } catch {
    return false
  }
}

/** Drops cached key verdicts and key objects (tests and benchmarks measure the cold path with it). */
export function clearKeyCache (): void {
  verdictCache.clear()
  nodeKeyCache.clear()
  privCache.clear()
  sodiumKeyCache.clear()
}
