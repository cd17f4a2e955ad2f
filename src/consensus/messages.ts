import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { Codec, decode, encode, bytesEqual } from '../codec/index.js'
import { errorMessage } from '../errors.js'
import { checkpointSignBytes, faultTolerance, type ConsensusCrypto, type ReplicaConfig, type ReplicaId } from './types.js'

/**
 * Signed PBFT messages. Wire = canonical CBOR { body, sig } where body is the canonical CBOR
 * of { chainId, from, kind, payload } and sig is `from`'s signature over
 * messageSignBytes(body). Nested evidence (prepared certificates, view changes, re-issued
 * pre-prepares) is carried as the original signed wire bytes, so anyone can re-check it.
 * docs/consensus.md describes every field.
 */

const MiB = 1024 * 1024

/**
 * Hard cap on one consensus message. A VIEW-CHANGE carries every prepared batch above the
 * stable checkpoint and a NEW-VIEW a quorum of those plus the re-proposed batches, so their size
 * scales with windowSize x maxBatchBytes; genesis validation keeps maxViewChangeBytes under this
 * cap. (At 8 MiB, a view change with 16 prepared 512 KiB batches could not even be encoded and
 * the replicas stayed in the view change for good: test/node/frame-limit.test.ts.) What a peer
 * can make us buffer is bounded earlier, by the transport's frame limit.
 */
export const MAX_MESSAGE_BYTES = 255 * MiB

/**
 * Upper bound on the largest message honest replicas send under these parameters: a NEW-VIEW
 * with a quorum of VIEW-CHANGEs, each carrying up to windowSize prepared batches, plus up to
 * windowSize re-proposed batches (per-batch and per-message allowances for votes and framing).
 */
export function maxViewChangeBytes (validators: number, windowSize: number, maxBatchBytes: number): number {
  const { quorum } = faultTolerance(validators)
  return (quorum + 1) * windowSize * (maxBatchBytes + 64 * 1024) + MiB
}

const Uint = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })
// Sizes are loose on purpose: the crypto is injected and the simulator may use a stand-in.
const Digest = Type.Uint8Array({ minByteLength: 1, maxByteLength: 64 })
const Signature = Type.Uint8Array({ minByteLength: 1, maxByteLength: 256 })
const Wire = Type.Uint8Array({ minByteLength: 1 })

export const RequestSchema = Type.Object({
  id: Type.Uint8Array({ minByteLength: 1, maxByteLength: 64 }),
  bytes: Type.Uint8Array()
}, { additionalProperties: false })

export const PrePrepareSchema = Type.Object({
  view: Uint,
  seq: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
  timestamp: Uint,
  /**
   * View and replica that first proposed this batch. Equal to (view, from) for a fresh batch;
   * a NEW-VIEW re-issue keeps the original values. They are inside the digest, so every
   * replica builds the same block header whichever view the batch finally commits in.
   */
  originView: Uint,
  proposer: Uint,
  digest: Digest,
  requests: Type.Array(RequestSchema)
}, { additionalProperties: false })

export const VoteSchema = Type.Object({
  view: Uint,
  seq: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
  digest: Digest
}, { additionalProperties: false })

export const CheckpointSchema = Type.Object({
  seq: Uint,
  blockHash: Digest,
  stateRoot: Digest,
  /** Signature over checkpointSignBytes(chainId, seq, blockHash, stateRoot): certificate material. */
  signature: Signature
}, { additionalProperties: false })

export const CheckpointSignatureSchema = Type.Object({
  replica: Uint,
  signature: Signature
}, { additionalProperties: false })

/** 2f+1 checkpoint signatures over (seq, blockHash, stateRoot); seq 0 (genesis) needs none. */
export const StableProofSchema = Type.Object({
  seq: Uint,
  blockHash: Type.Uint8Array({ maxByteLength: 64 }),
  stateRoot: Type.Uint8Array({ maxByteLength: 64 }),
  signatures: Type.Array(CheckpointSignatureSchema)
}, { additionalProperties: false })

