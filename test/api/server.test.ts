import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SignJWT } from 'jose'
import { createApiServer, type ApiServer } from '../../src/api/index.js'
import { BftError, ValidationError } from '../../src/errors.js'
import { silentLogger } from '../../src/log.js'
import { FakeService, fakeBlock } from './fake-service.js'
import { parseProm } from './prom-parse.js'

const SECRET = 'test-secret-that-is-at-least-32-bytes-long'

function setup (opts: { bodyLimit?: number, secret?: string | null } = {}): { api: ApiServer, svc: FakeService } {
  const svc = new FakeService()
  const api = createApiServer(svc, {
    host: '127.0.0.1',
    port: 0,
    bodyLimit: opts.bodyLimit ?? 4096,
    ...(opts.secret === null ? {} : { adminJwtSecret: opts.secret ?? SECRET }),
    logger: silentLogger
  })
  return { api, svc }
}

async function token (claims: Record<string, unknown>, secret = SECRET): Promise<string> {
  return await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('5m').sign(new TextEncoder().encode(secret))
}

function errOf (body: string): { code: string, message: string } {
  const j = JSON.parse(body) as { error: { code: string, message: string } }
  assert.equal(typeof j.error.code, 'string')
  assert.equal(typeof j.error.message, 'string')
  assert.ok(j.error.message.length > 0)
  return j.error
}

test('POST /txs accepts hex and forwards trace id, wait and timeout', async () => {
  const { api, svc } = setup()
  const r = await api.app.inject({ method: 'POST', url: '/txs', headers: { 'x-trace-id': 'trace-1' }, payload: { tx: '0a0b' } })
  assert.equal(r.statusCode, 202)
  assert.equal(r.headers['x-trace-id'], 'trace-1')
  assert.equal(r.json().status, 'accepted')
  assert.deepEqual([...svc.submitted[0]!.bytes], [0x0a, 0x0b])
  assert.equal(svc.submitted[0]!.opts.traceId, 'trace-1')
  const w = await api.app.inject({ method: 'POST', url: '/txs', payload: { tx: '0c', wait: true, timeoutMs: 1234 } })
  assert.equal(w.statusCode, 200)
  assert.equal(w.json().status, 'committed')
  assert.equal(svc.submitted[1]!.opts.timeoutMs, 1234)
  assert.equal(svc.submitted[1]!.opts.wait, true)
  assert.match(String(w.headers['x-trace-id']), /^[0-9a-f-]{36}$/)
  await api.close()
})

test('POST /txs/batch returns a result or an error per tx, in order', async () => {
  const { api, svc } = setup({ bodyLimit: 1 << 20 })
  const r = await api.app.inject({ method: 'POST', url: '/txs/batch', headers: { 'x-trace-id': 'b' }, payload: { txs: ['0a', 'ff01', '0a'] } })
  assert.equal(r.statusCode, 200)
  const { results } = r.json() as { results: Array<{ status?: string, traceId?: string, error?: { code: string } }> }
  assert.equal(results.length, 3)
  assert.equal(results[0]!.status, 'accepted')
  assert.equal(results[0]!.traceId, 'b.0')
  assert.equal(results[1]!.error?.code, 'ERR_BAD_SIGNATURE')
  assert.equal(results[2]!.error?.code, 'ERR_STALE_NONCE')
  assert.equal(svc.submitted.length, 3)
  for (const payload of [{ txs: [] }, { txs: ['zz'] }, { txs: Array(1001).fill('0a') }, { txs: '0a' }]) {
    const b = await api.app.inject({ method: 'POST', url: '/txs/batch', payload })
    assert.equal(b.statusCode, 400)
    assert.equal(errOf(b.body).code, 'ERR_BAD_REQUEST')
  }
  await api.close()
})

