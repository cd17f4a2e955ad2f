import { test } from 'node:test'
import assert from 'node:assert/strict'
import { buildBlock } from '../../src/ledger/block.js'
import { blockView } from '../../src/node/views.js'
import { genesisWrites } from '../../src/state/contracts/bank.js'
import { txIdHex } from '../../src/state/tx.js'
import { account, call, CHAIN, MemState } from '../state/helpers.js'

test('a block view names the txs refused for a nonce gap (still pending) and those refused for good, apart from the applied ones', async () => {
  const alice = account(1); const bob = account(2)
  const s = new MemState()
  s.apply(genesisWrites([{ address: alice.addr, amount: 100n }]))
  // Nonce 1 ahead of nonce 0: refused for its position only; bob's tx has no funds (final).
  const early = call(alice, 'bank', 'transfer', { to: bob.addr, amount: 1 }, 1)
  const first = call(alice, 'bank', 'transfer', { to: bob.addr, amount: 1 }, 0)
  const broke = call(bob, 'bank', 'transfer', { to: alice.addr, amount: 5 }, 0)
  // A replay of `first` after it applied: refused for good, nothing changed (not 'ok', not retryable).
  const txs = [early, first, broke, first]
  const r = await s.block(txs)
  assert.deepEqual(r.receipts.map(x => x.status), ['ERR_NONCE_GAP', 'ok', 'ERR_INSUFFICIENT_FUNDS', 'ERR_DUPLICATE_TX'])

  const { block, hash } = buildBlock({ prev: { chainId: CHAIN, height: 0, hash: new Uint8Array(32), timestamp: 0 }, view: 0, proposer: 0, timestamp: 1, txs })
  const view = blockView({ hash, block, stateRoot: new Uint8Array(32) }, null, r.receipts)
  assert.deepEqual(view.txIds, txs.map(t => txIdHex(t)))
  assert.deepEqual(view.retryable, [txIdHex(early)])
  // An applied failure (no funds) used its nonce: it is neither retryable nor refused.
  assert.deepEqual(view.refused, [txIdHex(first)])
  // Ids passed in by the caller give the same view.
  assert.deepEqual(blockView({ hash, block, stateRoot: new Uint8Array(32) }, null, r.receipts, view.txIds), view)
  assert.deepEqual(blockView({ hash, block, stateRoot: new Uint8Array(32) }, null, []).retryable, [])
})