/** A signed PRE-PREPARE plus 2f signed PREPAREs from distinct backups, all for one (view, seq, digest). */
export const PreparedCertSchema = Type.Object({
  prePrepare: Wire,
  prepares: Type.Array(Wire)
}, { additionalProperties: false })

export const ViewChangeSchema = Type.Object({
  newView: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
  stable: StableProofSchema,
  prepared: Type.Array(PreparedCertSchema)
}, { additionalProperties: false })

export const NewViewSchema = Type.Object({
  view: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
  viewChanges: Type.Array(Wire),
  prePrepares: Type.Array(Wire)
}, { additionalProperties: false })

export type ClientRequestWire = Static<typeof RequestSchema>
export type PrePrepare = Static<typeof PrePrepareSchema>
export type Vote = Static<typeof VoteSchema>
export type Checkpoint = Static<typeof CheckpointSchema>
export type StableProof = Static<typeof StableProofSchema>
export type PreparedCert = Static<typeof PreparedCertSchema>
export type ViewChange = Static<typeof ViewChangeSchema>
export type NewView = Static<typeof NewViewSchema>

export type MessageKind = 'pre-prepare' | 'prepare' | 'commit' | 'checkpoint' | 'view-change' | 'new-view'

interface BodyOf<K extends MessageKind, P> { chainId: string, from: ReplicaId, kind: K, payload: P }
export type PrePrepareBody = BodyOf<'pre-prepare', PrePrepare>
export type PrepareBody = BodyOf<'prepare', Vote>
export type CommitBody = BodyOf<'commit', Vote>
export type CheckpointBody = BodyOf<'checkpoint', Checkpoint>
export type ViewChangeBody = BodyOf<'view-change', ViewChange>
export type NewViewBody = BodyOf<'new-view', NewView>
export type MessageBody = PrePrepareBody | PrepareBody | CommitBody | CheckpointBody | ViewChangeBody | NewViewBody

const EnvelopeSchema = Type.Object({ body: Wire, sig: Signature }, { additionalProperties: false })
const BodySchema = Type.Object({
  chainId: Type.String({ minLength: 1, maxLength: 128 }),
  from: Uint,
  kind: Type.Union([
    Type.Literal('pre-prepare'), Type.Literal('prepare'), Type.Literal('commit'),
    Type.Literal('checkpoint'), Type.Literal('view-change'), Type.Literal('new-view')
  ]),
  payload: Type.Unknown()
}, { additionalProperties: false })

export const envelopeCodec = new Codec('consensus message', EnvelopeSchema, MAX_MESSAGE_BYTES)
const bodyCodec = new Codec('consensus message body', BodySchema, MAX_MESSAGE_BYTES)

const payloadCodecs: Record<MessageKind, Codec<TSchema>> = {
  'pre-prepare': new Codec('PRE-PREPARE', PrePrepareSchema),
  prepare: new Codec('PREPARE', VoteSchema),
  commit: new Codec('COMMIT', VoteSchema),
  checkpoint: new Codec('CHECKPOINT', CheckpointSchema),
  'view-change': new Codec('VIEW-CHANGE', ViewChangeSchema, MAX_MESSAGE_BYTES),
  'new-view': new Codec('NEW-VIEW', NewViewSchema, MAX_MESSAGE_BYTES)
}

/** The bytes `from` signs: tagged so a consensus signature can never pass as any other signed object. */
export function messageSignBytes (bodyBytes: Uint8Array): Uint8Array {
  return encode(['bft-ledger/consensus/v1', bodyBytes], MAX_MESSAGE_BYTES + 64)
}

/** Encodes and signs a body with this replica's key; returns the wire bytes. */
export function signMessage (body: MessageBody, crypto: ConsensusCrypto): Uint8Array {
  const bodyBytes = encode(body, MAX_MESSAGE_BYTES)
  const sig = crypto.sign(messageSignBytes(bodyBytes))
  return envelopeCodec.encode({ body: bodyBytes, sig })
}

/**
 * `envelopeUnchecked`: a COMMIT accepted on its transport's authentication alone (see
 * openMessage); its envelope signature must be checked before the wire is shown to anyone else.
 */
