import { test } from 'node:test'
import assert from 'node:assert/strict'
import { encode, decode, bytesEqual, MAX_DEPTH, fromHex, toHex, utf8 } from '../../src/codec/index.js'
import { BftError, DecodeError } from '../../src/errors.js'

const isDecodeError = (e: unknown): boolean => e instanceof DecodeError && e.code === 'ERR_DECODE'
const isEncodeError = (e: unknown): boolean => e instanceof BftError && e.code === 'ERR_ENCODE'

function rejects (hex: string, why: RegExp): void {
  assert.throws(() => decode(fromHex(hex)), (e: unknown) => {
    assert.ok(isDecodeError(e), `expected DecodeError for ${hex}, got ${String(e)}`)
    assert.match((e as Error).message, why, `message for ${hex}`)
    return true
  })
}

test('cbor: RFC 8949 appendix A vectors encode to their canonical bytes and decode back', () => {
  const vectors: Array<[unknown, string]> = [
    [0, '00'], [1, '01'], [10, '0a'], [23, '17'], [24, '1818'], [25, '1819'], [100, '1864'], [1000, '1903e8'],
    [1000000, '1a000f4240'], [1000000000000, '1b000000e8d4a51000'], [18446744073709551615n, '1bffffffffffffffff'],
    [-18446744073709551616n, '3bffffffffffffffff'], [-1, '20'], [-10, '29'], [-100, '3863'], [-1000, '3903e7'],
    [false, 'f4'], [true, 'f5'], [null, 'f6'], [new Uint8Array(0), '40'], [fromHex('01020304'), '4401020304'],
    ['', '60'], ['a', '6161'], ['IETF', '6449455446'], ['"\\', '62225c'], ['\u00fc', '62c3bc'], ['\u6c34', '63e6b0b4'],
    ['\ud800\udd51', '64f0908591'], [[], '80'], [[1, 2, 3], '83010203'], [[1, [2, 3], [4, 5]], '8301820203820405'],
    [{}, 'a0'], [{ a: 1, b: [2, 3] }, 'a26161016162820203'], [['a', { b: 'c' }], '826161a161626163'],
    [{ a: 'A', b: 'B', c: 'C', d: 'D', e: 'E' }, 'a56161614161626142616361436164614461656145']
  ]
  for (const [value, hex] of vectors) {
    assert.equal(toHex(encode(value)), hex, `encode ${String(value)}`)
    assert.deepEqual(decode(fromHex(hex)), value, `decode ${hex}`)
  }
})

test('cbor: map keys are sorted bytewise (length first), whatever the insertion order', () => {
  const a = encode({ b: 1, aa: 2, a: 3, c: { z: 1, y: 2 } })
  const b = encode({ c: { y: 2, z: 1 }, a: 3, aa: 2, b: 1 })
  assert.ok(bytesEqual(a, b))
  // RFC 8949 4.2.1: shorter encoded keys first, then bytewise: "a" < "b" < "c" < "aa".
  assert.deepEqual(Object.keys(decode(a) as object), ['a', 'b', 'c', 'aa'])
})

test('cbor: integers decode as numbers when safe and bigints otherwise; 5n and 5 share one encoding', () => {
  assert.ok(bytesEqual(encode(5n), encode(5)))
  assert.equal(decode(encode(5n)), 5)
  assert.equal(decode(encode(2n ** 53n)), 2n ** 53n)
  assert.equal(decode(encode(Number.MAX_SAFE_INTEGER)), Number.MAX_SAFE_INTEGER)
  assert.equal(decode(encode(-(2n ** 64n))), -(2n ** 64n))
})

test('cbor: non-canonical forms are DecodeErrors', () => {
  rejects('1801', /more bytes than necessary/) // 1 in two bytes
  rejects('190001', /more bytes than necessary/)
  rejects('5801ff', /more bytes than necessary|canonical/) // length in a longer form
  rejects('a2616201616101', /map key at byte 4 is out of canonical order/) // "b" before "a"
  rejects('a2616101616102', /out of canonical order or repeated/) // "a" twice
  rejects('a262616101616202', /map key at byte 5 is out of canonical order/) // "aa" before "b": shorter keys first
  rejects('9f01ff', /indefinite/)
  rejects('5f4101ff', /indefinite/)
  rejects('62c328', /text string at byte 0 is not valid UTF-8/) // would come back as U+FFFD
  rejects('63eda080', /not valid UTF-8/) // an encoded surrogate
  rejects('a162c32801', /not valid UTF-8/) // in a key
})

