import { Type, type Static } from '@sinclair/typebox'
import { Codec, toHex, utf8 } from '../codec/index.js'
import { address as addressOf, sign, taggedHash, verify, PUBLIC_KEY_BYTES, SIGNATURE_BYTES, type SignedMessage } from '../crypto/index.js'
import { DecodeError, ValidationError, errorMessage } from '../errors.js'
import { METHODS, MAX_KV_VALUE_BYTES } from './contracts/schemas.js'

/** Hard limit on a signed transaction's wire size, checked before any decoding. */
export const MAX_TX_BYTES = 64 * 1024
export const TX_ID_TAG = 'bft-ledger/tx'

const TxBodySchema = Type.Object({
  chainId: Type.String({ minLength: 1, maxLength: 64 }),
  sender: Type.Uint8Array({ minByteLength: PUBLIC_KEY_BYTES, maxByteLength: PUBLIC_KEY_BYTES }),
  nonce: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  contract: Type.String({ minLength: 1, maxLength: 32 }),
  method: Type.String({ minLength: 1, maxLength: 32 }),
  args: Type.Unknown()
}, { additionalProperties: false })

const SignedTxSchema = Type.Object({
  body: Type.Uint8Array({ minByteLength: 1, maxByteLength: MAX_TX_BYTES }),
  sig: Type.Uint8Array({ minByteLength: SIGNATURE_BYTES, maxByteLength: SIGNATURE_BYTES })
}, { additionalProperties: false })

export type TxBody = Static<typeof TxBodySchema>
export type SignedTxWire = Static<typeof SignedTxSchema>

const bodyCodec = new Codec('TxBody', TxBodySchema, MAX_TX_BYTES)
const signedCodec = new Codec('SignedTx', SignedTxSchema, MAX_TX_BYTES)

/** A transaction that passed shape checks; its signature is NOT checked yet. */
export interface DecodedTx {
  /** The exact wire bytes. */
  bytes: Uint8Array
  /** Canonical CBOR of the body: what the id is computed from. */
  bodyBytes: Uint8Array
  body: TxBody
  sig: Uint8Array
  /** taggedHash('bft-ledger/tx', bodyBytes) */
  id: Uint8Array
  idHex: string
  /** Account address of body.sender. */
  sender: string
}

/**
 * Encodes and signs a transaction. The signature covers the 32-byte txId (a tagged hash of
 * the canonical body), so the signed message is domain-separated from every other signed
 * object and the node verifies a short message. The caller must pass the secret key that
 * matches body.sender; a mismatch yields a tx that fails verification (ERR_BAD_SIGNATURE).
 */
export function createTx (body: TxBody, secretKey: Uint8Array): Uint8Array {
  let bodyBytes: Uint8Array
  try {
    bodyBytes = bodyCodec.encode(bodyCodec.validate(body))
  } catch (err) {
    throw new ValidationError('ERR_TX_MALFORMED', `cannot encode transaction body: ${errorMessage(err)}`)
  }
  const sig = sign(taggedHash(TX_ID_TAG, bodyBytes), secretKey)
  const bytes = signedCodec.encode({ body: bodyBytes, sig })
  if (bytes.length > MAX_TX_BYTES) {
    throw new ValidationError('ERR_TX_OVERSIZE', `transaction of ${bytes.length} bytes exceeds the limit of ${MAX_TX_BYTES}`, { size: bytes.length })
  }
  return bytes
}

/**
 * Strictly decodes signed transaction bytes: size, canonical CBOR of the envelope AND of the
 * body, and the body's shape. Throws ValidationError ERR_TX_OVERSIZE or ERR_TX_MALFORMED.
 */