export type Opened = { from: ReplicaId, body: MessageBody, envelopeUnchecked?: true } | { error: string }

/**
 * The only way untrusted consensus bytes get in: canonical decode, envelope and body schema,
 * chainId, sender is a validator, the sender's signature, the payload schema for its kind,
 * and for CHECKPOINT the certificate signature. Never throws.
 *
 * Two envelope checks are skipped, because another check already proves who sent what
 * (docs/consensus.md, "Which signatures are checked"):
 * - CHECKPOINT: the certificate signature inside covers chainId, seq, blockHash and stateRoot,
 *   everything the body says besides its sender's index and kind, and it is checked against
 *   the key of the validator the body names. The envelope would prove the same statement again.
 * - COMMIT, when `authenticatedFrom` (the validator the transport authenticated as the sender
 *   of these bytes: Noise binds each connection to a peer id that genesis maps to one
 *   validator) is the validator the body names: the channel already proves the sender said it.
 *   A COMMIT is never evidence in a view change, so no third party relies on its signature,
 *   except a lagging replica that is forwarded commit proofs: the replica checks such a wire
 *   before forwarding it (`envelopeUnchecked`). PRE-PREPAREs and PREPAREs are always checked:
 *   they become prepared certificates that other replicas verify in a view change.
 */
export function openMessage (bytes: Uint8Array, config: ReplicaConfig, crypto: ConsensusCrypto, authenticatedFrom?: ReplicaId): Opened {
  try {
    const env = envelopeCodec.decode(bytes)
    const raw = bodyCodec.decode(env.body)
    if (raw.chainId !== config.chainId) return { error: `wrong chainId "${raw.chainId}" (expected "${config.chainId}")` }
    const validator = config.validators[raw.from]
    if (validator === undefined) return { error: `sender ${raw.from} is not a validator (n=${config.validators.length})` }
    const fromSigner = raw.kind === 'commit' && authenticatedFrom === raw.from
    if (raw.kind !== 'checkpoint' && !fromSigner && !crypto.verify(env.sig, messageSignBytes(env.body), validator.publicKey)) {
      return { error: `bad signature on ${raw.kind} from ${raw.from}` }
    }
    const payload = payloadCodecs[raw.kind].validate(raw.payload)
    const body = { chainId: raw.chainId, from: raw.from, kind: raw.kind, payload } as MessageBody
    if (body.kind === 'checkpoint') {
      const p = body.payload
      const signed = checkpointSignBytes(config.chainId, p.seq, p.blockHash, p.stateRoot)
      if (!crypto.verify(p.signature, signed, validator.publicKey)) {
        return { error: `bad checkpoint signature for seq ${p.seq} from ${raw.from}` }
      }
    }
    return fromSigner ? { from: raw.from, body, envelopeUnchecked: true } : { from: raw.from, body }
  } catch (err) {
    return { error: errorMessage(err) }
  }
}

/**
 * Decodes wire bytes this replica wrote itself (its WAL) without re-verifying signatures.
 * Throws DecodeError on malformed input.
 */
export function decodeTrusted (bytes: Uint8Array): MessageBody {
  const env = envelopeCodec.decode(bytes)
  const raw = bodyCodec.decode(env.body)
  const payload = payloadCodecs[raw.kind].validate(raw.payload)
  return { chainId: raw.chainId, from: raw.from, kind: raw.kind, payload } as MessageBody
}

/**
 * Batch digest: a hash over the timestamp, the batch's origin (view, proposer) and the request
 * ids in order. Ids are content hashes of the requests, so the digest binds the whole batch.
 * A null batch has no ids.
 */
export function batchDigest (crypto: ConsensusCrypto, timestamp: number, originView: number, proposer: number, ids: Uint8Array[]): Uint8Array {
  return crypto.hash(encode(['bft-ledger/batch/v1', timestamp, originView, proposer, ids]))
}

export function sameDigest (a: Uint8Array, b: Uint8Array): boolean {
  return bytesEqual(a, b)
}

/** Canonical CBOR decode helper re-exported for WAL records. */
export { decode as decodeCbor, encode as encodeCbor }