test('cbor: strings keep a leading BOM and any valid code point', () => {
  for (const str of ['\ufeff', '\ufeffx', 'a\ufeff', '\u0000', '\uffff', '\u{10ffff}', 'ü'.repeat(40), 'x'.repeat(100)]) {
    assert.equal(decode(encode(str)), str)
    assert.deepEqual(decode(encode({ [str]: str })), { [str]: str })
  }
})

test('cbor: trailing bytes, truncation and empty input are DecodeErrors', () => {
  rejects('0101', /1 trailing bytes after the value, which ends at byte 1/)
  rejects('a0a0a0', /2 trailing bytes/)
  rejects('8301', /not enough|claims/)
  rejects('4401', /not enough|claims/)
  rejects('1a0001', /not enough/)
  assert.throws(() => decode(new Uint8Array(0)), isDecodeError)
})

test('cbor: tags, floats, simple values and undefined are refused', () => {
  rejects('c11a514b67b0', /tag 1 at byte 0/)
  rejects('c249010000000000000000', /tag 2/) // bignum
  rejects('d818456449455446', /tag 24/)
  rejects('8201c0', /tag 0 at byte 2/)
  rejects('f93c00', /floating-point value at byte 0/)
  rejects('fa47c35000', /floating-point/)
  rejects('fb3ff199999999999a', /floating-point/)
  rejects('f97e00', /NaN|floating-point/)
  rejects('f97c00', /Infinity|floating-point/)
  rejects('f7', /undefined/)
  rejects('f0', /simple/)
  rejects('f818', /simple|not supported|invalid/)
  rejects('ff', /break|indefinite/)
  rejects('1c', /invalid|minor|not supported/)
})

test('cbor: map keys must be text, and "__proto__" is refused both ways', () => {
  rejects('a10101', /map key at byte 1 is a uint; only text keys/)
  rejects('a1410101', /map key at byte 1 is a bytes/)
  rejects('a1800101', /map key at byte 1 is a array/)
  rejects('a1695f5f70726f746f5f5f01', /"__proto__"/)
  rejects('a1695f5f70726f746f5f5fa0', /"__proto__"/)
  const evil = JSON.parse('{"__proto__": {"polluted": true}}') as unknown
  assert.throws(() => encode(evil), isEncodeError)
  assert.equal(({} as Record<string, unknown>).polluted, undefined)
})

test('cbor: nesting is limited: deep input is a DecodeError, never a stack overflow', () => {
  const ok = new Uint8Array(MAX_DEPTH).fill(0x81); ok[MAX_DEPTH - 1] = 0x80
  assert.doesNotThrow(() => decode(ok))
  const tooDeep = new Uint8Array(MAX_DEPTH + 1).fill(0x81); tooDeep[MAX_DEPTH] = 0x80
  rejects(toHex(tooDeep), new RegExp(`nesting deeper than ${MAX_DEPTH}`))
  for (const byte of [0x81, 0xa1, 0x9f]) {
    const huge = new Uint8Array(1_000_000).fill(byte)
    assert.throws(() => decode(huge), isDecodeError, `1 MB of 0x${byte.toString(16)}`)
  }
  // Maps nest through values: {"a": {"a": ...}}.
  const maps = Buffer.concat(Array.from({ length: 100_000 }, () => Buffer.from('a16161', 'hex')))
  assert.throws(() => decode(maps), isDecodeError)
  // A per-call limit can be tighter.
  assert.throws(() => decode(encode([[[1]]]), undefined, 2), isDecodeError)
  assert.deepEqual(decode(encode([[1]]), undefined, 2), [[1]])
})

