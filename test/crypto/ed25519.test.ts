import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPair, sign, signNoble, verify, verifyNoble } from '../../src/crypto/index.js'
import { utf8 } from '../../src/codec/index.js'

test('node:crypto and noble sign identically and both verify', () => {
  const kp = generateKeyPair()
  const msg = utf8('hello ledger')
  const a = sign(msg, kp.secretKey)
  const b = signNoble(msg, kp.secretKey)
  assert.deepEqual(a, b)
  assert.equal(verify(a, msg, kp.publicKey), true)
  assert.equal(verifyNoble(a, msg, kp.publicKey), true)
  const bad = Uint8Array.from(a); bad[5]! ^= 1
  assert.equal(verify(bad, msg, kp.publicKey), false)
  assert.equal(verifyNoble(bad, msg, kp.publicKey), false)
})
