import '../../src/polyfill.js'
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { ProcNet, basePortFor, forgeSignature, sleep } from './harness.js'

// Four real validator processes on 127.0.0.1: commit, lose the primary, lose a backup for a
// long stretch; after each fault every node converges on one head hash and state root.
let net: ProcNet

before(async () => {
  net = await ProcNet.create({ validators: 4, basePort: basePortFor('e2e-network') })
  await net.startAll()
})

after(async () => { await net?.close() })

/** Submits transfers round-robin over `targets` until stop() or `max`; returns acknowledged ids. */
function load (targets: number[], max: number, gapMs: number): { stop: () => Promise<string[]>, done: () => Promise<string[]>, sent: () => number } {
  let stopped = false
  const acked: string[] = []
  let sent = 0
  const bob = net.key('bob')
  const run = (async () => {
    const to = (await bob).address
    for (let k = 0; k < max && !stopped; k++) {
      const tx = await net.transferTx('alice', to, 1)
      const i = targets[k % targets.length]!
      try {
        const r = await net.submit(i, tx)
        if (r.status >= 200 && r.status < 300 && r.body.txId !== undefined) acked.push(r.body.txId)
        else if (process.env.E2E_DEBUG !== undefined) console.error("submit refused", r.status, JSON.stringify(r.body))
      } catch (err) { if (process.env.E2E_DEBUG !== undefined) console.error("submit failed", err) }
      sent++
      await sleep(gapMs)
    }
  })()
  return { stop: async () => { stopped = true; await run; return acked }, done: async () => { await run; return acked }, sent: () => sent }
}

test('4 validators commit transactions and agree on head hash and state root', async () => {
  const l = load([0, 1, 2, 3], 60, 5)
  const acked = await l.done()
  assert.equal(acked.length, 60, 'every submission accepted')
  const last = acked[acked.length - 1]!
  const r = await net.waitFor('last tx committed on node 0', async () => await net.txOn(0, last), v => v !== null, 20_000)
  const states = await net.converge([0, 1, 2, 3], r!.height, 20_000)
  assert.ok(states[0]!.height >= 1)
  // /status shows the replica's own position; at rest it executed exactly the stored head.
  for (let i = 0; i < 4; i++) {
    const c = (await net.status(i)).consensus
    assert.equal(c.lastExecuted, (await net.status(i)).height, JSON.stringify(c))
    assert.equal(c.inViewChange, false)
    assert.ok(c.decided >= c.lastExecuted && c.lowWatermark <= c.lastExecuted, JSON.stringify(c))
  }
  for (const id of acked) {
    for (let i = 0; i < 4; i++) assert.ok(await net.txOn(i, id) !== null, `tx ${id} on node ${i}`)
  }
})

test('the primary is SIGKILLed: a view change happens, the rest keep committing, the restarted node converges', async () => {
  const s0 = await net.status(1)
  const primary = s0.primary
  const others = [0, 1, 2, 3].filter(i => i !== primary)
  await net.kill(primary, 'SIGKILL')
  const l = load(others, 400, 10)
  const moved = await net.waitFor('view change and progress without the old primary',
    async () => await net.status(others[0]!),
    s => s.view > s0.view && s.height >= s0.height + 5, 30_000)
  assert.notEqual(moved.primary, primary)
  await l.stop()
  net.start(primary)
  await net.waitUp(primary)
  const h = (await net.status(others[0]!)).height
  await net.converge([0, 1, 2, 3], h, 40_000)
})

test('a validator frozen (SIGSTOP) past the view-change timeout catches up by block sync after 100+ blocks', async () => {
  const s = await net.status(0)
  const victim = [0, 1, 2, 3].find(i => i !== s.primary)!
  const rest = [0, 1, 2, 3].filter(i => i !== victim)
  const start = s.height
  net.signal(victim, 'SIGSTOP')
  const l = load(rest, 5000, 4)
  await net.waitFor('100 blocks without the frozen validator', async () => await net.status(rest[0]!), x => x.height >= start + 100, 90_000)
  const acked = await l.stop()
  net.signal(victim, 'SIGCONT')
  const top = (await net.status(rest[0]!)).height
  await net.converge([0, 1, 2, 3], top, 60_000)
  // Everything acknowledged before the freeze ended is on the returning node too.
  const sample = acked.slice(-20)
  for (const id of sample) {
    await net.waitFor(`tx ${id} on node ${victim}`, async () => await net.txOn(victim, id), v => v !== null, 20_000)
  }
})

test('bad input to a real node gets a typed 4xx and the node keeps committing', async () => {
  const bob = await net.key('bob')
  const post = async (body: string, type = 'application/json'): Promise<{ status: number, code?: string }> => {
    const r = await fetch(`${net.url(1)}/txs`, { method: 'POST', headers: { 'content-type': type }, body })
    const j = await r.json() as { error?: { code: string } }
    return { status: r.status, ...(j.error !== undefined ? { code: j.error.code } : {}) }
  }
  assert.deepEqual(await post('{not json'), { status: 400, code: 'ERR_BAD_JSON' })
  assert.equal((await post(JSON.stringify({ tx: 42 }))).status, 400)
  assert.equal((await post(JSON.stringify({ tx: 'ab'.repeat(800_000) }))).status, 413)
  const good = await net.transferTx('alice', bob.address, 1)
  const forged = forgeSignature(good)
  const f = await net.submit(1, forged)
  assert.equal(f.status, 400, JSON.stringify(f.body))
  assert.equal(f.body.error?.code, 'ERR_BAD_SIGNATURE')
  const ok = await net.submit(1, good, true)
  assert.equal(ok.body.status, 'committed')
  // The node that admitted it traced it: the reply's trace id, and its stages in order.
  const traced = await (await fetch(`${net.url(1)}/txs/${ok.body.txId!}`)).json() as { traceId?: string, timings?: Record<string, number> }
  assert.equal(traced.traceId, (ok.body as { traceId?: string }).traceId)
  const t = traced.timings ?? {}
  assert.ok(t.admitted !== undefined && t.ordered !== undefined && t.executed !== undefined, JSON.stringify(traced))
  assert.ok(t.admitted <= t.ordered && t.ordered <= t.executed, JSON.stringify(t))
  // The same bytes again are idempotent; another tx reusing the spent nonce is a replay.
  const again = await net.submit(2, good, true)
  assert.equal(again.body.status, 'committed')
  assert.equal(again.body.txId, ok.body.txId)
  const k = await net.key('alice')
  const { createTx } = await import('../../src/state/index.js')
  const { decodeTx } = await import('../../src/state/index.js')
  const replay = createTx({ ...decodeTx(good).body, args: { to: bob.address, amount: 2 } }, k.secretKey)
  const rp = await net.submit(2, replay)
  assert.equal(rp.status, 409, JSON.stringify(rp.body))
  assert.equal(rp.body.error?.code, 'ERR_STALE_NONCE')
  const unknown = await fetch(`${net.url(1)}/nope`)
  assert.equal(unknown.status, 404)
  const after = await net.submit(3, await net.transferTx('alice', bob.address, 1), true)
  assert.equal(after.body.status, 'committed', 'still committing after the bad requests')
})