test('cbor: size limits hold on both sides', () => {
  const big = encode(new Uint8Array(1000))
  assert.throws(() => decode(big, 999), (e: unknown) => isDecodeError(e) && /exceeds the limit of 999/.test((e as Error).message))
  assert.throws(() => encode(new Uint8Array(1000), 999), isEncodeError)
  // Claimed lengths beyond the input are refused without allocating or looping.
  rejects('9a7fffffff', /claims|not enough/)
  rejects('ba7fffffff', /claims|not enough/)
  rejects('5a7fffffff', /not enough/)
  rejects('9bffffffffffffffff', /not supported|claims/)
})

test('cbor: only plain values encode; the error says what and where', () => {
  const cases: Array<[unknown, RegExp]> = [
    [1.5, /non-integer or unsafe number 1.5 at \$/],
    [{ a: [1, NaN] }, /at \$\.a\[1\]/],
    [2 ** 53, /unsafe number/],
    [undefined, /unsupported undefined/],
    [{ a: undefined }, /unsupported undefined at \$\.a/],
    [new Map(), /unsupported object type/],
    [new Date(0), /unsupported object type/],
    [new Uint16Array(2), /unsupported object type/],
    [() => 1, /unsupported function/],
    [Symbol('x'), /unsupported symbol/],
    ['\ud800', /lone UTF-16 surrogate/],
    [{ ['\udc00']: 1 }, /lone UTF-16 surrogate/],
    [2n ** 64n, /outside the 64-bit CBOR range/],
    [-(2n ** 64n) - 1n, /outside the 64-bit CBOR range/]
  ]
  for (const [value, why] of cases) {
    assert.throws(() => encode(value), (e: unknown) => isEncodeError(e) && why.test((e as Error).message), String(why))
  }
  const cycle: unknown[] = []; cycle.push(cycle)
  assert.throws(() => encode(cycle), isEncodeError)
})

test('cbor: Buffers and null-prototype objects encode like Uint8Arrays and plain objects', () => {
  assert.ok(bytesEqual(encode(Buffer.from('ab')), encode(utf8('ab'))))
  const o = Object.assign(Object.create(null) as object, { x: 1 })
  assert.ok(bytesEqual(encode(o), encode({ x: 1 })))
  // Decoded byte strings are copies, not views of the input buffer.
  const input = encode(fromHex('aabb'))
  const out = decode(input) as Uint8Array
  input[1] = 0
  assert.equal(toHex(out), 'aabb')
  const buf = Buffer.from(encode({ k: fromHex('aabb') }))
  const fromBuf = decode(buf) as { k: Uint8Array }
  buf.fill(0)
  assert.equal(toHex(fromBuf.k), 'aabb')
  assert.equal(Object.getPrototypeOf(fromBuf.k), Uint8Array.prototype)
  // Outputs are plain Uint8Arrays that own their memory (cborg returns pooled Buffers for bigints).
  const withBig = encode({ a: 2n ** 60n, s: new Uint8Array(4) })
  assert.equal(Object.getPrototypeOf(withBig), Uint8Array.prototype)
  assert.equal(withBig.byteOffset, 0)
  assert.equal(withBig.buffer.byteLength, withBig.length)
  for (const n of [1, 300, 1000, 3000, 5000]) {
    for (const v of [new Uint8Array(n), 'x'.repeat(n), Array.from({ length: n }, (_, i) => i), { a: 2n ** 60n, s: 'y'.repeat(n) }]) {
      const b = encode(v)
      assert.ok(Object.getPrototypeOf(b) === Uint8Array.prototype && b.byteOffset === 0 && b.buffer.byteLength === b.length, `encode output of size ${n} owns its memory`)
    }
  }
})

test('cbor: input in shared memory decodes like any other', () => {
  const bytes = encode({ s: 'ünï', b: fromHex('0102') })
  const shared = new Uint8Array(new SharedArrayBuffer(bytes.length))
  shared.set(bytes)
  assert.deepEqual(decode(shared), { s: 'ünï', b: fromHex('0102') })
})

test('cbor: non-byte-array input is a DecodeError', () => {
  for (const bad of [null, undefined, 'a0', [0xa0], new ArrayBuffer(1), 42]) {
    assert.throws(() => decode(bad as unknown as Uint8Array), isDecodeError)
  }
})
