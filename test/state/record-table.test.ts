import { test } from 'node:test'
import assert from 'node:assert/strict'
import { RecordTable } from '../../src/state/record-table.js'

/** Distinct hashes (the value cache's tests cover colliding ones through its own table). */
function pool (size: number): Uint8Array[] {
  return Array.from({ length: size }, (_, i) => {
    const h = new Uint8Array(32)
    for (let b = 0; b < 32; b++) h[b] = (i * 131 + b * 29 + (i >> 3) * b) & 0xff
    h[0] = i & 0xff
    h[1] = i >> 8
    return h
  })
}

test('RecordTable evicts in CLOCK order (the value cache uses it): a record found since the hand last passed survives one sweep', () => {
  const hashes = pool(70)
  const table = new RecordTable(64, 32, { offset: 0, salt: 0 })
  for (let i = 0; i < 64; i++) table.claim(hashes[i]!)
  // Full. The hand clears every reference bit once, then takes record 0 (hash 0).
  table.claim(hashes[64]!)
  assert.equal(table.find(hashes[0]!), -1)
  // Hash 1 is found, so the next eviction passes it and takes hash 2.
  assert.ok(table.find(hashes[1]!) >= 0)
  table.claim(hashes[65]!)
  assert.ok(table.find(hashes[1]!) >= 0, 'the record found survived')
  assert.equal(table.find(hashes[2]!), -1, 'the next unused record was evicted')
  assert.equal(table.size, 64)
  // A removed record is reused before anything else is evicted.
  table.remove(hashes[10]!)
  table.claim(hashes[66]!)
  assert.equal(table.size, 64)
  for (const i of [1, 3, 11, 63, 64, 65, 66]) assert.ok(table.find(hashes[i]!) >= 0, `hash ${i} is still held`)
})

test('RecordTable with capacity 0 holds nothing; a bad slot offset or record size is refused', () => {
  const table = new RecordTable(0, 32)
  assert.equal(table.claim(pool(1)[0]!), -1)
  assert.equal(table.size, 0)
  assert.throws(() => new RecordTable(8, 32, { offset: 29, salt: 0 }), /offset must be 0..28/)
  assert.throws(() => new RecordTable(8, 36), /multiple of 8/)
})
