import { test } from 'node:test'
import assert from 'node:assert/strict'
import { encode } from '../../src/codec/index.js'
import { executeBlock, outcomeOf, RETRYABLE_CODES, UNAPPLIED_CODES } from '../../src/state/executor.js'
import { genesisWrites } from '../../src/state/contracts/bank.js'
import { decodeAccount, encodeAccount, readBalance } from '../../src/state/account.js'
import { HANDLERS } from '../../src/state/contracts/index.js'
import { METHODS, U64_MAX } from '../../src/state/contracts/schemas.js'
import { readAccount } from '../../src/state/query.js'
import { createTx, decodeTx, type DecodedTx } from '../../src/state/tx.js'
import { account, call, CHAIN, MemState } from './helpers.js'

async function funded (amounts: Array<[ReturnType<typeof account>, bigint]>): Promise<MemState> {
  const s = new MemState()
  s.apply(genesisWrites(amounts.map(([a, amount]) => ({ address: a.addr, amount }))))
  return s
}

test('handlers and schemas list the same methods', () => {
  for (const c of Object.keys(METHODS)) assert.deepEqual(Object.keys(HANDLERS[c]!).sort(), Object.keys(METHODS[c]!).sort(), c)
  assert.deepEqual(Object.keys(HANDLERS).sort(), Object.keys(METHODS).sort())
})

test('bank: transfer, overdraft, overflow, self-transfer', async () => {
  const alice = account(1); const bob = account(2)
  const s = await funded([[alice, 100n], [bob, U64_MAX - 10n]])
  let r = await s.block([call(alice, 'bank', 'transfer', { to: bob.addr, amount: 5 })])
  assert.equal(r.receipts[0]!.status, 'ok')
  assert.deepEqual(r.receipts[0]!.events, [{ type: 'bank.transfer', data: { from: alice.addr, to: bob.addr, amount: '5' } }])
  assert.deepEqual(await readAccount(s, alice.addr), { balance: 95n, nonce: 1 })
  assert.equal(await readBalance(s, bob.addr), U64_MAX - 5n)

  r = await s.block([call(alice, 'bank', 'transfer', { to: bob.addr, amount: 96 })])
  assert.equal(r.receipts[0]!.status, 'ERR_INSUFFICIENT_FUNDS')
  assert.match(r.receipts[0]!.error, /holds 95/)
  // The failed tx consumed its nonce and nothing else.
  assert.deepEqual(await readAccount(s, alice.addr), { balance: 95n, nonce: 2 })

  r = await s.block([call(alice, 'bank', 'transfer', { to: bob.addr, amount: 6 })])
  assert.equal(r.receipts[0]!.status, 'ERR_BALANCE_OVERFLOW')
  assert.equal(await readBalance(s, bob.addr), U64_MAX - 5n)

  r = await s.block([call(bob, 'bank', 'transfer', { to: bob.addr, amount: 7n })])
  assert.equal(r.receipts[0]!.status, 'ok')
  assert.equal(await readBalance(s, bob.addr), U64_MAX - 5n)

  // Sending everything keeps the account record for its nonce (so replays stay refused);
  // receiving into an unknown account creates it; only the empty account has no record.
  const carol = account(3)
  r = await s.block([call(alice, 'bank', 'transfer', { to: carol.addr, amount: 95 })])
  assert.equal(r.receipts[0]!.status, 'ok')
  assert.equal(r.writes.length, 2)
  assert.ok(r.writes.every(w => w.value !== null))
  assert.deepEqual(await readAccount(s, carol.addr), { balance: 95n, nonce: 0 })
  assert.deepEqual(await readAccount(s, alice.addr), { balance: 0n, nonce: 4 })
  assert.equal(encodeAccount({ balance: 0n, nonce: 0 }), null)
  assert.deepEqual(decodeAccount(encodeAccount({ balance: U64_MAX, nonce: 3 })), { balance: U64_MAX, nonce: 3 })
  assert.throws(() => decodeAccount(encode([1])), /not a \[balance, nonce\] pair/)
  assert.throws(() => decodeAccount(encode([-1, 0])), /balance is not a u64/)
  assert.throws(() => decodeAccount(encode([1, -1])), /nonce is not a safe unsigned integer/)
})

