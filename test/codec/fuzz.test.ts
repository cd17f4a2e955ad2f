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

/**
 * A deliberately sloppy CBOR writer: for each item it may use a longer head than needed, write map
 * keys in any order, use indefinite lengths, or write an integer as a float. Every such variant
 * encodes the same value, and decode must refuse all of them but the canonical one.
 */
type Choice = { kind: 'wide', extra: number } | { kind: 'shuffle', seed: number } | { kind: 'indef' } | { kind: 'float' } | { kind: 'plain' }
const choice: fc.Arbitrary<Choice> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: 'plain' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('wide' as const), extra: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('shuffle' as const), seed: fc.nat() }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'indef' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'float' as const }) }
)
function cborHead (major: number, n: bigint, c: Choice): number[] {
  const widths = [0, 1, 2, 4, 8]
  let w = n < 24n ? 0 : n < 0x100n ? 1 : n < 0x10000n ? 2 : n < 0x100000000n ? 3 : 4
  if (c.kind === 'wide') w = Math.min(4, w + c.extra)
  if (w === 0) return [(major << 5) | Number(n)]
  const bytes = widths[w]!
  const out = [(major << 5) | (23 + w)]
  for (let i = bytes - 1; i >= 0; i--) out.push(Number((n >> BigInt(8 * i)) & 0xffn))
  return out
}
function sloppy (v: unknown, choices: Choice[], at = { i: 0 }): number[] {
  const c = choices[at.i++ % choices.length] ?? { kind: 'plain' }
  if (typeof v === 'number' || typeof v === 'bigint') {
    if (c.kind === 'float' && typeof v === 'number') { const b = Buffer.alloc(9); b[0] = 0xfb; b.writeDoubleBE(v, 1); return [...b] }
    const n = BigInt(v)
    return n >= 0n ? cborHead(0, n, c) : cborHead(1, -1n - n, c)
  }
  if (typeof v === 'boolean') return [v ? 0xf5 : 0xf4]
  if (v === null) return [0xf6]
  if (typeof v === 'string') {
    const b = [...Buffer.from(v, 'utf8')]
    return c.kind === 'indef' ? [0x7f, ...cborHead(3, BigInt(b.length), { kind: 'plain' }), ...b, 0xff] : [...cborHead(3, BigInt(b.length), c), ...b]
  }
  if (v instanceof Uint8Array) return c.kind === 'indef' ? [0x5f, ...cborHead(2, BigInt(v.length), { kind: 'plain' }), ...v, 0xff] : [...cborHead(2, BigInt(v.length), c), ...v]
  if (Array.isArray(v)) {
    const items = v.flatMap(x => sloppy(x, choices, at))
    return c.kind === 'indef' ? [0x9f, ...items, 0xff] : [...cborHead(4, BigInt(v.length), c), ...items]
  }
  const entries = Object.entries(v as Record<string, unknown>).map(([k, x]) => ({ key: Buffer.from([...cborHead(3, BigInt(Buffer.byteLength(k)), { kind: 'plain' }), ...Buffer.from(k, 'utf8')]), bytes: [...sloppy(k, choices, at), ...sloppy(x, choices, at)] }))
  if (c.kind === 'shuffle') {
    let s = c.seed
    for (let i = entries.length - 1; i > 0; i--) { s = (s * 1103515245 + 12345) >>> 0; const j = s % (i + 1); [entries[i], entries[j]] = [entries[j]!, entries[i]!] }
  } else {
    // Canonical order: by the bytes of the canonically encoded key.
    entries.sort((a, b) => Buffer.compare(a.key, b.key))
  }
  const flat = entries.flatMap(e => e.bytes)
  return c.kind === 'indef' ? [0xbf, ...flat, 0xff] : [...cborHead(5, BigInt(entries.length), c), ...flat]
}
test('codec property: every non-canonical encoding of a value is refused; the canonical one is accepted', () => {
  let refused = 0
  fc.assert(fc.property(cborValue, fc.array(choice, { minLength: 1, maxLength: 12 }), (v, choices) => {
    const canonical = encode(v)
    const bytes = Uint8Array.from(sloppy(v, choices))
    let ok = true
    try { decode(bytes) } catch (err) { assert.ok(err instanceof DecodeError, String(err)); ok = false }
    if (ok) assert.ok(bytesEqual(bytes, canonical), `accepted a non-canonical encoding ${Buffer.from(bytes).toString('hex')}`)
    else refused++
    // The writer with only plain choices is the canonical encoder.
    assert.ok(bytesEqual(Uint8Array.from(sloppy(v, [{ kind: 'plain' }])), canonical), 'plain writer must match encode')
  }), { seed: SEED + 4, numRuns: 5_000 })
  assert.ok(refused > 500, `refused ${refused}`)
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
    // Each generated value gets 5 independent mutation lists: generating values is the costly part.
    const mutationLists = (max: number): fc.Arbitrary<Mutation[][]> => fc.array(fc.array(mutation, { minLength: 1, maxLength: max }), { minLength: 5, maxLength: 5 })
    fc.assert(fc.property(cborValue, mutationLists(4), (v, lists) => { const b = encode(v); for (const ms of lists) probe(mutate(b, ms)) }), { seed: SEED + 2, numRuns: 5_000 })
    fc.assert(fc.property(typed, mutationLists(3), (v, lists) => { const b = encode(v); for (const ms of lists) probe(mutate(b, ms)) }), { seed: SEED + 3, numRuns: 5_000 })
  } finally {
    Error.stackTraceLimit = stackLimit
  }
  console.log(`codec fuzz: 100000 inputs (x${codecs.length + 1} decoders), ${accepted} accepted as canonical, ${Math.round(performance.now() - t0)} ms`)
})
