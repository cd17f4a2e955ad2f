import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Type } from '@sinclair/typebox'
import { Codec, encode } from '../../src/codec/index.js'
import { BftError, DecodeError } from '../../src/errors.js'

const Hash32 = Type.Uint8Array({ minByteLength: 32, maxByteLength: 32 })
const Header = new Codec('Header', Type.Object({
  height: Type.Integer({ minimum: 1 }),
  prev: Hash32,
  notes: Type.Optional(Type.Array(Type.Object({ k: Type.String(), v: Type.Integer() })))
}), 512)

const decodeErrorAt = (path: string) => (e: unknown): boolean => {
  assert.ok(e instanceof DecodeError, `expected DecodeError, got ${String(e)}`)
  assert.equal(e.code, 'ERR_DECODE')
  assert.match(e.message, /Header/)
  assert.equal(e.details?.path, path)
  return true
}

test('Codec: round-trips a valid value to identical bytes', () => {
  const v = { height: 7, prev: new Uint8Array(32).fill(1), notes: [{ k: 'a', v: -1 }] }
  const bytes = Header.encode(v)
  assert.deepEqual(Header.decode(bytes), v)
  assert.deepEqual(Header.encode(Header.decode(bytes)), bytes)
})

test('Codec: unknown fields are refused at any depth unless the codec opts out', () => {
  assert.throws(() => Header.decode(encode({ height: 1, prev: new Uint8Array(32), extra: 1 })), decodeErrorAt('/extra'))
  assert.throws(() => Header.decode(encode({ height: 1, prev: new Uint8Array(32), notes: [{ k: 'a', v: 1, w: 2 }] })), decodeErrorAt('/notes/0/w'))
  const open = new Codec('Open', Type.Object({ a: Type.Integer() }), 100, { allowUnknownFields: true })
  assert.deepEqual(open.decode(encode({ a: 1, b: 2 })), { a: 1, b: 2 })
  // Intersect members stay open; the intersection as a whole still refuses strangers.
  const both = new Codec('Both', Type.Intersect([Type.Object({ a: Type.Integer() }), Type.Object({ b: Type.Integer() })], { unevaluatedProperties: false }))
  assert.deepEqual(both.decode(encode({ a: 1, b: 2 })), { a: 1, b: 2 })
  assert.throws(() => both.decode(encode({ a: 1, b: 2, c: 3 })), DecodeError)
})

test('Codec: wrong shape, size and non-canonical bytes are DecodeErrors naming the type', () => {
  assert.throws(() => Header.decode(encode({ height: 0, prev: new Uint8Array(32) })), decodeErrorAt('/height'))
  assert.throws(() => Header.decode(encode({ height: 1, prev: new Uint8Array(31) })), decodeErrorAt('/prev'))
  assert.throws(() => Header.decode(encode({ height: 1, prev: new Uint8Array(600) })), (e: unknown) => e instanceof DecodeError && /Header.*exceeds the limit of 512/.test(e.message))
  assert.throws(() => Header.decode(Uint8Array.of(0x18, 0x01)), (e: unknown) => e instanceof DecodeError && /invalid Header: malformed CBOR/.test(e.message))
})

test('Codec: encode refuses values outside the schema with ERR_ENCODE', () => {
  const bad = { height: 1, prev: new Uint8Array(32), extra: true } as unknown as Parameters<typeof Header.encode>[0]
  assert.throws(() => Header.encode(bad), (e: unknown) => e instanceof BftError && e.code === 'ERR_ENCODE' && /\/extra/.test(e.message))
  const big = { height: 1, prev: new Uint8Array(32), notes: Array.from({ length: 100 }, (_, i) => ({ k: 'key', v: i })) }
  assert.throws(() => Header.encode(big), (e: unknown) => e instanceof BftError && e.code === 'ERR_ENCODE' && /limit of 512/.test(e.message))
})

test('Codec: validate and is check an already-decoded value', () => {
  assert.equal(Header.is({ height: 1, prev: new Uint8Array(32) }), true)
  assert.equal(Header.is({ height: 1, prev: new Uint8Array(32), x: 1 }), false)
  assert.throws(() => Header.validate({ height: 1.5, prev: new Uint8Array(32) }), decodeErrorAt('/height'))
})
