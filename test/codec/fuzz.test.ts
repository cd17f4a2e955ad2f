import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { Type } from '@sinclair/typebox'
import { Codec, encode, decode, bytesEqual } from '../../src/codec/index.js'
import { DecodeError } from '../../src/errors.js'

// Replay a failure with FUZZ_SEED=<seed> (fast-check also prints seed and path on failure).
const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed_c0de)
console.log(`codec fuzz seed=${SEED} (replay: FUZZ_SEED=${SEED})`)

const key = fc.string({ unit: 'binary', maxLength: 6 }).filter(k => k !== '__proto__')
const { value: cborValue } = fc.letrec<{ value: unknown }>(tie => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.maxSafeInteger(),
    fc.integer({ min: -30, max: 30 }),
    fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n - 1n }),
    fc.string({ unit: 'binary', maxLength: 12 }),
    fc.boolean(),
    fc.constant(null),
    fc.uint8Array({ maxLength: 40 }),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(key, tie('value'), { maxKeys: 5 })
  )
}))

/** What decode gives back: safe bigints become numbers, objects become plain objects. */
function normalize (v: unknown): unknown {
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v
  if (v instanceof Uint8Array || v === null || typeof v !== 'object') return v
  if (Array.isArray(v)) return v.map(normalize)
  const out: Record<string, unknown> = {}
  for (const [k, x] of Object.entries(v)) out[k] = normalize(x)
  return out
}

const Hash32 = Type.Uint8Array({ minByteLength: 32, maxByteLength: 32 })
const codecs = [
  new Codec('Header', Type.Object({ chainId: Type.String({ maxLength: 64 }), height: Type.Integer({ minimum: 1 }), prevHash: Hash32, txRoot: Hash32, view: Type.Integer({ minimum: 0 }) }), 4096),
  new Codec('Tx', Type.Object({ body: Type.Object({ nonce: Type.Integer({ minimum: 0 }), args: Type.Array(Type.Union([Type.String(), Type.Integer(), Type.BigInt(), Type.Uint8Array()])) }), sig: Type.Uint8Array({ minByteLength: 64, maxByteLength: 64 }) }), 64 * 1024),
  new Codec('Msg', Type.Union([Type.Tuple([Type.Literal('prepare'), Type.Integer(), Type.Integer(), Hash32]), Type.Tuple([Type.Literal('commit'), Type.Integer(), Hash32])]), 1024),
  new Codec('Kv', Type.Record(Type.String({ maxLength: 32 }), Type.Union([Type.Null(), Type.Uint8Array()])), 16 * 1024)
]

let accepted = 0
/** The property behind every fuzz case: only DecodeError escapes, and what is accepted is canonical. */
function probe (bytes: Uint8Array): void {
  let value: unknown
  try {
    value = decode(bytes)
  } catch (err) {
    if (!(err instanceof DecodeError)) throw new Error(`decode threw ${String(err)} for ${Buffer.from(bytes).toString('hex').slice(0, 200)}`)
    value = undefined
  }
  if (value !== undefined) {
    accepted++
    assert.ok(bytesEqual(encode(value), bytes), 'accepted input must be exactly the canonical encoding of its value')
  }
  for (const c of codecs) {
    try {
      c.decode(bytes)
    } catch (err) {
      if (!(err instanceof DecodeError)) throw new Error(`${c.name}.decode threw ${String(err)} for ${Buffer.from(bytes).toString('hex').slice(0, 200)}`)
    }
  }
}

// Raw CBOR heads of every major type with arguments near the boundaries, plus reserved minors,
// indefinite lengths, tags, floats and breaks: token soup reaches far more decoder branches than
// uniform bytes do.
const head = fc.oneof(
  fc.integer({ min: 0, max: 255 }).map(b => Uint8Array.of(b)),
  fc.tuple(fc.integer({ min: 0, max: 7 }), fc.constantFrom(0, 1, 23, 24, 25, 26, 27, 28, 31)).chain(([major, minor]) =>
    fc.uint8Array({ minLength: minor === 24 ? 1 : minor === 25 ? 2 : minor === 26 ? 4 : minor === 27 ? 8 : 0, maxLength: minor >= 24 && minor <= 27 ? 8 : 0 })
      .map(arg => Uint8Array.from([(major << 5) | minor, ...arg]))),
  fc.string({ maxLength: 4 }).map(s => encode(s)),
  fc.constantFrom(Uint8Array.of(0xff), Uint8Array.of(0xf7), Uint8Array.of(0xf9, 0x3c, 0x00), Uint8Array.of(0xc2, 0x41, 0x01))
)
const tokenSoup = fc.array(head, { maxLength: 24 }).map(parts => Uint8Array.from(parts.flatMap(p => [...p])))