test('malformed JSON, wrong types, missing fields, bad hex -> 400 with stable codes', async () => {
  const { api } = setup()
  const bad = await api.app.inject({ method: 'POST', url: '/txs', headers: { 'content-type': 'application/json' }, payload: '{"tx": "0a",' })
  assert.equal(bad.statusCode, 400)
  assert.equal(errOf(bad.body).code, 'ERR_BAD_JSON')
  const empty = await api.app.inject({ method: 'POST', url: '/txs', headers: { 'content-type': 'application/json' }, payload: '' })
  assert.equal(empty.statusCode, 400)
  assert.equal(errOf(empty.body).code, 'ERR_BAD_JSON')
  const cases: unknown[] = [
    { tx: 5 },
    { tx: '0a', wait: 'yes' },
    { tx: '0a', timeoutMs: -1 },
    { tx: '0a', timeoutMs: 1.5 },
    { tx: 'zz' },
    { tx: 'abc' },
    { tx: '' },
    {},
    { tx: '0a', extra: 1 },
    [],
    'tx'
  ]
  for (const payload of cases) {
    const r = await api.app.inject({ method: 'POST', url: '/txs', payload: JSON.stringify(payload), headers: { 'content-type': 'application/json' } })
    assert.equal(r.statusCode, 400, `payload ${JSON.stringify(payload)}: ${r.body}`)
    const e = errOf(r.body)
    assert.equal(e.code, 'ERR_BAD_REQUEST')
    assert.match(e.message, /body/)
  }
  const ct = await api.app.inject({ method: 'POST', url: '/txs', headers: { 'content-type': 'text/xml' }, payload: '<tx/>' })
  assert.equal(ct.statusCode, 415)
  assert.equal(errOf(ct.body).code, 'ERR_UNSUPPORTED_MEDIA_TYPE')
  const badTrace = await api.app.inject({ method: 'POST', url: '/txs', headers: { 'x-trace-id': 'has space' }, payload: { tx: '0a' } })
  assert.equal(badTrace.statusCode, 400)
  // The node keeps serving after all of it.
  const ok = await api.app.inject({ method: 'GET', url: '/status' })
  assert.equal(ok.statusCode, 200)
  await api.close()
})

