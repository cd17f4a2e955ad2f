import { test } from 'node:test'
import assert from 'node:assert/strict'
import { sign } from '../../src/crypto/index.js'
import { checkpointSignBytes } from '../../src/consensus/types.js'
import { encode, fromHex, toHex } from '../../src/codec/index.js'
import { address } from '../../src/state/tx.js'
import { verifyBlockWithCertificate, verifyStateWithProof, VerificationError } from '../../src/client/index.js'
import type { BlockView, StateView } from '../../src/node/service.js'
import { makeFixture, keyFromSeed, CHAIN } from './fixtures.js'

const SEED = process.env.TEST_SEED ?? 'lightclient-1'
console.log(`light client fixture seed: ${SEED} (replay with TEST_SEED=${SEED})`)

const clone = <T>(v: T): T => structuredClone(v)
const flip = (hex: string, at = 0): string => hex.slice(0, at) + (hex[at] === '0' ? '1' : '0') + hex.slice(at + 1)

function rejectsWith (fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof VerificationError, `expected VerificationError, got ${String(err)}`)
    assert.equal(err.code, code, err.message)
    return true
  })
}

test('an honest block and state verify', async () => {
  const fx = await makeFixture(SEED)
  const vb = verifyBlockWithCertificate(fx.trust, fx.block)
  assert.equal(vb.height, 1)
  assert.deepEqual(vb.signers, [0, 1, 2])
  assert.equal(vb.quorum, 3)
  const addr = address(fx.user.publicKey)
  const s = verifyStateWithProof(fx.trust, 'acct', addr, await fx.state('acct', addr))
  assert.deepEqual(s.decoded, [990, 2])
  assert.equal(s.value, toHex(encode([990, 2])))
  const kv = verifyStateWithProof(fx.trust, 'kv', `${addr}/greeting`, await fx.state('kv', `${addr}/greeting`))
  assert.deepEqual(kv.decoded, { value: 'hello', owner: addr })
  // Absence is proven too.
  const none = verifyStateWithProof(fx.trust, 'acct', 'cd'.repeat(20), await fx.state('acct', 'cd'.repeat(20)))
  assert.equal(none.value, null)
})

test('altered blocks are caught', async () => {
  const fx = await makeFixture(SEED)
  const cases: Array<[string, (b: BlockView) => void, string]> = [
    ['timestamp changed', b => { b.header.timestamp += 1 }, 'ERR_CERT_BLOCK_HASH'],
    ['proposer changed', b => { b.header.proposer = 2 }, 'ERR_CERT_BLOCK_HASH'],
    ['tx dropped', b => { b.txs.pop(); b.txIds.pop() }, 'ERR_BLOCK_TX_ROOT'],
    ['tx bytes changed', b => { b.txs[0] = flip(b.txs[0]!, b.txs[0]!.length - 2) }, 'ERR_BLOCK_TX_ROOT'],
    ['tx ids swapped', b => { b.txIds.reverse() }, 'ERR_TX_IDS'],
    ['hash changed to match altered header', b => { b.hash = flip(b.hash) }, 'ERR_CERT_QUORUM'],
    ['stateRoot changed', b => { b.stateRoot = flip(b.stateRoot) }, 'ERR_CERT_QUORUM'],
    ['height changed', b => { b.height = 2 }, 'ERR_CERT_HEIGHT'],
    ['certificate removed', b => { b.certificate = null }, 'ERR_NO_CERTIFICATE'],
    ['bad hex', b => { b.hash = 'zz' }, 'ERR_VERIFY_MALFORMED']
  ]
  for (const [name, alter, code] of cases) {
    const b = clone(fx.block)
    alter(b)
    rejectsWith(() => verifyBlockWithCertificate(fx.trust, b), code)
    assert.ok(name)
  }
})