test('nonces: replay, duplicate in block, gap, bad signature, wrong chain', async () => {
  const alice = account(1); const bob = account(2)
  const s = await funded([[alice, 100n]])
  const t0 = call(alice, 'bank', 'transfer', { to: bob.addr, amount: 1 })
  let r = await s.block([t0, t0])
  assert.deepEqual(r.receipts.map(x => x.status), ['ok', 'ERR_DUPLICATE_TX'])
  r = await s.block([t0])
  assert.equal(r.receipts[0]!.status, 'ERR_STALE_NONCE')
  assert.deepEqual(r.writes, [])
  r = await s.block([call(alice, 'bank', 'transfer', { to: bob.addr, amount: 1 }, 5)])
  assert.equal(r.receipts[0]!.status, 'ERR_NONCE_GAP')
  assert.deepEqual(r.writes, [])
  // Signed by bob's key but claiming alice as sender: refused without consuming her nonce.
  const forged = createTx({ chainId: CHAIN, sender: alice.publicKey, nonce: 1, contract: 'bank', method: 'transfer', args: { to: bob.addr, amount: 50 } }, bob.secretKey)
  const wrongChain = createTx({ chainId: 'other', sender: alice.publicKey, nonce: 1, contract: 'bank', method: 'transfer', args: { to: bob.addr, amount: 50 } }, alice.secretKey)
  r = await s.block([forged, wrongChain, new Uint8Array([0xa0])])
  assert.deepEqual(r.receipts.map(x => x.status), ['ERR_BAD_SIGNATURE', 'ERR_WRONG_CHAIN', 'ERR_TX_MALFORMED'])
  assert.deepEqual(r.writes, [])
  assert.deepEqual(await readAccount(s, alice.addr), { balance: 99n, nonce: 1 })
  // Nonces chain within one block.
  r = await s.block([call(alice, 'bank', 'transfer', { to: bob.addr, amount: 1 }), call(alice, 'bank', 'transfer', { to: bob.addr, amount: 1 })])
  assert.deepEqual(r.receipts.map(x => x.status), ['ok', 'ok'])
  assert.deepEqual(await readAccount(s, alice.addr), { balance: 97n, nonce: 3 })
  // A cached signature verdict is honoured (the mempool verified once).
  const t = call(alice, 'bank', 'transfer', { to: bob.addr, amount: 1 })
  const res = await executeBlock(s, s.ctx(99), [t], { isSignatureValid: () => false })
  assert.equal(res.receipts[0]!.status, 'ERR_BAD_SIGNATURE')
})

test('unknown contract, unknown method and malformed args fail but consume the nonce', async () => {
  const alice = account(1)
  const s = await funded([[alice, 10n]])
  const r = await s.block([
    call(alice, 'casino', 'bet', {}),
    call(alice, 'bank', 'mint', {}),
    call(alice, 'bank', 'transfer', { to: 'nobody', amount: 1 }),
    call(alice, 'kv', 'set', { key: 'k' })
  ])
  assert.deepEqual(r.receipts.map(x => x.status), ['ERR_UNKNOWN_CONTRACT', 'ERR_UNKNOWN_METHOD', 'ERR_BAD_ARGS', 'ERR_BAD_ARGS'])
  assert.match(r.receipts[2]!.error, /args\/to/)
  assert.deepEqual(await readAccount(s, alice.addr), { balance: 10n, nonce: 4 })
})

test('kv: owner-scoped set and delete', async () => {
  const alice = account(1); const bob = account(2)
  const s = new MemState()
  let r = await s.block([call(alice, 'kv', 'set', { key: 'color', value: 'red' }), call(bob, 'kv', 'set', { key: 'color', value: new Uint8Array([1, 2]) })])
  assert.deepEqual(r.receipts.map(x => x.status), ['ok', 'ok'])
  const { readKv } = await import('../../src/state/contracts/kv.js')
  assert.deepEqual(await readKv(s, alice.addr, 'color'), { value: 'red', height: 1 })
  assert.deepEqual(await readKv(s, bob.addr, 'color'), { value: new Uint8Array([1, 2]), height: 1 })
  // Bob deleting "color" only touches his own entry.
  r = await s.block([call(bob, 'kv', 'delete', { key: 'color' }), call(bob, 'kv', 'delete', { key: 'color' })])
  assert.deepEqual(r.receipts.map(x => x.result), [{ deleted: true }, { deleted: false }])
  assert.equal(await readKv(s, bob.addr, 'color'), null)
  assert.deepEqual(await readKv(s, alice.addr, 'color'), { value: 'red', height: 1 })
})

