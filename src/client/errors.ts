import { BftError } from '../errors.js'

/**
 * No node could answer: connection refused, timeout, 5xx, or every circuit breaker open.
 * Retrying later may help; the CLI maps it to exit code 2.
 */
export class NodeUnavailableError extends BftError {
  constructor (message: string, details?: Record<string, unknown>) {
    super('ERR_NODE_UNAVAILABLE', message, details)
  }
}

/** A node answered with an error body `{ error: { code, message } }`; `code` is the node's. */
export class ApiError extends BftError {
  readonly status: number
  readonly node: string
  /** For a 429: how long the node asked us to wait before the next request (ms). */
  readonly retryAfterMs: number | undefined
  constructor (code: string, message: string, status: number, node: string, retryAfterMs?: number) {
    super(code, message, { status, node, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) })
    this.status = status
    this.node = node
    this.retryAfterMs = retryAfterMs
  }
}

/**
 * Data from a node failed verification against the genesis validator set: the node (or
 * something between us and it) lied. `code` says which check failed (ERR_CERT_QUORUM,
 * ERR_CERT_BLOCK_HASH, ERR_STATE_PROOF, ...).
 */
export class VerificationError extends BftError {
  constructor (code: string, message: string, details?: Record<string, unknown>) {
    super(code, message, details)
  }
}
