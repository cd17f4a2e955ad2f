import { type Static, type TSchema } from '@sinclair/typebox'
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler'
import { DecodeError } from '../errors.js'
import { decode, encode, MAX_ENCODED_BYTES } from './cbor.js'

/**
 * A wire/storage type: a TypeBox schema (additionalProperties: false where it matters) compiled
 * once, plus canonical CBOR. `decode` is the only entry for untrusted bytes: canonical form,
 * size limit and shape are all checked before any logic sees the value (ValidateBasic).
 */
export class Codec<S extends TSchema> {
  readonly name: string
  readonly maxBytes: number
  private readonly check: TypeCheck<S>

  constructor (name: string, schema: S, maxBytes: number = MAX_ENCODED_BYTES) {
    this.name = name
    this.maxBytes = maxBytes
    this.check = TypeCompiler.Compile(schema)
  }

  encode (value: Static<S>): Uint8Array {
    return encode(value)
  }

  decode (bytes: Uint8Array): Static<S> {
    const value = decode(bytes, this.maxBytes)
    return this.validate(value)
  }

  /** Checks an already-decoded value (e.g. a nested field) against the schema. */
  validate (value: unknown): Static<S> {
    if (this.check.Check(value)) return value
    const first = this.check.Errors(value).First()
    const where = first?.path === undefined || first.path === '' ? '/' : first.path
    throw new DecodeError(`invalid ${this.name} at ${where}: ${first?.message ?? 'does not match schema'}`, { type: this.name, path: where })
  }

  is (value: unknown): value is Static<S> {
    return this.check.Check(value)
  }
}
