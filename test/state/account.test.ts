import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { decode, encode } from '../../src/codec/index.js'
import { accountFastPath, decodeAccount, encodeAccount } from '../../src/state/account.js'
import { U64_MAX } from '../../src/state/contracts/schemas.js'

const seed = Number(process.env.FC_SEED ?? Date.now() % 1_000_000)
console.log(`account codec property seed: FC_SEED=${seed}`)

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)
/** The generic canonical encoding of an account. */
const generic = (balance: bigint, nonce: number): Uint8Array => encode([balance <= MAX_SAFE ? Number(balance) : balance, nonce])

// Every length boundary of a CBOR unsigned integer, on both sides.
const EDGES = [0n, 1n, 23n, 24n, 255n, 256n, 65535n, 65536n, 2n ** 32n - 1n, 2n ** 32n, MAX_SAFE, MAX_SAFE + 1n, 2n ** 63n, U64_MAX]
const balances = fc.oneof(fc.constantFrom(...EDGES), fc.bigInt({ min: 0n, max: U64_MAX }), fc.bigInt({ min: 0n, max: 100_000n }))
const nonces = fc.oneof(fc.constantFrom(0, 1, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER), fc.nat(), fc.maxSafeNat())

test('account codec: the byte-level path reads every canonical account, as the generic decoder does', () => {
  fc.assert(fc.property(balances, nonces, (balance, nonce) => {
    const want = generic(balance, nonce)
    if (balance !== 0n || nonce !== 0) assert.deepEqual(encodeAccount({ balance, nonce }), want)
    assert.deepEqual(accountFastPath.decode(want), { balance, nonce })
    assert.deepEqual(decodeAccount(want), { balance, nonce })
  }), { seed, numRuns: 2000 })
})

/** What the generic decoder makes of bytes: the account, or the fact that it refuses them. */
function genericView (bytes: Uint8Array): { balance: bigint, nonce: number } | 'refused' {
  let v: unknown
  try { v = decode(bytes) } catch { return 'refused' }
  if (!Array.isArray(v) || v.length !== 2) return 'refused'
  const [b, n] = v as [unknown, unknown]
  if ((typeof b !== 'number' && typeof b !== 'bigint') || typeof n !== 'number') return 'refused'
  return { balance: BigInt(b), nonce: n }
}

test('account codec: on damaged bytes the byte-level path takes only what the generic codec decodes the same way', () => {
  const mutated = fc.tuple(balances, nonces, fc.nat(), fc.nat({ max: 255 }), fc.constantFrom('set', 'cut', 'add')).map(([b, n, at, byte, how]) => {
    const bytes = Uint8Array.from(generic(b, n))
    const i = at % bytes.length
    if (how === 'set') { bytes[i] = byte; return bytes }
    if (how === 'cut') return bytes.subarray(0, i)
    return Uint8Array.from([...bytes.subarray(0, i), byte, ...bytes.subarray(i)])
  })
  fc.assert(fc.property(mutated, (bytes) => {
    const fast = accountFastPath.decode(bytes)
    if (fast === null) return
    assert.deepEqual(genericView(bytes), fast, `bytes ${Buffer.from(bytes).toString('hex')}`)
  }), { seed, numRuns: 5000 })
  // Forms the byte-level path must leave to the generic codec, which refuses them.
  for (const hex of ['8218170a', '82190001' + '00', '821b00000000ffffffff00', '8200', '83000000', '820020', '82001b0020000000000000', '820000ff']) {
    const bytes = Buffer.from(hex, 'hex')
    assert.equal(accountFastPath.decode(bytes), null, hex)
    assert.throws(() => decodeAccount(bytes), hex)
  }
  assert.equal(encodeAccount({ balance: 0n, nonce: 0 }), null)
})
