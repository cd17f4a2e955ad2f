import { test } from 'node:test'
import assert from 'node:assert/strict'
import { BftClient, ApiError, NodeUnavailableError, retryAfterMsOf } from '../../src/client/index.js'
import { StubNode, ok, fail, hang, deadUrl, type Handler } from './stub-node.js'

const submitted = { txId: 'ab'.repeat(32), status: 'accepted', traceId: 't' }

async function nodes (n: number): Promise<StubNode[]> {
  return await Promise.all(Array.from({ length: n }, async () => await new StubNode(ok(submitted)).start()))
}

async function stopAll (ns: StubNode[]): Promise<void> {
  await Promise.all(ns.map(async n => await n.stop()))
}

test('round-robin spreads calls over healthy nodes', async () => {
  const ns = await nodes(3)
  const c = new BftClient({ nodes: ns.map(n => n.url), timeoutMs: 1000 })
  for (let i = 0; i < 6; i++) await c.submit(new Uint8Array([1, 2]))
  assert.deepEqual(ns.map(n => n.hits), [2, 2, 2])
  assert.equal(ns[0]!.paths[0], 'POST /txs')
  await stopAll(ns)
})

test('submit sends hex, wait and timeout, and the trace header', async () => {
  const [n] = await nodes(1)
  let seen: { body: unknown, trace: unknown } | undefined
  n!.handler = (req, body, res) => { seen = { body: JSON.parse(body), trace: req.headers['x-trace-id'] }; ok(submitted)(req, body, res) }
  const c = new BftClient({ nodes: [n!.url] })
  await c.submit(new Uint8Array([0xde, 0xad]), { wait: true, waitTimeoutMs: 1500, traceId: 'abc' })
  assert.deepEqual(seen, { body: { tx: 'dead', wait: true, timeoutMs: 1500 }, trace: 'abc' })
  await n!.stop()
})

test('submitBatch posts hex txs to /txs/batch and returns per-tx results', async () => {
  const [n] = await nodes(1)
  let seen: unknown
  n!.handler = (req, body, res) => { seen = { url: req.url, body: JSON.parse(body) }; ok({ results: [submitted, { error: { code: 'ERR_STALE_NONCE', message: 'x' } }] })(req, body, res) }
  const c = new BftClient({ nodes: [n!.url] })
  const r = await c.submitBatch([new Uint8Array([1]), new Uint8Array([2])])
  assert.deepEqual(seen, { url: '/txs/batch', body: { txs: ['01', '02'] } })
  assert.equal(r.length, 2)
  await n!.stop()
})

test('failover: refused connection, 503 and timeout move on to the next node', async () => {
  const ns = await nodes(2)
  const dead = await deadUrl()
  ns[0]!.handler = fail(503, 'ERR_MEMPOOL_FULL', 'mempool full')
  const hung = await new StubNode(hang).start()
  // 1 s: long enough that a loaded machine does not time out the healthy stubs.
  const c = new BftClient({ nodes: [dead, ns[0]!.url, hung.url, ns[1]!.url], timeoutMs: 1000, retries: 3 })
  const r = await c.submit(new Uint8Array([1]))
  assert.equal(r.status, 'accepted')
  assert.equal(ns[0]!.hits, 1)
  assert.equal(hung.hits, 1)
  assert.equal(ns[1]!.hits, 1)
  await stopAll([...ns, hung])
})

test('request errors (4xx) are not retried elsewhere and keep the node\'s code', async () => {
  const ns = await nodes(2)
  ns[0]!.handler = fail(409, 'ERR_STALE_NONCE', 'nonce 0 already used')
  ns[1]!.handler = fail(409, 'ERR_STALE_NONCE', 'nonce 0 already used')
  const c = new BftClient({ nodes: ns.map(n => n.url), timeoutMs: 1000 })
  await assert.rejects(c.submit(new Uint8Array([1])), (err: unknown) => {
    assert.ok(err instanceof ApiError)
    assert.equal(err.code, 'ERR_STALE_NONCE')
    assert.equal(err.status, 409)
    assert.equal(err.message, 'nonce 0 already used')
    return true
  })
  assert.equal(ns[0]!.hits + ns[1]!.hits, 1)
  assert.deepEqual(c.breakers().map(b => b.state), ['closed', 'closed'])
  await stopAll(ns)
})

/** Answers 429 (Retry-After `seconds`) `times` times, then as `then`. */
function limited (times: number, seconds: string, then: Handler): Handler {
  let left = times
  return (req, body, res) => {
    if (left-- <= 0) { then(req, body, res); return }
    res.writeHead(429, { 'content-type': 'application/json', 'retry-after': seconds })
    res.end(JSON.stringify({ error: { code: 'ERR_RATE_LIMITED', message: 'rate limit exceeded' } }))
  }
}

test('429: the client waits as Retry-After says and sends the request again, within its budget', async () => {
  const [n] = await nodes(1)
  n!.handler = limited(2, '1', ok(submitted))
  const waits: number[] = []
  const c = new BftClient({ nodes: [n!.url], sleep: async ms => { waits.push(ms) } })
  assert.deepEqual(await c.submit(new Uint8Array([1])), submitted)
  assert.deepEqual(waits, [1000, 1000])
  assert.equal(n!.hits, 3)
  assert.deepEqual(c.breakers().map(b => b.state), ['closed'], 'a 429 is not a node failure')

  // Over budget: waits 3 s; a second 3 s would pass its 5 s, so it gives up with the node's error.
  n!.hits = 0
  n!.handler = limited(10, '3', ok(submitted))
  waits.length = 0
  await assert.rejects(c.submit(new Uint8Array([1])), (err: unknown) => err instanceof ApiError && err.code === 'ERR_RATE_LIMITED' && err.status === 429 && err.retryAfterMs === 3000)
  assert.deepEqual(waits, [3000])
  assert.equal(n!.hits, 2)

  // rateLimitWaitMs 0: the first 429 is thrown.
  n!.hits = 0
  n!.handler = limited(1, '1', ok(submitted))
  const eager = new BftClient({ nodes: [n!.url], rateLimitWaitMs: 0, sleep: async ms => { waits.push(ms) } })
  await assert.rejects(eager.submit(new Uint8Array([1])), { code: 'ERR_RATE_LIMITED' })
  assert.equal(n!.hits, 1)
  assert.throws(() => new BftClient({ nodes: [n!.url], rateLimitWaitMs: -1 }), { code: 'ERR_BAD_ARGUMENT' })
  await n!.stop()
})

