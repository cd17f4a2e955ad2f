import { test } from 'node:test'
import assert from 'node:assert/strict'
import { address, isAddress, sha256, taggedHash, sha256Portable, taggedHashPortable } from '../../src/crypto/index.js'
import { toHex, utf8 } from '../../src/codec/index.js'

test('sha256: FIPS 180-2 vectors on both implementations', () => {
  const vectors: Array<[string, string]> = [
    ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    ['abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq', '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1']
  ]
  for (const [input, hex] of vectors) {
    assert.equal(toHex(sha256(utf8(input))), hex)
    assert.equal(toHex(sha256Portable(utf8(input))), hex)
  }
})

test('sha256 and taggedHash: node:crypto and @noble/hashes give the same bytes', () => {
  let seed = 99 // xorshift, fixed: replayable
  const next = (): number => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return seed >>> 0 }
  for (let i = 0; i < 200; i++) {
    const parts = Array.from({ length: next() % 4 }, () => Uint8Array.from({ length: next() % 300 }, () => next() & 0xff))
    assert.deepEqual(sha256Portable(...parts), sha256(...parts))
    const tag = `bft-ledger/test/${next() % 10}/ü`
    assert.deepEqual(taggedHashPortable(tag, ...parts), taggedHash(tag, ...parts))
  }
  // Parts are concatenated: the split does not matter, only the bytes.
  assert.deepEqual(sha256(utf8('ab'), utf8('c')), sha256(utf8('abc')))
  // The tag is separated by a zero byte, so moving bytes between tag and data changes the hash.
  assert.notDeepEqual(taggedHash('ab', utf8('c')), taggedHash('a', utf8('bc')))
})

test('address: the tagged hash of the key, cached per key bytes whatever view holds them', () => {
  const derive = (pk: Uint8Array): string => toHex(taggedHashPortable('bft-ledger/address', pk).subarray(0, 20))
  const keys = Array.from({ length: 50 }, (_, i) => sha256(utf8(`address-test/${i}`)))
  for (const pk of keys) assert.equal(address(pk), derive(pk))
  // Again from the cache, and from a view at an offset into a larger buffer.
  for (const pk of keys) assert.equal(address(pk), derive(pk))
  const big = new Uint8Array(100); big.set(keys[7]!, 33)
  assert.equal(address(big.subarray(33, 65)), derive(keys[7]!))
  assert.equal(new Set(keys.map(address)).size, keys.length)
  assert.ok(isAddress(address(keys[0]!)))
  assert.ok(!isAddress(address(keys[0]!).toUpperCase()))
  assert.ok(!isAddress(address(keys[0]!) + '0'))
})
