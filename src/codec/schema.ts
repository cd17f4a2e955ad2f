import { Kind, type Static, type TSchema } from '@sinclair/typebox'
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler'
import { DecodeError, ValidationError } from '../errors.js'
import { decode, encode, MAX_DEPTH, MAX_ENCODED_BYTES } from './cbor.js'

export interface CodecOptions {
  /**
   * Accept object fields the schema does not name (default false). Closed is the default because
   * a wire value with an extra field is a second encoding of the same message, and a field a
   * newer peer added would be silently ignored instead of refused.
   */
  allowUnknownFields?: boolean
  /** Deepest array/map nesting accepted (default MAX_DEPTH). */
  maxDepth?: number
}

/**
 * A wire/storage type: a TypeBox schema compiled once, plus canonical CBOR. `decode` is the only
 * entry for untrusted bytes: canonical form, size limit, depth limit and shape are all checked
 * before any logic sees the value (ValidateBasic). Every failure is a DecodeError naming the type
 * and the path.
 */
export class Codec<S extends TSchema> {
  readonly name: string
  readonly maxBytes: number
  readonly maxDepth: number
  readonly schema: S
  private readonly check: TypeCheck<S>

  constructor (name: string, schema: S, maxBytes: number = MAX_ENCODED_BYTES, options: CodecOptions = {}) {
    this.name = name
    this.maxBytes = maxBytes
    this.maxDepth = options.maxDepth ?? MAX_DEPTH
    this.schema = options.allowUnknownFields === true ? schema : closeObjects(schema)
    this.check = TypeCompiler.Compile(this.schema)
  }

  /** Canonical bytes of a value, which must match the schema (ValidationError ERR_ENCODE otherwise). */
  encode (value: Static<S>): Uint8Array {
    if (!this.check.Check(value)) {
      const { where, message } = this.firstError(value)
      throw new ValidationError('ERR_ENCODE', `cannot encode ${this.name}: invalid at ${where}: ${message}`, { type: this.name, path: where })
    }
    return encode(value, this.maxBytes)
  }

  decode (bytes: Uint8Array): Static<S> {
    let value: unknown
    try {
      value = decode(bytes, this.maxBytes, this.maxDepth)
    } catch (err) {
      if (err instanceof DecodeError) throw new DecodeError(`invalid ${this.name}: ${err.message}`, { ...err.details, type: this.name })
      throw err
    }
    return this.validate(value)
  }

  /** Checks an already-decoded value (e.g. a nested field) against the schema. */
  validate (value: unknown): Static<S> {
    if (this.check.Check(value)) return value
    const { where, message } = this.firstError(value)
    throw new DecodeError(`invalid ${this.name} at ${where}: ${message}`, { type: this.name, path: where })
  }

  is (value: unknown): value is Static<S> {
    return this.check.Check(value)
  }

  private firstError (value: unknown): { where: string, message: string } {
    const first = this.check.Errors(value).First()
    const where = first?.path === undefined || first.path === '' ? '/' : first.path
    return { where, message: first?.message ?? 'does not match schema' }
  }
}

/**
 * A copy of the schema where every Type.Object that does not say otherwise has
 * additionalProperties: false. Members of an Intersect (allOf) are left open, since each member
 * only names part of the fields and TypeBox closes the whole with unevaluatedProperties.
 */
export function closeObjects<S extends TSchema> (schema: S): S {
  return closeNode(schema) as S
}

function closeNode (node: unknown): unknown {
  if (Array.isArray(node)) return node.map(closeNode)
  if (typeof node !== 'object' || node === null) return node
  const src = node as Record<string | symbol, unknown>
  const out: Record<string | symbol, unknown> = { ...src }
  for (const key of Object.keys(src)) {
    if (key === 'allOf') continue
    const child = src[key]
    if (key === 'properties' || key === 'patternProperties' || key === '$defs') {
      if (typeof child === 'object' && child !== null) {
        out[key] = Object.fromEntries(Object.entries(child).map(([k, v]) => [k, closeNode(v)]))
      }
    } else if (key === 'items' || key === 'prefixItems' || key === 'anyOf' || key === 'oneOf' || key === 'not' || key === 'additionalProperties' || key === 'additionalItems') {
      out[key] = closeNode(child)
    }
  }
  if (src[Kind] === 'Object' && src.additionalProperties === undefined) out.additionalProperties = false
  return out
}
