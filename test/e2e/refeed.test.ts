import '../../src/polyfill.js'
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { ProcNet, basePortFor, sleep } from './harness.js'

// The node hands pending txs to consensus again when they sat a view-change timeout without a
// block applying one (PBFT's client retransmission). The timeout must count from when the
// mempool stopped being empty, not from the last block before an idle stretch.
const TIMEOUT_MS = 3000
let net: ProcNet

before(async () => {
  net = await ProcNet.create({ validators: 1, basePort: basePortFor('e2e-refeed'), params: { viewChangeTimeoutMs: TIMEOUT_MS } })
  await net.startAll()
})

after(async () => { await net?.close() })

async function refeeds (): Promise<number> {
  const text = await (await fetch(`${net.url(0)}/metrics`, { signal: AbortSignal.timeout(3000) })).text()
  const m = /^bft_request_refeeds_total (\d+)/m.exec(text)
  assert.ok(m !== null, 'bft_request_refeeds_total is exported')
  return Number(m[1])
}

test('a tx after an idle stretch is not re-fed at once; one stuck for the timeout is', { timeout: 60_000 }, async () => {
  await sleep(TIMEOUT_MS + 500)
  assert.equal(await refeeds(), 0, 'an empty mempool is never re-fed')
  // Nonce 1 without nonce 0: admitted and queued behind the gap, so it stays pending.
  const bob = (await net.key('bob')).address
  await net.transferTx('carol', bob, 1)
  const gapped = await net.transferTx('carol', bob, 1)
  const r = await net.submit(0, gapped)
  assert.ok(r.status >= 200 && r.status < 300, `queued tx accepted: ${JSON.stringify(r.body)}`)
  // The once-a-second check runs at least once in the next 1.5 s: counted from the last block,
  // it would re-feed now.
  await sleep(1500)
  assert.equal(await refeeds(), 0, 'not re-fed within the timeout of its admission')
  await net.waitFor('the stuck tx to be re-fed', refeeds, n => n >= 1, TIMEOUT_MS + 3000)
})