export function decodeTx (bytes: Uint8Array): DecodedTx {
  if (!(bytes instanceof Uint8Array)) throw new ValidationError('ERR_TX_MALFORMED', 'transaction is not a byte array')
  if (bytes.length > MAX_TX_BYTES) {
    throw new ValidationError('ERR_TX_OVERSIZE', `transaction of ${bytes.length} bytes exceeds the limit of ${MAX_TX_BYTES}`, { size: bytes.length })
  }
  let wire: SignedTxWire
  let body: TxBody
  try {
    wire = splitEnvelope(bytes) ?? signedCodec.decode(bytes)
  } catch (err) {
    throw new ValidationError('ERR_TX_MALFORMED', `bad transaction envelope: ${errorMessage(err)}`)
  }
  try {
    body = bodyCodec.decode(wire.body)
  } catch (err) {
    throw new ValidationError('ERR_TX_MALFORMED', `bad transaction body: ${errorMessage(err)}`)
  }
  const id = taggedHash(TX_ID_TAG, wire.body)
  return { bytes, bodyBytes: wire.body, body, sig: wire.sig, id, idHex: toHex(id), sender: addressOf(body.sender) }
}

// The canonical envelope { body, sig } up to the body's length: map of 2, "sig" (keys sort
// bytewise by their encoding, so before "body"), a 64-byte string, then "body".
const SIG_AT = 7
const ENVELOPE_HEAD = Uint8Array.of(0xa2, 0x63, 0x73, 0x69, 0x67, 0x58, 0x40)
const BODY_KEY = Uint8Array.of(0x64, 0x62, 0x6f, 0x64, 0x79)
const BODY_KEY_AT = SIG_AT + SIGNATURE_BYTES

/**
 * The signed envelope read byte by byte: every node decodes every tx at least once, and the
 * generic decoder (tokenizer, then schema) took as long as decoding the body. Canonical CBOR
 * gives `{ body, sig }` exactly one encoding per body length, so only that byte pattern is
 * taken here; anything else returns null and goes to the generic codec, which names what is
 * wrong. The fields are views of `bytes` (which the DecodedTx keeps anyway), not copies.
 * test/state/tx.test.ts checks that this path and the codec agree.
 */
export function splitEnvelope (bytes: Uint8Array): SignedTxWire | null {
  const start = BODY_KEY_AT + BODY_KEY.length
  if (bytes.length < start + 2) return null
  for (let i = 0; i < ENVELOPE_HEAD.length; i++) if (bytes[i] !== ENVELOPE_HEAD[i]) return null
  for (let i = 0; i < BODY_KEY.length; i++) if (bytes[BODY_KEY_AT + i] !== BODY_KEY[i]) return null
  const at = bodyAt(bytes, start)
  if (at === 0) return null
  return { body: bytes.subarray(at), sig: bytes.subarray(SIG_AT, BODY_KEY_AT) }
}

/**
 * Where the body begins, after its byte-string header at `start`, when that header is in
 * shortest form, the body is not empty and it ends exactly at the end of `bytes`; else 0.
 * (A tx is at most 64 KiB, so 0x5a and longer headers never occur.)
 */
function bodyAt (bytes: Uint8Array, start: number): number {
  const h = bytes[start]!
  let len: number
  let at: number
  if (h >= 0x41 && h <= 0x57) {
    len = h - 0x40; at = start + 1
  } else if (h === 0x58 && bytes.length >= start + 2) {
    len = bytes[start + 1]!; at = start + 2
    if (len < 24) return 0
  } else if (h === 0x59 && bytes.length >= start + 3) {
    len = (bytes[start + 1]! << 8) | bytes[start + 2]!; at = start + 3
    if (len < 0x100) return 0
  } else {
    return 0
  }
  return at + len === bytes.length ? at : 0
}

/** The transaction id (32 bytes) of wire bytes or an already decoded tx. */
export function txId (tx: Uint8Array | DecodedTx): Uint8Array {
  return tx instanceof Uint8Array ? decodeTx(tx).id : tx.id
}

export function txIdHex (tx: Uint8Array | DecodedTx): string {
  return toHex(txId(tx))
}

/** The error checkTxStateless throws for a tx whose signature does not verify. */
export function badSignature (tx: DecodedTx): ValidationError {
  return new ValidationError('ERR_BAD_SIGNATURE', `transaction ${tx.idHex.slice(0, 16)} has an invalid signature for sender ${tx.sender}`)
}

