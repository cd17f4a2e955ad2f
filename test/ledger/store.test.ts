import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { bytesEqual } from '../../src/codec/index.js'
import { openLedgerDb } from '../../src/ledger/db.js'
import { BlockStore } from '../../src/ledger/store.js'
import { verifyStoredChain } from '../../src/ledger/recovery.js'
import { address, createTx, decodeTx } from '../../src/state/tx.js'
import { certify, clientKey, makeGenesis, openChain, tempDir, testSeed } from './helpers.js'
import { StateStore } from '../../src/state/store.js'
import { accountKey } from '../../src/state/keys.js'
import { verifyCertifiedState } from '../../src/ledger/lightclient.js'

test('commit, read back, index, certificates, restart and verify', async () => {
  const seed = testSeed()
  console.log(`seed=${seed} (replay with TEST_SEED=${seed})`)
  const dir = tempDir('store')
  const g = makeGenesis()
  try {
    const chain = await openChain(dir.path, g, seed, 4)
    let { db, store } = chain
    const { driver } = chain
    const hashes: Uint8Array[] = []
    let lastTx: Uint8Array | undefined
    for (let i = 0; i < 12; i++) {
      const next = await driver.next(i % 4)
      const head = await driver.commit(next)
      assert.equal(head.height, i + 1)
      hashes.push(next.hash)
      if (next.block.txs.length > 0) lastTx = next.block.txs[next.block.txs.length - 1]
      if (i % 3 === 0) await store.putCertificate(certify(g, head.height, next.hash, next.stateRoot, [0, 1, 2]))
    }
    assert.equal(store.head()?.height, 12)
    const b5 = await store.getBlock(5)
    assert.ok(b5 !== null && bytesEqual(b5.hash, hashes[4]!))
    const byHash = await store.getBlockByHash(hashes[6]!)
    assert.equal(byHash?.height, 7)
    assert.equal(await store.getBlock(13), null)
    assert.equal(await store.getBlock(0), null)
    const tx = decodeTx(lastTx!)
    const r = await store.getReceipt(tx.id)
    assert.ok(r !== null)
    assert.equal(r.receipt.status, 'ok')
    assert.ok(bytesEqual(r.receipt.txId, tx.id))
    assert.equal((await store.getCertificate(4))?.signatures.length, 3)
    assert.equal(await store.getCertificate(5), null)
    const seen: number[] = []
    for await (const b of store.iterate(10)) seen.push(b.height)
    assert.deepEqual(seen, [10, 11, 12])

    // Wrong height / wrong parent are refused without writing.
    const next = await driver.next(1)
    await assert.rejects(store.commitBlock({ ...next, block: { ...next.block, header: { ...next.block.header, height: 20 } } }), { code: 'ERR_BLOCK_HEIGHT' })
    await assert.rejects(store.commitBlock({ ...next, block: { ...next.block, header: { ...next.block.header, prevHash: new Uint8Array(32) } } }), { code: 'ERR_BLOCK_PREV_HASH' })
    await assert.rejects(store.commitBlock({ ...next, receipts: [] }), { code: 'ERR_RECEIPTS' })
    // A certificate for something this node did not commit is refused.
    await assert.rejects(store.putCertificate(certify(g, 3, hashes[3]!, new Uint8Array(32), [0, 1, 2])), { code: 'ERR_CERT_MISMATCH' })
    await assert.rejects(store.putCertificate(certify(g, 99, hashes[3]!, new Uint8Array(32), [0, 1, 2])), { code: 'ERR_CERT_NO_BLOCK' })
    // Also for the head block (checked against the head in memory, not read back).
    const head = store.head()!
    await assert.rejects(store.putCertificate(certify(g, head.height, head.hash, new Uint8Array(32), [0, 1, 2])), { code: 'ERR_CERT_MISMATCH' })

    await db.close()
    db = await openLedgerDb(dir.path)
    store = await BlockStore.open(db)
    assert.equal(store.head()?.height, 12)
    const v = await verifyStoredChain(store, g, { txId: b => decodeTx(b).id })
    assert.equal(v.height, 12)
    assert.equal(v.certified, 4)
    // The state committed with block 12 is the certified one a light client can check.
    const state = await StateStore.open(db)
    assert.ok(bytesEqual(state.root(), v.stateRoot!))
    assert.equal((await verifyStoredChain(store, g, { committedStateRoot: state.root() })).height, 12)
    await assert.rejects(verifyStoredChain(store, g, { committedStateRoot: new Uint8Array(32) }), (err: Error) => /^block 12: state store root/.test(err.message))
    const b12 = (await store.getBlock(12))!
    const cert = certify(g, 12, b12.hash, b12.stateRoot, [1, 2, 3])
    await store.putCertificate(cert)
    const trust = { chainId: g.chainId, validators: g.validators }
    const proof = await state.prove(accountKey(address(clientKey(0).publicKey)))
    assert.ok(proof.value !== null)
    assert.deepEqual(verifyCertifiedState(trust, cert, proof), proof.value)
    const absent = await state.prove(accountKey('00'.repeat(20)))
    assert.equal(verifyCertifiedState(trust, cert, absent), null)
    assert.throws(() => verifyCertifiedState(trust, cert, { ...proof, value: new Uint8Array([1]) }), { code: 'ERR_STATE_PROOF' })
    await assert.rejects(store.checkGenesis(new Uint8Array(32)), { code: 'ERR_CONFIG' })
    await db.close()
  } finally {
    dir.cleanup()
  }
})

