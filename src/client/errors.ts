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
  constructor (code: string, message: string, status: number, node: string) {
    super(code, message, { status, node })
    this.status = status
    this.node = node
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
