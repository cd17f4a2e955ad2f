import { BftError, ConfigError, DecodeError, ValidationError, errorMessage } from '../errors.js'
import { ApiError, NodeUnavailableError, VerificationError } from '../client/errors.js'

/** Exit codes: 0 ok, 1 the user asked for something wrong, 2 the node or network failed. */
export const EXIT_OK = 0
export const EXIT_USER = 1
export const EXIT_NODE = 2

/** A mistake in the command line or its inputs; exit code 1. */
export class UserError extends BftError {
  constructor (message: string, code = 'ERR_USAGE') {
    super(code, message)
  }
}

export function exitCodeFor (err: unknown): number {
  if (err instanceof UserError || err instanceof ConfigError || err instanceof ValidationError || err instanceof DecodeError) return EXIT_USER
  if (err instanceof ApiError) return err.status >= 400 && err.status < 500 ? EXIT_USER : EXIT_NODE
  if (err instanceof NodeUnavailableError || err instanceof VerificationError) return EXIT_NODE
  if (err instanceof BftError) return err.code === 'ERR_TIMEOUT' ? EXIT_NODE : EXIT_USER
  return EXIT_NODE
}

/** One line, no stack: what went wrong and, for node errors, the node's stable code. */
export function formatError (err: unknown): string {
  const msg = errorMessage(err).replace(/\s*\n\s*/g, ' ')
  if (err instanceof ApiError) return `error: ${err.node} rejected the request: ${err.code}: ${msg}`
  if (err instanceof VerificationError) return `error: verification failed (${err.code}): ${msg}`
  if (err instanceof BftError) return `error: ${msg}`
  return `error: ${msg}`
}
