import { encode } from '../codec/cbor.js'

/**
 * The contract between the pure PBFT replica and whatever drives it (the simulator or the
 * networked node). The replica never reads a clock, draws randomness or does I/O: the driver
 * passes `now` and events in, and carries the returned effects out.
 */

/** Validator index in genesis order, 0..n-1. The primary of view v is v mod n. */
export type ReplicaId = number

export interface Validator {
  /** 32-byte ed25519 public key; every consensus message from this validator is signed by it. */
  publicKey: Uint8Array
}

/** Injected crypto: the node uses node:crypto, the simulator may use a cheaper deterministic stand-in. */
export interface ConsensusCrypto {
  sign: (message: Uint8Array) => Uint8Array
  verify: (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => boolean
  hash: (...parts: Uint8Array[]) => Uint8Array
}

export interface ReplicaConfig {
  /** Signed into every message, so a signature from one chain is worthless on another. */
  chainId: string
  validators: Validator[]
  self: ReplicaId
  /** Max requests in one batch; a batch is cut when full or when batchTimeoutMs passes. */
  maxBatchSize: number
  maxBatchBytes: number
  batchTimeoutMs: number
  /** K: a checkpoint certificate every K sequence numbers becomes stable and moves the low watermark. */
  checkpointInterval: number
  /** L: sequence numbers in (h, h+L] may be in flight at once. */
  windowSize: number
  /** Base view-change timeout; doubles for each consecutive view change without progress. */
  viewChangeTimeoutMs: number
  /** Max |proposer timestamp - local now| a backup accepts in a pre-prepare. */
  maxClockSkewMs: number
  /**
   * Proposer policy, not a consensus rule (backups never check it): while this many of the
   * primary's batches are proposed but not yet executed here, it does not cut a partial batch
   * when the batch timer fires; it waits for one to execute. Under load the batches then grow
   * with the backlog instead of the block count growing with time, so per-block costs (votes,
   * signatures, one fsynced write) are paid per many transactions. Full batches are always cut.
   * Default: no limit (the window L still bounds them).
   */
  maxInFlightBatches?: number
  /**
   * Proposer policy, not a consensus rule: a partial batch is cut no sooner than this long after
   * the primary's previous proposal (full batches always go at once). A lone request after a
   * quiet spell still waits only batchTimeoutMs; under moderate load blocks come at most every
   * minBlockIntervalMs, so each block's fixed cost (votes, signatures, fsyncs, ~13 ms of a
   * validator's CPU on the benchmark machine) is shared by more transactions. Default 0.
   */
  minBlockIntervalMs?: number
}

/** A request is an opaque, already-signed client transaction. The replica only needs its id. */
export interface ClientRequest {
  id: Uint8Array
  bytes: Uint8Array
}

export type ReplicaEvent =
  /**
   * Bytes of a consensus message from a peer. `from` must be the validator the transport
   * authenticated as the sender (or -1 if none): a COMMIT signed in `from`'s name is taken on
   * that authentication without its envelope check (openMessage, docs/consensus.md).
   */
  | { type: 'message', from: ReplicaId, bytes: Uint8Array }
  /** A client request admitted by this node's mempool (already validated). */
  | { type: 'request', request: ClientRequest }
  | { type: 'timer', id: string }
  /** The driver executed the batch at seq and built its block. */
  | {
    type: 'executed', seq: number, blockHash: Uint8Array, stateRoot: Uint8Array
    /**
     * Optional: ids of requests in this batch that the application refused without any
     * effect and that a later block may still apply (the ledger: receipt ERR_NONCE_GAP, a
     * transaction ordered before the one that fills its sender's nonce gap). The replica
     * otherwise refuses an executed id for the next 4L+64 seqs, so the client's resubmission
     * would never be proposed; listed ids are forgotten and may be proposed again. List
     * nothing that was applied or can never apply (stale nonce, duplicate, bad signature,
     * wrong chain, malformed): those must stay deduplicated. Ids not in the batch are ignored.
     */
    retryable?: Uint8Array[]
  }
  /**
   * The driver fetched and verified, by block sync, a certified block at seq (and all before it);
   * the replica jumps forward to it.
   */
  | {
    type: 'synced', seq: number, blockHash: Uint8Array, stateRoot: Uint8Array
    /**
     * Optional: the block's certificate (2f+1 checkpoint signatures). When given and valid the
     * replica adopts seq as its stable checkpoint (low watermark) directly; without it the low
     * watermark moves only when the replica collects a stable certificate itself.
     */
    signatures?: CheckpointSignature[]
  }

/** A record that must be durable before the messages after it in the same effect list are sent. */
export interface PersistRecord {
  kind: string
  bytes: Uint8Array
  /**
   * Sequence number the record is about, when it is about one. Records with seq < belowSeq of
   * a later `truncateLog` effect are garbage; records without seq (view changes) are kept.
   */
  seq?: number
}

export interface CheckpointSignature {
  replica: ReplicaId
  signature: Uint8Array
}

export type ViewChangeReason = 'timeout' | 'escalated' | 'joined'

/** Where a replica stands (GET /status → consensus, and each view-change vote). */
export interface ReplicaStatus {
  view: number
  primary: number
  lastExecuted: number
  lowWatermark: number
  inViewChange: boolean
  pendingRequests: number
  /** The view asked for while inViewChange (else the current view). */
  targetView: number
  /** Highest seq committed here, executed or not (may lie above a gap). */
  decided: number
  /** The seq handed to the driver for execution and not yet reported executed, if any. */
  executing: number | null
  /** Next seq this replica would assign as primary. */
  nextSeq: number
}

export type ReplicaEffect =
  | { type: 'persist', record: PersistRecord }
  /** 'all' means every other validator: the replica records its own votes itself and ignores copies of them. */
  | { type: 'send', to: ReplicaId | 'all', bytes: Uint8Array }
  | { type: 'setTimer', id: string, delayMs: number }
  | { type: 'cancelTimer', id: string }
  /**
   * Execute this committed batch as block `seq`; reply with an `executed` event. Emitted in seq
   * order. If the driver already holds block `seq` (a block sync raced it), it skips it: a
   * later `synced` covering seq releases the replica.
   */
  | { type: 'execute', seq: number, view: number, proposer: ReplicaId, timestamp: number, requests: ClientRequest[] }
  /** 2f+1 matching signed checkpoints for (seq, blockHash, stateRoot): the block's commit certificate. */
  | { type: 'certified', seq: number, blockHash: Uint8Array, stateRoot: Uint8Array, signatures: CheckpointSignature[] }
  | { type: 'viewChanged', view: number, primary: ReplicaId }
  /**
   * This replica sent a VIEW-CHANGE to `newView` (operators' failure-detection signal):
   * 'timeout' its timer expired in the view, 'escalated' 2f+1 gave up on the previous target
   * and it moved on, 'joined' f+1 others asked for (or work in) a higher view.
   * `status` is the replica's position as it leaves the view (`decided` above `lastExecuted`
   * tells a replica whose own execution lags from a stalled primary). For logs and metrics.
   */
  | { type: 'viewChangeStarted', newView: number, reason: ViewChangeReason, status: ReplicaStatus }
  /** The replica knows of certified blocks beyond what it has; the driver should block-sync up to seq. */
  | { type: 'needSync', seq: number }
  /** A peer sent something invalid (bad signature, wrong view, conflicting vote...). For scoring and logs. */
  | { type: 'rejected', from: ReplicaId, reason: string }
  /**
   * A new stable checkpoint: persisted records with seq < belowSeq are no longer needed
   * (pass the records kept, in their original order, back as ReplicaOptions.restore.records).
   */
  | { type: 'truncateLog', belowSeq: number }

/**
 * The exact bytes a validator signs in CHECKPOINT(seq, blockHash, stateRoot). 2f+1 of these
 * signatures are a block's commit certificate; light clients and block sync check them with
 * this function, so it is the one definition shared by consensus, ledger and client.
 */
export function checkpointSignBytes (chainId: string, seq: number, blockHash: Uint8Array, stateRoot: Uint8Array): Uint8Array {
  return encode(['bft-ledger/checkpoint/v1', chainId, seq, blockHash, stateRoot])
}

/** Quorum sizes for n = 3f+1 validators. */
export function faultTolerance (n: number): { f: number, quorum: number, weak: number } {
  const f = Math.floor((n - 1) / 3)
  return { f, quorum: 2 * f + 1, weak: f + 1 }
}
