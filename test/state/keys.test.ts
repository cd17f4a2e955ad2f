import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { accountKey, kvKey, lockKey, stateKey } from '../../src/state/keys.js'

// Property runs are replayable: the seed is printed and can be pinned with FC_SEED.
const seed = Number(process.env.FC_SEED ?? Date.now() % 1_000_000)
console.log(`keys property seed: FC_SEED=${seed}`)

const enc = new TextEncoder()

test('stateKey is the UTF-8 of "<namespace>/<key>", for string and byte keys, each call its own bytes', () => {
  fc.assert(fc.property(fc.constantFrom('acct', 'kv', 'lock', 'ns'), fc.string({ unit: 'grapheme', maxLength: 80 }), fc.uint8Array({ maxLength: 80 }), (ns, s, bytes) => {
    const k = stateKey(ns, s)
    assert.equal(Object.getPrototypeOf(k), Uint8Array.prototype)
    assert.deepEqual([...k], [...enc.encode(`${ns}/${s}`)])
    const kb = stateKey(ns, bytes)
    assert.deepEqual([...kb], [...enc.encode(`${ns}/`), ...bytes])
    // Keys share a pool: writing one must not show in another.
    const again = stateKey(ns, s)
    again.fill(0)
    assert.deepEqual([...k], [...enc.encode(`${ns}/${s}`)])
  }), { seed, numRuns: 300 })
  assert.deepEqual([...accountKey('ab')], [...enc.encode('acct/ab')])
  assert.deepEqual([...kvKey('o', 'k')], [...enc.encode('kv/o/k')])
  assert.deepEqual([...lockKey('l')], [...enc.encode('lock/l')])
})