/** What a tx's signature signs: its id (which hashes the body), under the sender's key. */
export function txSignedMessage (tx: DecodedTx): SignedMessage {
  return { signature: tx.sig, message: tx.id, publicKey: tx.body.sender }
}

/** Checks the signature with the node's validity rule (crypto's verify, docs/crypto.md). */
export function verifyTxSignature (tx: DecodedTx): boolean {
  const m = txSignedMessage(tx)
  return verify(m.signature, m.message, m.publicKey)
}

/**
 * Everything about a transaction that does not depend on state: chain, signature, a known
 * contract and method, and arguments matching the method's schema. The mempool runs this once
 * at admission. Pass `signatureChecked` when the signature result is already known (cache).
 */
export function checkTxStateless (tx: DecodedTx, chainId: string, opts: { signatureChecked?: boolean } = {}): void {
  if (tx.body.chainId !== chainId) {
    throw new ValidationError('ERR_WRONG_CHAIN', `transaction ${tx.idHex.slice(0, 16)} is for chain "${tx.body.chainId}", this is "${chainId}"`)
  }
  if (opts.signatureChecked !== true && !verifyTxSignature(tx)) throw badSignature(tx)
  checkCall(tx.body.contract, tx.body.method, tx.body.args, 'args')
}

/**
 * Checks one contract call (also each call inside atomic.exec). Throws ValidationError with
 * ERR_UNKNOWN_CONTRACT, ERR_UNKNOWN_METHOD or ERR_BAD_ARGS; `where` names the place in the tx.
 */
export function checkCall (contract: string, method: string, args: unknown, where: string): void {
  const methods = Object.hasOwn(METHODS, contract) ? METHODS[contract] : undefined
  if (methods === undefined) {
    throw new ValidationError('ERR_UNKNOWN_CONTRACT', `unknown contract "${contract}" at ${where} (known: ${Object.keys(METHODS).join(', ')})`)
  }
  const m = Object.hasOwn(methods, method) ? methods[method] : undefined
  if (m === undefined) {
    throw new ValidationError('ERR_UNKNOWN_METHOD', `unknown method "${contract}.${method}" at ${where} (known: ${Object.keys(methods).join(', ')})`)
  }
  if (!m.check.Check(args)) {
    const first = m.check.Errors(args).First()
    const path = first === undefined || first.path === '' ? '' : first.path
    throw new ValidationError('ERR_BAD_ARGS', `bad arguments for ${contract}.${method} at ${where}${path}: ${first?.message ?? 'does not match schema'}`)
  }
  if (contract === 'kv' && method === 'set') {
    const value = (args as { value: Uint8Array | string }).value
    if (typeof value === 'string' && utf8(value).length > MAX_KV_VALUE_BYTES) {
      throw new ValidationError('ERR_BAD_ARGS', `bad arguments for kv.set at ${where}/value: string is over ${MAX_KV_VALUE_BYTES} UTF-8 bytes`)
    }
  }
  if (contract === 'atomic') {
    const calls = (args as { calls: Array<{ contract: string, method: string, args: unknown }> }).calls
    for (let i = 0; i < calls.length; i++) {
      const c = calls[i]!
      if (c.contract === 'atomic') {
        throw new ValidationError('ERR_BAD_ARGS', `nested atomic call at ${where}/calls/${i} is not allowed`, { failedCall: i })
      }
      try {
        checkCall(c.contract, c.method, c.args, `${where}/calls/${i}/args`)
      } catch (err) {
        if (err instanceof ValidationError) throw new ValidationError(err.code, err.message, { failedCall: i })
        throw err
      }
    }
  }
}

/** 40 hex chars: the first 20 bytes of taggedHash('bft-ledger/address', publicKey). */
export function address (publicKey: Uint8Array): string {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_BYTES) {
    throw new DecodeError(`public key must be ${PUBLIC_KEY_BYTES} bytes`)
  }
  return addressOf(publicKey)
}