type Chain = Awaited<ReturnType<typeof openChain>>

/** A fresh 2-block-driver chain and transfers from client 0 to client 1 by nonce. */
async function withTransfers (name: string, fn: (c: Chain, transfer: (nonce: number) => Uint8Array) => Promise<void>): Promise<void> {
  const dir = tempDir(name)
  const g = makeGenesis()
  try {
    const chain = await openChain(dir.path, g, 1, 2)
    const key = clientKey(0)
    const to = address(clientKey(1).publicKey)
    await fn(chain, nonce => createTx({ chainId: g.chainId, sender: key.publicKey, nonce, contract: 'bank', method: 'transfer', args: { to, amount: 1 } }, key.secretKey))
    await chain.db.close()
  } finally {
    dir.cleanup()
  }
}

test('a tx refused for a nonce gap is not indexed, so its later commit is the one found', async () => {
  await withTransfers('store-gap', async ({ store, driver }, transfer) => {
    const early = transfer(1)
    const first = await driver.nextWith([early])
    assert.equal(first.receipts[0]!.status, 'ERR_NONCE_GAP')
    await driver.commit(first)
    assert.equal(await store.getReceipt(decodeTx(early).id), null, 'a retryable failure is not the final word on this tx')
    const second = await driver.nextWith([transfer(0), early])
    assert.deepEqual(second.receipts.map(r => r.status), ['ok', 'ok'])
    await driver.commit(second)
    const found = await store.getReceipt(decodeTx(early).id)
    assert.equal(found?.height, 2)
    assert.equal(found?.receipt.status, 'ok')
  })
})

test('the index keeps an applied receipt against later replays, and an applied receipt replaces an earlier refusal', async () => {
  await withTransfers('store-replay', async ({ store, driver }, transfer) => {
    // Block 1: a tx whose nonce is one ahead, twice: a nonce gap (retryable) and a duplicate (final).
    const early = transfer(1)
    const first = await driver.nextWith([early, early])
    assert.deepEqual(first.receipts.map(r => r.status), ['ERR_NONCE_GAP', 'ERR_DUPLICATE_TX'])
    await driver.commit(first)
    assert.equal((await store.getReceipt(decodeTx(early).id))?.receipt.status, 'ERR_DUPLICATE_TX')
    // Block 2: the tx applies; that receipt is the one that matters for these bytes.
    const second = await driver.nextWith([transfer(0), early])
    assert.deepEqual(second.receipts.map(r => r.status), ['ok', 'ok'])
    await driver.commit(second)
    assert.deepEqual([(await store.getReceipt(decodeTx(early).id))?.height, (await store.getReceipt(decodeTx(early).id))?.receipt.status], [2, 'ok'])
    // Block 3: a replay is refused for its used nonce and does not move the index.
    const third = await driver.nextWith([early])
    assert.deepEqual(third.receipts.map(r => r.status), ['ERR_STALE_NONCE'])
    await driver.commit(third)
    const found = await store.getReceipt(decodeTx(early).id)
    assert.deepEqual([found?.height, found?.index, found?.receipt.status], [2, 1, 'ok'])
  })
})
