import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { hash } from 'node:crypto'
import { fromLatin1, toHex, toLatin1 } from '../../src/codec/index.js'
import { sha256, sha256Digest } from '../../src/crypto/hash.js'

// Property runs are replayable: the seed is printed and can be pinned with FC_SEED.
const seed = Number(process.env.FC_SEED ?? Date.now() % 1_000_000)
console.log(`hex property seed: FC_SEED=${seed}`)

test('toHex and toLatin1 read exactly the view: small (on-heap) arrays, views at offsets, empty', () => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: 200 }), fc.nat(), fc.nat(), (bytes, a, b) => {
    const from = bytes.length === 0 ? 0 : a % (bytes.length + 1)
    const to = from + (bytes.length - from === 0 ? 0 : b % (bytes.length - from + 1))
    for (const v of [bytes, bytes.subarray(from, to), Uint8Array.from(bytes.subarray(from, to))]) {
      const ref = Buffer.from(Array.from(v))
      assert.equal(toHex(v), ref.toString('hex'))
      assert.equal(toLatin1(v), ref.toString('latin1'))
      assert.deepEqual(fromLatin1(toLatin1(v)), Uint8Array.from(v))
    }
  }), { seed, numRuns: 300 })
})

test('sha256Digest gives the digest as a fresh 32-byte array, for Buffers, views and strings of bytes', () => {
  const data = Uint8Array.from({ length: 600 }, (_, i) => (i * 7) & 0xff)
  const ref = (u: Uint8Array): string => Buffer.from(Array.from(u)).toString('hex')
  const expect = (u: Uint8Array): string => ref(new Uint8Array(hash('sha256', u, 'buffer')))
  for (const v of [data, data.subarray(13, 77), new Uint8Array(0), Buffer.from(data)]) {
    const d = sha256Digest(v)
    assert.equal(d.length, 32)
    assert.equal(toHex(d), expect(v))
    assert.equal(toHex(sha256(v)), toHex(d))
  }
  const a = sha256Digest(data)
  const b = sha256Digest(data)
  a[0] ^= 0xff
  assert.notEqual(a[0], b[0], 'each call returns its own array')
})