test('lock: grant, FIFO queue, idempotence, renew, release, expiry, monotonic fencing tokens, stale fences', async () => {
  const [a, b, c] = [account(1), account(2), account(3)]
  const { readLock } = await import('../../src/state/contracts/lock.js')
  const s = new MemState()
  const tokens: number[] = []
  const grantsOf = (r: { receipts: Array<{ events: Array<{ type: string, data: unknown }> }> }): Array<{ holder: string, token: number }> =>
    r.receipts.flatMap(x => x.events).filter(e => e.type === 'lock.granted').map(e => e.data as { holder: string, token: number })

  // Height 1: a gets it (lease 3 -> expires at 4), then b and c queue in order; a's retry is idempotent.
  let r = await s.block([
    call(a, 'lock', 'acquire', { name: 'L', leaseBlocks: 3 }),
    call(b, 'lock', 'acquire', { name: 'L', leaseBlocks: 10 }),
    call(c, 'lock', 'acquire', { name: 'L', leaseBlocks: 10 }),
    call(a, 'lock', 'acquire', { name: 'L', leaseBlocks: 3 }),
    call(b, 'lock', 'acquire', { name: 'L', leaseBlocks: 10 })
  ])
  assert.deepEqual(r.receipts.map(x => x.result), [
    { granted: true, token: 1, expiresAt: 4 }, { granted: false, position: 1 }, { granted: false, position: 2 },
    { granted: true, token: 1, expiresAt: 4 }, { granted: false, position: 1 }
  ])
  tokens.push(...grantsOf(r).map(g => g.token))
  let lock = await readLock(s, 'L', 1)
  assert.deepEqual(lock.queue.map(w => w.who), [b.addr, c.addr])

  // Fenced writes: only the holder with the current token.
  r = await s.block([
    call(a, 'kv', 'set', { key: 'x', value: 'a1', fence: { lock: 'L', token: 1 } }),
    call(b, 'kv', 'set', { key: 'x', value: 'b1', fence: { lock: 'L', token: 1 } }),
    call(a, 'kv', 'set', { key: 'x', value: 'a0', fence: { lock: 'L', token: 0 } })
  ])
  assert.deepEqual(r.receipts.map(x => x.status), ['ok', 'ERR_STALE_FENCE', 'ERR_STALE_FENCE'])

  // Renew and release are for the holder only.
  r = await s.block([call(b, 'lock', 'renew', { name: 'L', leaseBlocks: 5 }), call(b, 'lock', 'release', { name: 'L' }), call(a, 'lock', 'renew', { name: 'L', leaseBlocks: 5 })])
  assert.deepEqual(r.receipts.map(x => x.status), ['ERR_NOT_LOCK_HOLDER', 'ERR_NOT_LOCK_HOLDER', 'ok'])
  assert.deepEqual(r.receipts[2]!.result, { token: 1, expiresAt: 8 }) // height 3 + 5

  // a releases at height 4: b (first in queue) is granted with token 2, lease from now.
  r = await s.block([call(a, 'lock', 'release', { name: 'L' })])
  assert.deepEqual(grantsOf(r).map(g => [g.holder, g.token]), [[b.addr, 2]])
  tokens.push(...grantsOf(r).map(g => g.token))
  lock = await readLock(s, 'L', 4)
  assert.equal(lock.holder, b.addr); assert.equal(lock.expiresAt, 14)
  // a's old token is now stale even if a re-acquires (a joins the queue behind c).
  r = await s.block([call(a, 'kv', 'set', { key: 'x', value: 'late', fence: { lock: 'L', token: 1 } }), call(a, 'lock', 'acquire', { name: 'L', leaseBlocks: 2 })])
  assert.deepEqual(r.receipts.map(x => x.status), ['ERR_STALE_FENCE', 'ok'])
  assert.deepEqual(r.receipts[1]!.result, { granted: false, position: 2 })

  // b's lease expires at 14; at height 14 the next touch passes the lock to c lazily.
  lock = await readLock(s, 'L', 13)
  assert.equal(lock.holder, b.addr)
  lock = await readLock(s, 'L', 14)
  assert.equal(lock.holder, c.addr); assert.equal(lock.token, 3)
  r = await s.block([call(b, 'lock', 'renew', { name: 'L', leaseBlocks: 5 }), call(c, 'kv', 'set', { key: 'y', value: 'c', fence: { lock: 'L', token: 3 } })], 14)
  assert.deepEqual(r.receipts.map(x => x.status), ['ERR_NOT_LOCK_HOLDER', 'ok'])
  // The failed renew rolled back its lazy transition; c's fenced write saw it anyway (read-only).
  assert.equal(grantsOf(r).length, 0)
  r = await s.block([call(c, 'lock', 'release', { name: 'L' })], 15)
  // Touching settles c's grant (token 3, lease 10 from 15), then release hands it to a (token 4).
  assert.deepEqual(grantsOf(r).map(g => [g.holder, g.token]), [[c.addr, 3], [a.addr, 4]])
  tokens.push(...grantsOf(r).map(g => g.token))
  // a's lease (2 blocks from 15) expires at 17 with nobody waiting: the lock becomes free.
  lock = await readLock(s, 'L', 17)
  assert.equal(lock.holder, null); assert.equal(lock.token, 4)
  r = await s.block([call(b, 'lock', 'acquire', { name: 'L', leaseBlocks: 1 })], 20)
  tokens.push(...grantsOf(r).map(g => g.token))
  assert.deepEqual(tokens, [1, 2, 3, 4, 5])
})

