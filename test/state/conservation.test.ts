import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { genesisWrites } from '../../src/state/contracts/bank.js'
import { readBalance, readNonce } from '../../src/state/account.js'
import { U64_MAX } from '../../src/state/contracts/schemas.js'
import { account, call, MemState } from './helpers.js'

const seed = Number(process.env.FC_SEED ?? Date.now() % 1_000_000)
console.log(`conservation property seed: FC_SEED=${seed}`)

const accts = Array.from({ length: 5 }, (_, i) => account(i + 10))

// A transfer (or an atomic pair of transfers) with a sometimes-wrong nonce and sometimes-too-big amount.
const txArb = fc.record({
  from: fc.nat({ max: 4 }),
  to: fc.nat({ max: 4 }),
  amount: fc.oneof(fc.bigInt({ min: 1n, max: 500n }), fc.bigInt({ min: 1n, max: U64_MAX })),
  nonceSkew: fc.constantFrom(0, 0, 0, 0, -1, 1),
  atomic: fc.boolean()
})

test('conservation: the sum of balances is constant across random transfer blocks', async () => {
  await fc.assert(fc.asyncProperty(fc.array(fc.array(txArb, { maxLength: 12 }), { minLength: 1, maxLength: 4 }), fc.array(fc.bigInt({ min: 0n, max: 1n << 62n }), { minLength: 5, maxLength: 5 }), async (blocks, initial) => {
    const s = new MemState()
    s.apply(genesisWrites(accts.map((a, i) => ({ address: a.addr, amount: initial[i]! }))))
    const total = initial.reduce((x, y) => x + y, 0n)
    for (const a of accts) a.nonce = 0
    for (const block of blocks) {
      const txs = block.map(t => {
        const a = accts[t.from]!
        const nonce = Math.max(0, a.nonce + t.nonceSkew)
        if (nonce === a.nonce) a.nonce++
        const transfer = { contract: 'bank', method: 'transfer', args: { to: accts[t.to]!.addr, amount: t.amount } }
        return t.atomic
          ? call(a, 'atomic', 'exec', { calls: [transfer, { ...transfer, args: { to: accts[(t.to + 1) % 5]!.addr, amount: 1 } }] }, nonce)
          : call(a, transfer.contract, transfer.method, transfer.args, nonce)
      })
      const r = await s.block(txs)
      assert.equal(r.receipts.length, txs.length)
      let sum = 0n
      for (const a of accts) sum += await readBalance(s, a.addr)
      assert.equal(sum, total)
      // Nonces on chain never run ahead of what the senders signed.
      for (const a of accts) assert.ok(await readNonce(s, a.addr) <= a.nonce)
    }
  }), { seed, numRuns: 40 })
})
