import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { toHex, utf8 } from '../../src/codec/index.js'
import { sha256 } from '../../src/crypto/index.js'
import { blockCodec, blockHash, buildBlock, tipOf, validateBlock } from '../../src/ledger/block.js'
import { genesisTip } from '../../src/ledger/genesis.js'
import { txRoot } from '../../src/ledger/txroot.js'
import { makeGenesis } from './helpers.js'

const g = makeGenesis(4)

test('build, encode, decode and chain two blocks', () => {
  const g0 = genesisTip(g)
  const b1 = buildBlock({ prev: g0, view: 0, proposer: 0, timestamp: g.genesisTime, txs: [utf8('a'), utf8('b')] })
  assert.deepEqual(b1.block.header.prevHash, g0.hash)
  assert.equal(toHex(validateBlock(b1.block, g0)), toHex(b1.hash))
  const decoded = blockCodec.decode(blockCodec.encode(b1.block))
  assert.equal(toHex(blockHash(decoded.header)), toHex(b1.hash))
  const b2 = buildBlock({ prev: tipOf(b1.block, b1.hash), view: 1, proposer: 1, timestamp: g.genesisTime, txs: [] })
  assert.equal(b2.block.header.height, 2)
  assert.deepEqual(b2.block.header.txRoot, sha256())
  validateBlock(b2.block, tipOf(b1.block, b1.hash))
})

test('validateBlock names what is wrong', () => {
  const g0 = genesisTip(g)
  const { block } = buildBlock({ prev: g0, view: 0, proposer: 0, timestamp: g.genesisTime + 5, txs: [utf8('a')] })
  const h = block.header
  assert.throws(() => validateBlock(block, { ...g0, chainId: 'x' }), { code: 'ERR_WRONG_CHAIN' })
  assert.throws(() => validateBlock({ ...block, header: { ...h, height: 2 } }, g0), { code: 'ERR_BLOCK_HEIGHT' })
  assert.throws(() => validateBlock({ ...block, header: { ...h, prevHash: new Uint8Array(32) } }, g0), { code: 'ERR_BLOCK_PREV_HASH' })
  assert.throws(() => validateBlock({ ...block, txs: [utf8('b')] }, g0), { code: 'ERR_BLOCK_TX_ROOT' })
  assert.throws(() => validateBlock({ ...block, header: { ...h, timestamp: g.genesisTime - 1 } }, g0), (err: Error) => /block 1: timestamp .* is before/.test(err.message))
  assert.throws(() => validateBlock({ ...block, header: { ...h, txRoot: new Uint8Array(31) } }, g0), { code: 'ERR_DECODE' })
  assert.throws(() => blockCodec.decode(utf8('nonsense')), { code: 'ERR_DECODE' })
})

test('txRoot commits to order and content (RFC 6962 shape)', () => {
  const a = utf8('a'); const b = utf8('b'); const c = utf8('c')
  assert.notDeepEqual(txRoot([a, b]), txRoot([b, a]))
  assert.notDeepEqual(txRoot([a, b, c]), txRoot([a, b]))
  assert.deepEqual(txRoot([a]), sha256(new Uint8Array([0]), a))
})
