/**
 * Every error the node raises on purpose is a BftError with a stable `code`, so callers,
 * the HTTP API and tests match on the code and never on the message text.
 */
export class BftError extends Error {
  readonly code: string
  readonly details?: Record<string, unknown>

  constructor (code: string, message: string, details?: Record<string, unknown>) {
    super(message)
    this.name = new.target.name
    this.code = code
    if (details !== undefined) this.details = details
  }
}

/** Bytes that are not the canonical encoding of a value of the expected type. */
export class DecodeError extends BftError {
  constructor (message: string, details?: Record<string, unknown>) {
    super('ERR_DECODE', message, details)
  }
}

/** A well-formed value that breaks a rule of its type (ValidateBasic in CometBFT terms). */
export class ValidationError extends BftError {
  constructor (code: string, message: string, details?: Record<string, unknown>) {
    super(code, message, details)
  }
}

/** Configuration or genesis that cannot be used. */
export class ConfigError extends BftError {
  constructor (message: string, details?: Record<string, unknown>) {
    super('ERR_CONFIG', message, details)
  }
}

/** Stored data that fails its hash chain, certificate or schema check. */
export class CorruptionError extends BftError {
  constructor (message: string, details?: Record<string, unknown>) {
    super('ERR_CORRUPT', message, details)
  }
}

export function errorMessage (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
