import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { verifyNoble } from '../../src/crypto/index.js'
import { sha256 } from '../../src/crypto/hash.js'
import { utf8 } from '../../src/codec/index.js'
import { certificateCodec, certificateFromCheckpoints, verifyCertificate } from '../../src/ledger/certificate.js'
import { buildBlock } from '../../src/ledger/block.js'
import { genesisTip } from '../../src/ledger/genesis.js'
import { verifyCertifiedBlock, verifyCertifiedState, verifyTxInCertifiedHeader } from '../../src/ledger/lightclient.js'
import { txInclusionProof } from '../../src/ledger/txroot.js'
import { certify, makeGenesis } from './helpers.js'

const g = makeGenesis(4)
const hash = sha256(utf8('block'))
const root = sha256(utf8('state'))

test('2f+1 distinct valid signatures verify; node and noble verifiers agree', () => {
  const cert = certify(g, 7, hash, root, [0, 2, 3])
  assert.deepEqual(verifyCertificate(g.validators, g.chainId, cert).signers, [0, 2, 3])
  assert.deepEqual(verifyCertificate(g.validators, g.chainId, cert, verifyNoble).signers, [0, 2, 3])
  assert.deepEqual(certificateCodec.decode(certificateCodec.encode(cert)), cert)
})

test('too few, duplicated, unknown or forged signatures do not make a quorum', () => {
  assert.throws(() => verifyCertificate(g.validators, g.chainId, certify(g, 7, hash, root, [0, 1])), { code: 'ERR_CERT_QUORUM' })
  const dup = certify(g, 7, hash, root, [0, 1, 1, 1])
  assert.throws(() => verifyCertificate(g.validators, g.chainId, dup), (err: Error) => /2 valid .* needs 3 of 4 .*2 duplicate/.test(err.message))
  const unknown = certify(g, 7, hash, root, [0, 1])
  unknown.signatures.push({ validator: 9, signature: unknown.signatures[0]!.signature })
  assert.throws(() => verifyCertificate(g.validators, g.chainId, unknown), (err: Error) => /1 unknown validator/.test(err.message))
  const forged = certify(g, 7, hash, root, [0, 1, 2])
  forged.signatures[2] = { validator: 2, signature: forged.signatures[1]!.signature }
  assert.throws(() => verifyCertificate(g.validators, g.chainId, forged), (err: Error) => /1 invalid signature/.test(err.message))
  // Extra junk does not spoil a real quorum.
  const extra = certify(g, 7, hash, root, [0, 1, 2])
  extra.signatures.push(forged.signatures[2]!, { validator: 77, signature: new Uint8Array(64) })
  assert.deepEqual(verifyCertificate(g.validators, g.chainId, extra).signers, [0, 1, 2])
})

test('signatures do not carry over to another chain, height, block or state root', () => {
  const cert = certify(g, 7, hash, root, [0, 1, 2, 3])
  assert.throws(() => verifyCertificate(g.validators, 'other-chain', cert), { code: 'ERR_CERT_QUORUM' })
  assert.throws(() => verifyCertificate(g.validators, g.chainId, { ...cert, height: 8 }), { code: 'ERR_CERT_QUORUM' })
  assert.throws(() => verifyCertificate(g.validators, g.chainId, { ...cert, stateRoot: hash }), { code: 'ERR_CERT_QUORUM' })
  assert.throws(() => verifyCertificate(g.validators, g.chainId, { ...cert, blockHash: root }), { code: 'ERR_CERT_QUORUM' })
  assert.throws(() => verifyCertificate(g.validators, g.chainId, { ...cert, blockHash: new Uint8Array(3) }), { code: 'ERR_DECODE' })
})

test('certificateFromCheckpoints maps replica ids and sorts', () => {
  const c = certify(g, 3, hash, root, [2, 0, 1])
  const fromEffect = certificateFromCheckpoints(3, hash, root, c.signatures.map(s => ({ replica: s.validator, signature: s.signature })))
  assert.deepEqual(fromEffect.signatures.map(s => s.validator), [0, 1, 2])
  verifyCertificate(g.validators, g.chainId, fromEffect)
})

test('light client: block, tx inclusion and state proof against a certificate', () => {
  const txs = [utf8('tx-a'), utf8('tx-b'), utf8('tx-c')]
  const { block, hash: bh } = buildBlock({ prev: genesisTip(g), view: 0, proposer: 0, timestamp: g.genesisTime + 1, txs })
  const cert = certify(g, 1, bh, root, [1, 2, 3])
  const trust = { chainId: g.chainId, validators: g.validators, verify: verifyNoble }
  verifyCertifiedBlock(trust, block, cert)
  assert.throws(() => verifyCertifiedBlock(trust, { ...block, txs: [txs[0]!, txs[2]!, txs[1]!] }, cert), { code: 'ERR_BLOCK_TX_ROOT' })
  assert.throws(() => verifyCertifiedBlock(trust, { ...block, header: { ...block.header, timestamp: 5 } }, cert), { code: 'ERR_CERT_BLOCK_HASH' })
  verifyTxInCertifiedHeader(trust, block.header, cert, txs[1]!, 1, 3, txInclusionProof(txs, 1))
  assert.throws(() => verifyTxInCertifiedHeader(trust, block.header, cert, utf8('tx-x'), 1, 3, txInclusionProof(txs, 1)), { code: 'ERR_TX_PROOF' })
  const proof = { key: utf8('k'), value: utf8('v'), proof: null }
  assert.deepEqual(verifyCertifiedState(trust, cert, proof, r => r === cert.stateRoot), utf8('v'))
  assert.throws(() => verifyCertifiedState(trust, cert, proof, () => false), { code: 'ERR_STATE_PROOF' })
})