test('forged certificates are caught', async () => {
  const fx = await makeFixture(SEED)
  const sigs = fx.block.certificate!.signatures
  const msg = checkpointSignBytes(CHAIN, 1, fromHex(fx.block.hash), fromHex(fx.block.stateRoot))
  const outsider = keyFromSeed(`${SEED}/outsider`)
  const cases: Array<[string, BlockView['certificate']]> = [
    ['only 2 of 4 signatures', { signatures: sigs.slice(0, 2) }],
    ['one validator counted three times', { signatures: [sigs[0]!, sigs[0]!, sigs[0]!] }],
    ['outsider key signs as validator 2', { signatures: [sigs[0]!, sigs[1]!, { validator: 2, signature: toHex(sign(msg, outsider.secretKey)) }] }],
    ['unknown validator index', { signatures: [sigs[0]!, sigs[1]!, { validator: 9, signature: sigs[2]!.signature }] }],
    ['signature bit flipped', { signatures: [sigs[0]!, sigs[1]!, { validator: 2, signature: flip(sigs[2]!.signature, 10) }] }],
    ['signature for another chain', {
      signatures: [sigs[0]!, sigs[1]!, {
        validator: 2,
        signature: toHex(sign(checkpointSignBytes('other-chain', 1, fromHex(fx.block.hash), fromHex(fx.block.stateRoot)), fx.validators[2]!.secretKey))
      }]
    }]
  ]
  for (const [name, cert] of cases) {
    const b = clone(fx.block)
    b.certificate = cert
    assert.throws(() => verifyBlockWithCertificate(fx.trust, b), (err: unknown) => err instanceof VerificationError && err.code === 'ERR_CERT_QUORUM', name)
  }
  // A whole forged chain signed by keys that are not in genesis.
  const impostors = await makeFixture(`${SEED}/impostor`)
  rejectsWith(() => verifyBlockWithCertificate(fx.trust, impostors.block), 'ERR_CERT_QUORUM')
})

test('altered state answers are caught', async () => {
  const fx = await makeFixture(SEED)
  const addr = address(fx.user.publicKey)
  const honest = await fx.state('acct', addr)
  const cases: Array<[string, (s: StateView) => void, string]> = [
    ['value changed', s => { s.value = toHex(encode(1_000_000)) }, 'ERR_STATE_PROOF'],
    ['value hidden (claimed absent)', s => { s.value = null }, 'ERR_STATE_PROOF'],
    ['sibling changed', s => { const p = s.proof as { siblings: string[] }; const i = p.siblings.findIndex(x => x !== ''); p.siblings[i] = flip(p.siblings[i]!) }, 'ERR_STATE_PROOF'],
    ['sibling added', s => { const p = s.proof as { siblings: string[] }; p.siblings.push('ab'.repeat(32)) }, 'ERR_STATE_PROOF'],
    ['proof removed', s => { delete s.proof }, 'ERR_NO_PROOF'],
    ['stateRoot differs from certified block', s => { s.stateRoot = flip(s.stateRoot) }, 'ERR_STATE_ROOT'],
    ['block not certified', s => { s.block!.certificate = null }, 'ERR_NO_CERTIFICATE'],
    ['answer for another key', s => { s.key = 'cd'.repeat(20) }, 'ERR_STATE_KEY']
  ]
  for (const [name, alter, code] of cases) {
    const s = clone(honest)
    alter(s)
    assert.throws(() => verifyStateWithProof(fx.trust, 'acct', addr, s), (err: unknown) => err instanceof VerificationError && err.code === code, name)
  }
  // A proof of another key's value does not prove this key.
  const other = await fx.state('acct', 'ab'.repeat(20))
  other.key = addr
  rejectsWith(() => verifyStateWithProof(fx.trust, 'acct', addr, other), 'ERR_STATE_PROOF')
  // Claiming a present key is absent, with the absent-proof of another key.
  const absent = await fx.state('acct', 'cd'.repeat(20))
  absent.key = addr
  rejectsWith(() => verifyStateWithProof(fx.trust, 'acct', addr, absent), 'ERR_STATE_PROOF')
})