type Mutation = { kind: 'flip', at: number, bit: number } | { kind: 'truncate', at: number } | { kind: 'insert', at: number, bytes: Uint8Array } | { kind: 'set', at: number, byte: number } | { kind: 'delete', at: number, len: number }
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.oneof(cborValue.map(v => encode(v)), fc.uint8Array({ minLength: 1, maxLength: 4 })) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.constantFrom(0x00, 0x17, 0x18, 0x1f, 0x40, 0x60, 0x80, 0x9f, 0xa0, 0xbf, 0xc0, 0xf4, 0xf7, 0xf9, 0xfb, 0xff) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 4 }) })
)
function mutate (input: Uint8Array, ms: Mutation[]): Uint8Array {
  let b = Uint8Array.from(input)
  for (const m of ms) {
    const at = b.length === 0 ? 0 : m.at % (b.length + (m.kind === 'insert' ? 1 : 0))
    if (m.kind === 'flip' && b.length > 0) b[at]! ^= 1 << m.bit
    else if (m.kind === 'set' && b.length > 0) b[at] = m.byte
    else if (m.kind === 'truncate') b = b.subarray(0, at)
    else if (m.kind === 'delete') b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + m.len)])
    else if (m.kind === 'insert') b = Uint8Array.from([...b.subarray(0, at), ...m.bytes, ...b.subarray(at)])
  }
  return b
}

// A valid value of one of the codecs' types, so mutations start from inputs that get past the CBOR layer.
const typed = fc.oneof(
  fc.record({ chainId: fc.string({ maxLength: 8 }), height: fc.integer({ min: 1 }), prevHash: fc.uint8Array({ minLength: 32, maxLength: 32 }), txRoot: fc.uint8Array({ minLength: 32, maxLength: 32 }), view: fc.nat() }),
  fc.record({ body: fc.record({ nonce: fc.nat(), args: fc.array(fc.oneof(fc.string({ maxLength: 5 }), fc.integer(), fc.bigInt({ min: 2n ** 60n, max: 2n ** 63n }), fc.uint8Array({ maxLength: 8 })), { maxLength: 4 }) }), sig: fc.uint8Array({ minLength: 64, maxLength: 64 }) }),
  fc.tuple(fc.constant('prepare'), fc.nat(), fc.nat(), fc.uint8Array({ minLength: 32, maxLength: 32 })),
  fc.dictionary(fc.string({ maxLength: 6 }).filter(k => k !== '__proto__'), fc.oneof(fc.constant(null), fc.uint8Array({ maxLength: 6 })), { maxKeys: 4 })
)

test('codec property: decode(encode(v)) equals v (normalized) and re-encodes to the same bytes', () => {
  fc.assert(fc.property(cborValue, v => {
    const bytes = encode(v)
    const back = decode(bytes)
    assert.deepStrictEqual(back, normalize(v))
    assert.ok(bytesEqual(encode(back), bytes))
  }), { seed: SEED, numRuns: 5_000 })
})

test('codec property: typed values round-trip through their Codec', () => {
  const byName = (n: string): Codec<any> => codecs.find(c => c.name === n)! // eslint-disable-line @typescript-eslint/no-explicit-any
  fc.assert(fc.property(typed, v => {
    const c = Array.isArray(v) ? byName('Msg') : 'chainId' in v ? byName('Header') : 'sig' in v ? byName('Tx') : byName('Kv')
    const bytes = c.encode(v)
    assert.deepStrictEqual(c.decode(bytes), normalize(v))
  }), { seed: SEED, numRuns: 2_000 })
})

test('codec fuzz: 100,000 random and mutated inputs only ever raise DecodeError', () => {
  const t0 = performance.now()
  accepted = 0
  // Capturing stack traces under node:test + fast-check costs more than decoding itself; this
  // test is about which error class escapes, not about stacks.
  const stackLimit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  try {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 48 }), probe), { seed: SEED, numRuns: 25_000 })
    fc.assert(fc.property(tokenSoup, probe), { seed: SEED + 1, numRuns: 25_000 })
    fc.assert(fc.property(cborValue, fc.array(mutation, { minLength: 1, maxLength: 4 }), (v, ms) => probe(mutate(encode(v), ms))), { seed: SEED + 2, numRuns: 25_000 })
    fc.assert(fc.property(typed, fc.array(mutation, { minLength: 1, maxLength: 3 }), (v, ms) => probe(mutate(encode(v), ms))), { seed: SEED + 3, numRuns: 25_000 })
  } finally {
    Error.stackTraceLimit = stackLimit
  }
  console.log(`codec fuzz: 100000 inputs (x${codecs.length + 1} decoders), ${accepted} accepted as canonical, ${Math.round(performance.now() - t0)} ms`)
})