test('retryAfterMsOf reads delay-seconds and HTTP dates', () => {
  assert.equal(retryAfterMsOf('2', 0), 2000)
  assert.equal(retryAfterMsOf(' 0 ', 0), 0)
  const now = Date.parse('Fri, 27 Nov 2026 15:00:00 GMT')
  assert.equal(retryAfterMsOf('Fri, 27 Nov 2026 15:00:03 GMT', now), 3000)
  assert.equal(retryAfterMsOf('Fri, 27 Nov 2026 14:00:00 GMT', now), 0)
  assert.equal(retryAfterMsOf('soon', now), undefined)
  assert.equal(retryAfterMsOf(undefined, now), undefined)
})

test('circuit breaker: a failing node is skipped until resetMs, then tried once', async () => {
  let now = 0
  const ns = await nodes(2)
  ns[0]!.handler = fail(500, 'ERR_INTERNAL', 'internal error')
  const c = new BftClient({ nodes: ns.map(n => n.url), timeoutMs: 1000, breaker: { failureThreshold: 2, resetMs: 10_000 }, now: () => now })
  for (let i = 0; i < 10; i++) await c.submit(new Uint8Array([1]))
  assert.equal(ns[0]!.hits, 2, 'the bad node saw exactly failureThreshold calls')
  assert.equal(ns[1]!.hits, 10)
  assert.deepEqual(c.breakers().map(b => b.state), ['open', 'closed'])
  ns[0]!.handler = ok(submitted)
  now = 10_000
  for (let i = 0; i < 4; i++) await c.submit(new Uint8Array([1]))
  assert.ok(ns[0]!.hits >= 3, 'the recovered node is back in rotation')
  assert.deepEqual(c.breakers().map(b => b.state), ['closed', 'closed'])
  await stopAll(ns)
})

test('all nodes down: one NodeUnavailableError naming each failure; open circuits fail fast', async () => {
  const urls = [await deadUrl(), await deadUrl()]
  let fetches = 0
  const counting: typeof fetch = async (input, init) => { fetches++; return await fetch(input, init) }
  const c = new BftClient({ nodes: urls, timeoutMs: 5000, breaker: { failureThreshold: 1, resetMs: 60_000 }, fetch: counting })
  await assert.rejects(c.status(), (err: unknown) => {
    assert.ok(err instanceof NodeUnavailableError)
    assert.equal(err.code, 'ERR_NODE_UNAVAILABLE')
    assert.match(err.message, /connection refused/)
    assert.ok(err.message.includes(urls[0]!) && err.message.includes(urls[1]!))
    return true
  })
  const before = fetches
  await assert.rejects(c.status(), (err: unknown) => err instanceof NodeUnavailableError && /circuit open/.test(err.message))
  assert.equal(fetches, before, 'open circuits fail without touching the network')
})

test('reads: 404 becomes null, waitForTx polls until the receipt exists', async () => {
  const [n] = await nodes(1)
  let calls = 0
  const receipt = { txId: 'ab'.repeat(32), height: 3, index: 0, status: 'ok', error: '', result: null, events: [] }
  n!.handler = (req, body, res) => {
    if (req.url?.startsWith('/txs/') === true) {
      calls++
      if (calls < 3) { fail(404, 'ERR_NOT_FOUND', 'transaction not found')(req, body, res); return }
      ok(receipt)(req, body, res); return
    }
    if (req.url === '/blocks/7') { fail(404, 'ERR_NOT_FOUND', 'block 7 not found')(req, body, res); return }
    fail(404, 'ERR_NO_ROUTE', 'no route')(req, body, res)
  }
  const c = new BftClient({ nodes: [n!.url] })
  assert.equal(await c.getBlock(7), null)
  const r = await c.waitForTx('ab'.repeat(32), { timeoutMs: 2000, pollMs: 10 })
  assert.equal(r.height, 3)
  assert.equal(calls, 3)
  // A 404 that is not ERR_NOT_FOUND (wrong URL, old node) is an error, not "absent".
  await assert.rejects(c.getState('kv', 'x'), (err: unknown) => err instanceof ApiError && err.code === 'ERR_NO_ROUTE')
  n!.handler = fail(404, 'ERR_NOT_FOUND', 'nope')
  await assert.rejects(c.waitForTx('cd'.repeat(32), { timeoutMs: 50, pollMs: 10 }), (err: unknown) => err instanceof Error && (err as { code?: string }).code === 'ERR_TIMEOUT')
  await n!.stop()
})

test('bad node URLs are rejected up front', () => {
  assert.throws(() => new BftClient({ nodes: ['not a url'] }), /not a URL/)
  assert.throws(() => new BftClient({ nodes: ['ftp://x'] }), /http/)
  assert.throws(() => new BftClient({ nodes: [] }), /at least one/)
})
