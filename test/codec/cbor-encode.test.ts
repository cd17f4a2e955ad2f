import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { encode as cborgEncode, rfc8949EncodeOptions } from 'cborg'
import { encodeCanonical, Unencodable } from '../../src/codec/cbor-encode.js'
import { encode, MAX_DEPTH } from '../../src/codec/index.js'
import { ValidationError } from '../../src/errors.js'

// Replay a failure with FUZZ_SEED=<seed> (fast-check also prints seed and path on failure).
const SEED = Number(process.env.FUZZ_SEED ?? 0xc0ffee)
console.log(`canonical encoder seed=${SEED} (replay: FUZZ_SEED=${SEED})`)

// Keys of every length class (header 1, 2 and 3 bytes) so the byte order of keys is exercised.
const key = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 6 }),
  fc.string({ unit: 'grapheme-ascii', minLength: 20, maxLength: 30 }),
  fc.string({ unit: 'grapheme-ascii', minLength: 250, maxLength: 260 })
).filter(k => k !== '__proto__')
const { value: cborValue } = fc.letrec<{ value: unknown }>(tie => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.maxSafeInteger(),
    fc.integer({ min: -300, max: 70_000 }),
    fc.constantFrom(0, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, -24, -25, -256, -257, -(2 ** 32), -(2 ** 32) - 1, -0),
    fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n - 1n }),
    fc.constantFrom(2n ** 64n - 1n, -(2n ** 64n), 2n ** 53n, -(2n ** 53n) - 1n),
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.string({ unit: 'grapheme-ascii', minLength: 23, maxLength: 300 }),
    fc.boolean(),
    fc.constant(null),
    fc.uint8Array({ maxLength: 300 }),
    fc.array(tie('value'), { maxLength: 30 }),
    fc.dictionary(key, tie('value'), { maxKeys: 8 })
  )
}))

test('the direct encoder writes the same bytes as cborg in RFC 8949 deterministic mode', () => {
  fc.assert(fc.property(cborValue, v => {
    assert.deepEqual(encodeCanonical(v, MAX_DEPTH), new Uint8Array(cborgEncode(v, rfc8949EncodeOptions)))
  }), { seed: SEED, numRuns: 20_000 })
})

// The encoder remembers the sorted order of each field-name sequence (bounded per first name and
// in all): repeated shapes, shapes differing only in order or in later names, and more shapes
// than it keeps must all still encode in canonical order.
test('remembered key orders: repeated, reordered and overflowing shapes encode as cborg does', () => {
  const names = ['a', 'bb', 'c', 'aaa', 'z', 'yy', 'k0', 'k1', 'k2', 'k3', 'k4', 'k5']
  let s = SEED >>> 0
  const next = (): number => { s = (s * 1103515245 + 12345) >>> 0; return s }
  for (let i = 0; i < 3000; i++) {
    // Always 'a' first, so one first name gets far more shapes than the per-name bound.
    const rest = names.slice(1).filter(() => next() % 2 === 0)
    for (let j = rest.length - 1; j > 0; j--) { const r = next() % (j + 1); [rest[j], rest[r]] = [rest[r]!, rest[j]!] }
    const obj: Record<string, unknown> = { a: i }
    for (const k of rest) obj[k] = next() % 3 === 0 ? { x: 1, [k]: k } : next()
    const want = new Uint8Array(cborgEncode(obj, rfc8949EncodeOptions))
    assert.deepEqual(encodeCanonical(obj, MAX_DEPTH), want)
    assert.deepEqual(encodeCanonical(obj, MAX_DEPTH), want, 'second encoding of one shape')
  }
})

test('the direct encoder refuses what has no canonical encoding, and encode() says where', () => {
  const bad: Array<[unknown, RegExp]> = [
    [{ a: [1, 1.5] }, /non-integer or unsafe number 1.5 at \$\.a\[1\]/],
    [{ s: 'x\uD800' }, /lone UTF-16 surrogate at \$\.s/],
    [[2n ** 64n], /outside the 64-bit CBOR range/],
    [[-(2n ** 64n) - 1n], /outside the 64-bit CBOR range/],
    [{ d: new Date(0) }, /unsupported object type at \$\.d/],
    [{ u: undefined }, /unsupported undefined at \$\.u/],
    [JSON.parse('{"__proto__": 1}'), /key "__proto__"/],
    [{ ['k\uDC00']: 1 }, /key with a lone UTF-16 surrogate/],
    [[Number.MAX_SAFE_INTEGER + 1], /unsafe number/]
  ]
  for (const [v, message] of bad) {
    assert.throws(() => encodeCanonical(v, MAX_DEPTH), Unencodable)
    assert.throws(() => encode(v), (err: unknown) => err instanceof ValidationError && err.code === 'ERR_ENCODE' && message.test(err.message))
  }
  const cycle: unknown[] = []
  cycle.push(cycle)
  assert.throws(() => encode(cycle), /nesting deeper than 64/)
  let deep: unknown = 1
  for (let i = 0; i < MAX_DEPTH; i++) deep = [deep]
  assert.doesNotThrow(() => encode(deep))
  assert.throws(() => encode([deep]), /nesting deeper than 64/)
})

test('outputs own their bytes and stay intact when the scratch buffer grows or shrinks', () => {
  const small = encode({ a: 1 })
  const big = encode(new Uint8Array(20 * 1024 * 1024), 32 * 1024 * 1024)
  const after = encode({ a: 1 })
  assert.equal(small.byteOffset, 0)
  assert.equal(small.buffer.byteLength, small.length)
  assert.equal(big.length, 20 * 1024 * 1024 + 5)
  assert.deepEqual(small, after)
  assert.deepEqual(small, Uint8Array.of(0xa1, 0x61, 0x61, 0x01))
})

test('an accessor that encodes while the encoder runs does not corrupt the outer encoding', () => {
  const inner = { z: [1, 2, 3], y: 'inner' }
  const outer = { a: 'before', b: 0, c: 'after' }
  Object.defineProperty(outer, 'b', { enumerable: true, get: () => encode(inner) })
  const plain = { a: 'before', b: encode(inner), c: 'after' }
  assert.deepEqual(encode(outer), new Uint8Array(cborgEncode(plain, rfc8949EncodeOptions)))
})