test('atomic: all calls or none, failing call index reported', async () => {
  const a = account(1); const b = account(2); const c = account(3)
  const s = await funded([[a, 10n]])
  let r = await s.block([call(a, 'atomic', 'exec', {
    calls: [
      { contract: 'bank', method: 'transfer', args: { to: b.addr, amount: 4 } },
      { contract: 'kv', method: 'set', args: { key: 'k', value: 'v' } },
      { contract: 'bank', method: 'transfer', args: { to: c.addr, amount: 7 } }
    ]
  })])
  assert.equal(r.receipts[0]!.status, 'ERR_INSUFFICIENT_FUNDS')
  assert.deepEqual(r.receipts[0]!.result, { failedCall: 2 })
  assert.match(r.receipts[0]!.error, /atomic call 2 \(bank\.transfer\)/)
  assert.deepEqual(r.receipts[0]!.events, [])
  assert.deepEqual(await readAccount(s, a.addr), { balance: 10n, nonce: 1 })
  assert.equal(await readBalance(s, b.addr), 0n)
  assert.equal(r.writes.length, 1) // only the nonce

  r = await s.block([call(a, 'atomic', 'exec', {
    calls: [
      { contract: 'bank', method: 'transfer', args: { to: b.addr, amount: 4 } },
      { contract: 'bank', method: 'transfer', args: { to: c.addr, amount: 6 } }
    ]
  })])
  assert.equal(r.receipts[0]!.status, 'ok')
  assert.equal(r.receipts[0]!.events.length, 2)
  assert.deepEqual([await readBalance(s, a.addr), await readBalance(s, b.addr), await readBalance(s, c.addr)], [0n, 4n, 6n])

  // A call with bad arguments is caught before anything runs, and named too.
  r = await s.block([call(a, 'atomic', 'exec', {
    calls: [{ contract: 'kv', method: 'set', args: { key: 'k', value: 'v' } }, { contract: 'lock', method: 'acquire', args: { name: 'n' } }]
  })])
  assert.equal(r.receipts[0]!.status, 'ERR_BAD_ARGS')
  assert.deepEqual(r.receipts[0]!.result, { failedCall: 1 })
  assert.match(r.receipts[0]!.error, /args\/calls\/1\/args/)
})

test('determinism: same block on same state gives identical writes and receipts', async () => {
  const accts = [1, 2, 3, 4].map(account)
  const txs: Uint8Array[] = []
  for (let i = 0; i < 40; i++) {
    const from = accts[i % 4]!; const to = accts[(i * 7 + 1) % 4]!
    txs.push(i % 5 === 0
      ? call(from, 'lock', 'acquire', { name: `l${i % 3}`, leaseBlocks: 2 })
      : i % 5 === 1 ? call(from, 'kv', 'set', { key: `k${i}`, value: `v${i}` }) : call(from, 'bank', 'transfer', { to: to.addr, amount: i }))
  }
  const run = async (decoded?: (i: number) => DecodedTx | undefined): Promise<Uint8Array> => {
    const s = await funded(accts.map(a => [a, 100n] as [typeof a, bigint]))
    const r = await executeBlock(s, s.ctx(1), txs, decoded !== undefined ? { decoded } : {})
    return encode({ receipts: r.receipts, writes: r.writes } as unknown as Record<string, unknown>)
  }
  const plain = await run()
  assert.deepEqual(await run(), plain)
  // Txs handed over already decoded (the mempool's copies), some of them only: same result.
  const pre = txs.map(decodeTx)
  let asked = 0
  assert.deepEqual(await run(i => { asked++; return i % 3 === 0 ? undefined : pre[i] }), plain)
  assert.equal(asked, txs.length)
  // The prefetch hint names every sender's account and each transfer's recipient, once per block, and changes nothing.
  const s = await funded(accts.map(a => [a, 100n] as [typeof a, bigint]))
  const hinted: string[] = []
  const r = await executeBlock(s, s.ctx(1), txs, { prefetch: async keys => { hinted.push(...keys.map(k => new TextDecoder().decode(k))) } })
  assert.deepEqual(encode({ receipts: r.receipts, writes: r.writes } as unknown as Record<string, unknown>), plain)
  assert.deepEqual(new Set(hinted), new Set(accts.map(a => `acct/${a.addr}`)))
  assert.equal(hinted.length, txs.length + txs.filter((_, i) => i % 5 > 1).length)
})

