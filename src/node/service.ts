/**
 * What the HTTP API (api/) needs from a running node. node/ implements it; api/ depends only
 * on this interface, so API tests can run against a fake.
 * All byte values cross this boundary as lowercase hex strings and big amounts as decimal
 * strings, ready for JSON.
 */
import type { ReplicaStatus } from '../consensus/index.js'

export interface SubmitResult {
  txId: string
  /** 'accepted' (in mempool), 'committed' (with wait), 'failed' (committed with a failed receipt). */
  status: 'accepted' | 'committed' | 'failed'
  height?: number
  receipt?: ReceiptView
  traceId: string
}

export interface ReceiptView {
  txId: string
  height: number
  index: number
  status: string
  error: string
  result: unknown
  events: Array<{ type: string, data: unknown }>
  /** Trace timings in ms since the epoch for this tx on this node, the stages it reached: admitted, proposed, ordered, executed (traces.ts). */
  timings?: Record<string, number>
  traceId?: string
}

export interface BlockView {
  height: number
  hash: string
  header: {
    chainId: string
    height: number
    prevHash: string
    txRoot: string
    view: number
    proposer: number
    timestamp: number
  }
  txs: string[]
  txIds: string[]
  /**
   * Ids of this block's txs refused only for their position (a nonce gap): not applied and
   * not final, they stay pending and appear again in a later block, which applies or refuses
   * them for good. Every other id in txIds has its final receipt in this block.
   */
  retryable: string[]
  /**
   * Ids of this block's txs refused for good without being applied (a replayed nonce, a repeat
   * inside the block, a bad signature...): their nonce was not used and nothing changed. An
   * id already applied by an earlier block can appear here when a primary re-proposed it; the
   * tx index keeps the earlier, applied occurrence.
   */
  refused: string[]
  stateRoot: string
  /** Commit certificate: 2f+1 validator signatures over checkpointSignBytes(...). */
  certificate: { signatures: Array<{ validator: number, signature: string }> } | null
}

export interface StateView {
  contract: string
  key: string
  /** Hex of the stored value bytes, null when absent. */
  value: string | null
  /** Decoded value when it is canonical CBOR, else null. */
  decoded: unknown
  height: number
  stateRoot: string
  proof?: unknown
  /** The certified block at `height`, so a light client can check stateRoot against the certificate. */
  block?: BlockView
}

export interface PeerView {
  peerId: string
  validator: number | null
  connected: boolean
  suspected: boolean
  lastSeenMs: number | null
  rttMs: number | null
  score: number
}

export interface StatusView {
  chainId: string
  nodeId: string
  validatorIndex: number | null
  height: number
  headHash: string
  stateRoot: string
  view: number
  primary: number
  validators: Array<{ index: number, name: string, publicKey: string, peerId: string }>
  peers: PeerView[]
  mempoolSize: number
  uptimeSeconds: number
  /** The replica's own state: where it is stuck when its height lags the others'. */
  consensus: ReplicaStatus
}

export interface NodeService {
  /** Admits signed tx bytes; throws BftError (with code) on rejection. */
  submitTx: (txBytes: Uint8Array, opts: { wait: boolean, timeoutMs: number, traceId?: string }) => Promise<SubmitResult>
  /**
   * Hint before several submitTx calls: checks their signatures in one batch. Changes no
   * result of submitTx; a service may leave it out.
   */
  prevalidateTxs?: (txs: readonly Uint8Array[]) => void
  getTx: (txId: string) => Promise<ReceiptView | null>
  getBlock: (height: number) => Promise<BlockView | null>
  getLatestBlock: () => Promise<BlockView | null>
  getState: (contract: string, key: string, prove: boolean) => Promise<StateView>
  /** Balance (decimal string) and the nonce the account's next transaction must carry. */
  getAccount: (address: string) => Promise<{ address: string, balance: string, nonce: number }>
  status: () => Promise<StatusView>
  validators: () => StatusView['validators']
  /** Calls fn for each new committed block; returns an unsubscribe function. */
  onBlock: (fn: (block: BlockView) => void) => () => void
  /** Prometheus text exposition of every metric. */
  metrics: () => Promise<string>
  health: () => { ok: boolean, height: number, reason?: string }
  setLogLevel: (level: string) => void
}
