import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readU64, u64Bytes, writeU64 } from '../../src/codec/index.js'

test('u64: big-endian bytes equal DataView.setBigUint64, and read back', () => {
  for (const v of [0, 1, 255, 256, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 12345, Number.MAX_SAFE_INTEGER]) {
    const want = new Uint8Array(8)
    new DataView(want.buffer).setBigUint64(0, BigInt(v))
    assert.deepEqual(u64Bytes(v), want, `bytes of ${v}`)
    assert.equal(readU64(want, 0), v, `read ${v}`)
    const at = new Uint8Array(12).fill(0xee)
    writeU64(at, 3, v)
    assert.equal(readU64(at, 3), v, `at an offset: ${v}`)
    assert.deepEqual([...at.subarray(0, 3), ...at.subarray(11)], [0xee, 0xee, 0xee, 0xee], 'neighbours untouched')
  }
  // Byte order is numeric order (LevelDB keys).
  assert.ok(Buffer.compare(u64Bytes(2 ** 32 - 1), u64Bytes(2 ** 32)) < 0)
})