test('lock queue is bounded; query helpers decode stored values', async () => {
  const { MAX_LOCK_QUEUE } = await import('../../src/state/contracts/lock.js')
  const { decodeStateValue } = await import('../../src/state/query.js')
  const { stateKey } = await import('../../src/state/keys.js')
  const s = new MemState()
  const holder = account(100)
  const txs = [call(holder, 'lock', 'acquire', { name: 'q', leaseBlocks: 5 })]
  for (let i = 0; i <= MAX_LOCK_QUEUE; i++) txs.push(call(account(101 + i), 'lock', 'acquire', { name: 'q', leaseBlocks: 5 }))
  const r = await s.block(txs)
  assert.deepEqual(r.receipts.map(x => x.status).slice(-2), ['ok', 'ERR_LOCK_QUEUE_FULL'])
  const lock = decodeStateValue('lock', await s.get(stateKey('lock', 'q'))) as { holder: string, token: number, queue: unknown[] }
  assert.equal(lock.holder, holder.addr); assert.equal(lock.token, 1); assert.equal(lock.queue.length, MAX_LOCK_QUEUE)

  await s.block([call(holder, 'kv', 'set', { key: 'b', value: new Uint8Array([0xab]) })])
  assert.deepEqual(decodeStateValue('kv', await s.get(stateKey('kv', `${holder.addr}/b`))), { value: { hex: 'ab' }, height: 2 })
  assert.deepEqual(decodeStateValue('acct', await s.get(stateKey('acct', holder.addr))), { balance: '0', nonce: 2 })
  s.apply(genesisWrites([{ address: holder.addr, amount: 12n }]))
  assert.deepEqual(decodeStateValue('acct', await s.get(stateKey('acct', holder.addr))), { balance: '12', nonce: 0 })
  assert.equal(decodeStateValue('acct', new Uint8Array([0xff])), null)
  assert.equal(decodeStateValue('acct', encode([1, -1])), null)
  assert.equal(decodeStateValue('acct', encode(7)), null)
  assert.equal(decodeStateValue('nope', new Uint8Array([1])), null)
})

test('genesisWrites refuses bad allocations', () => {
  const a = account(1)
  assert.throws(() => genesisWrites([{ address: 'xyz', amount: 1n }]), { code: 'ERR_CONFIG' })
  assert.throws(() => genesisWrites([{ address: a.addr, amount: -1n }]), { code: 'ERR_CONFIG' })
  assert.throws(() => genesisWrites([{ address: a.addr, amount: U64_MAX + 1n }]), { code: 'ERR_CONFIG' })
  assert.throws(() => genesisWrites([{ address: a.addr, amount: 1n }, { address: a.addr, amount: 2n }]), /twice/)
  assert.deepEqual(genesisWrites([{ address: a.addr, amount: 0n }]), [])
})

test('outcomeOf: applied (nonce used, ok or failed), retryable (nonce gap), refused for good (the rest of the unapplied codes)', () => {
  assert.equal(outcomeOf('ok'), 'applied')
  assert.equal(outcomeOf('ERR_INSUFFICIENT_FUNDS'), 'applied', 'a failure after the nonce check still used the nonce')
  assert.equal(outcomeOf('ERR_NONCE_GAP'), 'retryable')
  for (const code of UNAPPLIED_CODES) {
    if (RETRYABLE_CODES.has(code)) continue
    assert.equal(outcomeOf(code), 'refused', code)
  }
})