test('oversize body -> 413 ERR_PAYLOAD_TOO_LARGE over a real socket, and the server keeps serving', async () => {
  const { api } = setup({ bodyLimit: 1024 })
  const url = await api.listen()
  const r = await fetch(`${url}/txs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tx: 'ab'.repeat(4096) }) })
  assert.equal(r.status, 413)
  const e = errOf(await r.text())
  assert.equal(e.code, 'ERR_PAYLOAD_TOO_LARGE')
  assert.match(e.message, /1024/)
  const s = await fetch(`${url}/health`)
  assert.equal(s.status, 200)
  await api.close()
})

test('unknown route and bad path params', async () => {
  const { api } = setup()
  const r = await api.app.inject({ method: 'GET', url: '/nope?x=1' })
  assert.equal(r.statusCode, 404)
  const e = errOf(r.body)
  assert.equal(e.code, 'ERR_NO_ROUTE')
  assert.equal(e.message, 'no route GET /nope')
  const m = await api.app.inject({ method: 'DELETE', url: '/status' })
  assert.equal(m.statusCode, 404)
  assert.equal(errOf(m.body).code, 'ERR_NO_ROUTE')
  for (const url of ['/blocks/-1', '/blocks/abc', '/blocks/01', '/blocks/1.5', '/txs/xyz', '/txs/' + 'A'.repeat(64), '/accounts/12', '/state/Bad!/k', '/state/kv/k?prove=maybe']) {
    const b = await api.app.inject({ method: 'GET', url })
    assert.equal(b.statusCode, 400, url)
    assert.equal(errOf(b.body).code, 'ERR_BAD_REQUEST', url)
  }
  await api.close()
})

test('errors thrown by the node map to status and code', async () => {
  const { api, svc } = setup()
  const bad = await api.app.inject({ method: 'POST', url: '/txs', payload: { tx: 'ff01' } })
  assert.equal(bad.statusCode, 400)
  assert.equal(errOf(bad.body).code, 'ERR_BAD_SIGNATURE')
  const first = await api.app.inject({ method: 'POST', url: '/txs', payload: { tx: '0102' } })
  assert.equal(first.statusCode, 202)
  const replay = await api.app.inject({ method: 'POST', url: '/txs', payload: { tx: '0102' } })
  assert.equal(replay.statusCode, 409)
  assert.deepEqual(errOf(replay.body), { code: 'ERR_STALE_NONCE', message: 'nonce 0 already used by sender ab12..' })
  const table: Array<[Error, number, string]> = [
    [new ValidationError('ERR_MEMPOOL_FULL', 'mempool holds 200000 txs'), 503, 'ERR_MEMPOOL_FULL'],
    [new ValidationError('ERR_TX_MALFORMED', 'bad envelope'), 400, 'ERR_TX_MALFORMED'],
    [new ValidationError('ERR_BAD_ARGS', 'bad arguments for bank.transfer at args/amount'), 422, 'ERR_BAD_ARGS'],
    [new ValidationError('ERR_SENDER_LIMIT', 'sender has 1000 pending'), 429, 'ERR_SENDER_LIMIT'],
    [new ValidationError('ERR_TX_OVERSIZE', 'tx of 70000 bytes'), 413, 'ERR_TX_OVERSIZE'],
    [new BftError('ERR_TIMEOUT', 'not committed within 100 ms'), 504, 'ERR_TIMEOUT'],
    [new Error('disk on fire'), 500, 'ERR_INTERNAL']
  ]
  for (const [err, status, code] of table) {
    svc.rejectWith = err
    const r = await api.app.inject({ method: 'POST', url: '/txs', payload: { tx: '0a' } })
    assert.equal(r.statusCode, status, code)
    const e = errOf(r.body)
    assert.equal(e.code, code)
    if (code === 'ERR_INTERNAL') assert.equal(e.message, 'internal error')
  }
  svc.rejectWith = undefined
  assert.equal((await api.app.inject({ method: 'GET', url: '/health' })).statusCode, 200)
  await api.close()
})

test('read routes: blocks, txs, state, accounts, status, validators, health', async () => {
  const { api, svc } = setup()
  assert.equal((await api.app.inject({ method: 'GET', url: '/blocks/latest' })).statusCode, 404)
  svc.push(fakeBlock(1))
  svc.push(fakeBlock(2))
  assert.equal((await api.app.inject({ method: 'GET', url: '/blocks/latest' })).json().height, 2)
  assert.equal((await api.app.inject({ method: 'GET', url: '/blocks/1' })).json().height, 1)
  const nf = await api.app.inject({ method: 'GET', url: '/blocks/9' })
  assert.equal(nf.statusCode, 404)
  assert.deepEqual(errOf(nf.body), { code: 'ERR_NOT_FOUND', message: 'block 9 not found' })
  const id = 'ab'.repeat(32)
  assert.equal((await api.app.inject({ method: 'GET', url: `/txs/${id}` })).statusCode, 404)
  svc.receipts.set(id, { txId: id, height: 2, index: 0, status: 'ok', error: '', result: null, events: [] })
  assert.equal((await api.app.inject({ method: 'GET', url: `/txs/${id}` })).json().height, 2)
  const st = await api.app.inject({ method: 'GET', url: '/state/kv/my%2Fkey?prove=true' })
  assert.equal(st.statusCode, 200)
  assert.equal(st.json().key, 'my/key')
  assert.deepEqual(st.json().proof, { siblings: [] })
  const longKey = `${'cd'.repeat(20)}/${'k'.repeat(128)}`
  const long = await api.app.inject({ method: 'GET', url: `/state/kv/${encodeURIComponent(longKey)}` })
  assert.equal(long.statusCode, 200, long.body)
  assert.equal(long.json().key, longKey)
  assert.equal((await api.app.inject({ method: 'GET', url: `/state/kv/${'k'.repeat(1025)}` })).statusCode, 400)
  const acct = await api.app.inject({ method: 'GET', url: `/accounts/${'cd'.repeat(20)}` })
  assert.deepEqual(acct.json(), { address: 'cd'.repeat(20), balance: '1000000', nonce: 3 })
  assert.equal((await api.app.inject({ method: 'GET', url: '/status' })).json().chainId, 'test-chain')
  assert.equal((await api.app.inject({ method: 'GET', url: '/validators' })).json().length, 1)
  svc.healthy = false
  const h = await api.app.inject({ method: 'GET', url: '/health' })
  assert.equal(h.statusCode, 503)
  assert.equal(h.json().reason, 'no quorum of peers')
  await api.close()
})

test('/metrics is valid Prometheus text with node and API metrics', async () => {
  const { api } = setup()
  await api.app.inject({ method: 'GET', url: '/status' })
  await api.app.inject({ method: 'GET', url: '/nope' })
  const r = await api.app.inject({ method: 'GET', url: '/metrics' })
  assert.equal(r.statusCode, 200)
  assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/)
  const { samples, types } = parseProm(r.body)
  assert.equal(samples.find(s => s.name === 'bft_height')?.value, 7)
  assert.equal(types.get('bft_api_http_requests_total'), 'counter')
  const st = samples.find(s => s.name === 'bft_api_http_requests_total' && s.labels.route === '/status')
  assert.equal(st?.value, 1)
  assert.equal(st?.labels.status, '200')
  assert.ok(samples.some(s => s.name === 'bft_api_http_request_duration_seconds_bucket' && s.labels.le === '+Inf'))
  await api.close()
})

test('admin routes: 401 without or with a bad token, 403 for another role, 200 for admin', async () => {
  const { api, svc } = setup()
  const none = await api.app.inject({ method: 'GET', url: '/admin/peers' })
  assert.equal(none.statusCode, 401)
  assert.equal(errOf(none.body).code, 'ERR_UNAUTHORIZED')
  const garbage = await api.app.inject({ method: 'GET', url: '/admin/peers', headers: { authorization: 'Bearer not.a.jwt' } })
  assert.equal(garbage.statusCode, 401)
  const basic = await api.app.inject({ method: 'GET', url: '/admin/peers', headers: { authorization: 'Basic Zm9vOmJhcg==' } })
  assert.equal(basic.statusCode, 401)
  const wrongKey = await api.app.inject({ method: 'GET', url: '/admin/peers', headers: { authorization: `Bearer ${await token({ role: 'admin' }, 'another-secret-another-secret-another')}` } })
  assert.equal(wrongKey.statusCode, 401)
  const reader = await api.app.inject({ method: 'GET', url: '/admin/peers', headers: { authorization: `Bearer ${await token({ role: 'reader' })}` } })
  assert.equal(reader.statusCode, 403)
  assert.equal(errOf(reader.body).code, 'ERR_FORBIDDEN')
  const admin = `Bearer ${await token({ role: 'admin' })}`
  const peers = await api.app.inject({ method: 'GET', url: '/admin/peers', headers: { authorization: admin } })
  assert.equal(peers.statusCode, 200)
  assert.equal(peers.json()[0].peerId, '12D3KooWpeer')
  const lvl = await api.app.inject({ method: 'PUT', url: '/admin/log-level', headers: { authorization: admin }, payload: { level: 'debug' } })
  assert.equal(lvl.statusCode, 200)
  assert.equal(svc.logLevel, 'debug')
  const badLvl = await api.app.inject({ method: 'PUT', url: '/admin/log-level', headers: { authorization: admin }, payload: { level: 'loud' } })
  assert.equal(badLvl.statusCode, 400)
  const unauthLvl = await api.app.inject({ method: 'PUT', url: '/admin/log-level', payload: { level: 'debug' } })
  assert.equal(unauthLvl.statusCode, 401)
  await api.close()
  const off = setup({ secret: null })
  const disabled = await off.api.app.inject({ method: 'GET', url: '/admin/peers', headers: { authorization: admin } })
  assert.equal(disabled.statusCode, 403)
  assert.equal(errOf(disabled.body).code, 'ERR_ADMIN_DISABLED')
  await off.api.close()
})

test('per-address rate limit: 429 ERR_RATE_LIMITED over the limit, on every route; allow list and max 0 exempt', async () => {
  const make = (rateLimit: { max: number, windowMs: number, allowList?: string[] }): { api: ApiServer, svc: FakeService } => {
    const svc = new FakeService()
    return { svc, api: createApiServer(svc, { host: '127.0.0.1', port: 0, bodyLimit: 1 << 20, rateLimit, logger: silentLogger }) }
  }
  const { api, svc } = make({ max: 3, windowMs: 60_000 })
  for (let i = 0; i < 3; i++) assert.equal((await api.app.inject({ method: 'GET', url: '/status', remoteAddress: '10.0.0.1' })).statusCode, 200)
  const over = await api.app.inject({ method: 'POST', url: '/txs/batch', remoteAddress: '10.0.0.1', payload: { txs: ['0a'] } })
  assert.equal(over.statusCode, 429)
  const e = errOf(over.body)
  assert.equal(e.code, 'ERR_RATE_LIMITED')
  assert.match(e.message, /at most 3 requests per 60000 ms/)
  assert.ok(Number(over.headers['retry-after']) > 0, 'retry-after header')
  assert.equal(svc.submitted.length, 0, 'a limited request reaches nothing behind the API')
  assert.equal((await api.app.inject({ method: 'GET', url: '/no/such/route', remoteAddress: '10.0.0.1' })).statusCode, 429, 'unmatched routes too')
  // Another address has its own budget.
  assert.equal((await api.app.inject({ method: 'GET', url: '/status', remoteAddress: '10.0.0.2' })).statusCode, 200)
  await api.close()

  for (const opts of [{ max: 2, windowMs: 60_000, allowList: ['10.0.0.9'] }, { max: 0, windowMs: 1000 }]) {
    const { api: free } = make(opts)
    for (let i = 0; i < 10; i++) assert.equal((await free.app.inject({ method: 'GET', url: '/status', remoteAddress: '10.0.0.9' })).statusCode, 200)
    await free.close()
  }
})
