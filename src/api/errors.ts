import { BftError, DecodeError, ValidationError, ConfigError, CorruptionError } from '../errors.js'

/** The JSON body of every error response: `{ error: { code, message } }`. */
export interface ApiErrorBody {
  error: { code: string, message: string }
}

/**
 * HTTP status for a stable error code. Codes not listed fall back by class (see statusFor):
 * the table only names codes whose status differs from their class default.
 */
const STATUS_BY_CODE: Record<string, number> = {
  ERR_NOT_FOUND: 404,
  ERR_NO_ROUTE: 404,
  ERR_BAD_REQUEST: 400,
  ERR_BAD_JSON: 400,
  ERR_DECODE: 400,
  ERR_BAD_HEX: 400,
  ERR_BAD_TX: 400,
  ERR_TX_MALFORMED: 400,
  ERR_BAD_ADDRESS: 400,
  ERR_BAD_SIGNATURE: 400,
  ERR_WRONG_CHAIN: 400,
  ERR_TX_TOO_LARGE: 413,
  ERR_TX_OVERSIZE: 413,
  ERR_PAYLOAD_TOO_LARGE: 413,
  ERR_UNSUPPORTED_MEDIA_TYPE: 415,
  ERR_STALE_NONCE: 409,
  ERR_BAD_NONCE: 409,
  ERR_NONCE_USED: 409,
  ERR_DUPLICATE_TX: 409,
  ERR_TX_KNOWN: 409,
  ERR_NONCE_GAP: 422,
  ERR_NONCE_TOO_FAR: 422,
  ERR_INSUFFICIENT_FUNDS: 422,
  ERR_UNAUTHORIZED: 401,
  ERR_FORBIDDEN: 403,
  ERR_ADMIN_DISABLED: 403,
  ERR_MEMPOOL_FULL: 503,
  ERR_SENDER_QUOTA: 429,
  ERR_SENDER_LIMIT: 429,
  ERR_RATE_LIMITED: 429,
  ERR_NOT_READY: 503,
  ERR_NOT_CERTIFIED: 503,
  // A proof that new blocks overtook on every try (the node tries 5 times): busy, not wrong.
  ERR_UNKNOWN_ROOT: 503,
  ERR_NONCE_LOOKUP: 503,
  ERR_UNAVAILABLE: 503,
  ERR_SHUTTING_DOWN: 503,
  ERR_TIMEOUT: 504,
  ERR_CONFIG: 500,
  ERR_CORRUPT: 500,
  ERR_INTERNAL: 500
}

export function statusFor (err: BftError): number {
  const known = STATUS_BY_CODE[err.code]
  if (known !== undefined) return known
  if (err instanceof DecodeError) return 400
  if (err instanceof ValidationError) return 422
  if (err instanceof ConfigError || err instanceof CorruptionError) return 500
  // Other BftErrors are rejections of the request by a rule of the node.
  return 422
}

/** An error raised by the API layer itself, carrying its HTTP status. */
export class HttpError extends BftError {
  readonly status: number
  constructor (status: number, code: string, message: string) {
    super(code, message)
    this.status = status
  }
}

export function notFound (what: string): HttpError {
  return new HttpError(404, 'ERR_NOT_FOUND', `${what} not found`)
}

export function errorBody (code: string, message: string): ApiErrorBody {
  return { error: { code, message } }
}
