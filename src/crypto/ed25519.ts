import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify, randomBytes, type KeyObject } from 'node:crypto'
import * as ed from '@noble/ed25519'
import { sha512 } from '@noble/hashes/sha2.js'

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

export function generateKeyPair (): KeyPair {
  const secretKey = new Uint8Array(randomBytes(SECRET_KEY_BYTES))
  return { secretKey, publicKey: ed.getPublicKey(secretKey) }
}

export function keyPairFromSeed (secretKey: Uint8Array): KeyPair {
  if (secretKey.length !== SECRET_KEY_BYTES) throw new RangeError(`secret key must be ${SECRET_KEY_BYTES} bytes`)
  return { secretKey, publicKey: ed.getPublicKey(secretKey) }
}

/** Signs with @noble/ed25519 (portable: used by clients and the light client). */
export function signNoble (message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  return ed.sign(message, secretKey)
}

const privCache = new Map<string, KeyObject>()
/** Signs through node:crypto (~14x faster); ed25519 signatures are deterministic, so both paths give the same bytes. */
export function sign (message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  const id = Buffer.from(secretKey).toString('hex')
  let key = privCache.get(id)
  if (key === undefined) {
    key = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, secretKey]), format: 'der', type: 'pkcs8' })
    if (privCache.size > 64) privCache.clear()
    privCache.set(id, key)
  }
  return new Uint8Array(nodeSign(null, message, key))
}

// ---- The validity rule every node applies, before either library sees the input ----

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

/**
 * Encodings of the 8 points of small order (identity, order 2, 4 and 8), canonical forms.
 * Public keys or R values equal to one of these make a signature meaningless (it can verify
 * for many messages), and implementations disagree about them, so they are rejected outright.
 */
const SMALL_ORDER = new Set([
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0000000000000000000000000000000000000000000000000000000000000080',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85'
])

/** y must be < p (the sign bit is masked off); x = 0 with the sign bit set is non-canonical. */
function isCanonicalPointEncoding (enc: Uint8Array): boolean {
  const y = Uint8Array.from(enc)
  y[31] = y[31]! & 0x7f
  if (!lessThanLE(y, P_LE)) return false
  return true
}

export type SignatureRejection = 'length' | 'non-canonical-s' | 'non-canonical-point' | 'small-order'

/** The pre-check of the validity rule; null when the input may go to a verifier. */
export function precheck (signature: Uint8Array, publicKey: Uint8Array): SignatureRejection | null {
  if (signature.length !== SIGNATURE_BYTES || publicKey.length !== PUBLIC_KEY_BYTES) return 'length'
  const s = signature.subarray(32, 64)
  if (!lessThanLE(s, L_LE)) return 'non-canonical-s'
  const r = signature.subarray(0, 32)
  if (!isCanonicalPointEncoding(publicKey) || !isCanonicalPointEncoding(r)) return 'non-canonical-point'
  const a = Buffer.from(publicKey).toString('hex')
  const rh = Buffer.from(r).toString('hex')
  if (SMALL_ORDER.has(a) || SMALL_ORDER.has(rh)) return 'small-order'
  return null
}

const pubCache = new Map<string, KeyObject>()
function nodePublicKey (publicKey: Uint8Array): KeyObject {
  const id = Buffer.from(publicKey).toString('hex')
  let key = pubCache.get(id)
  if (key === undefined) {
    key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' })
    if (pubCache.size > 10_000) pubCache.clear()
    pubCache.set(id, key)
  }
  return key
}

/** The node's verify path: pre-check, then OpenSSL. Never throws. */
export function verify (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (precheck(signature, publicKey) !== null) return false
  try {
    return nodeVerify(null, message, nodePublicKey(publicKey), signature)
  } catch {
    return false
  }
}

/** The portable verify path (clients, light client): pre-check, then @noble/ed25519 in strict RFC 8032 mode. */
export function verifyNoble (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (precheck(signature, publicKey) !== null) return false
  try {
    return ed.verify(signature, message, publicKey, { zip215: false })
  } catch {
    return false
  }
}
