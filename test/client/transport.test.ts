import { test } from 'node:test'
import assert from 'node:assert/strict'
import { httpTransport, fetchTransport, TransportTimeout, type Transport } from '../../src/client/index.js'
import { StubNode, ok, hang } from './stub-node.js'

const transports: Array<[string, Transport]> = [['node:http', httpTransport], ['fetch', fetchTransport(fetch)]]

for (const [name, transport] of transports) {
  test(`${name}: sends method, headers and body; returns status and text`, async () => {
    const n = await new StubNode().start()
    let seen: unknown
    n.handler = (req, body, res) => { seen = { method: req.method, url: req.url, type: req.headers['content-type'], length: req.headers['content-length'], body }; ok({ r: 'é' }, 201)(req, body, res) }
    const body = JSON.stringify({ x: 'ü'.repeat(3) })
    const r = await transport({ method: 'POST', url: `${n.url}/a?b=1`, headers: { 'content-type': 'application/json' }, body, timeoutMs: 2000 })
    assert.deepEqual(r, { status: 201, text: '{"r":"é"}' })
    assert.deepEqual(seen, { method: 'POST', url: '/a?b=1', type: 'application/json', length: String(Buffer.byteLength(body)), body })
    await n.stop()
  })

  test(`${name}: returns a 429's Retry-After header`, async () => {
    const n = await new StubNode((_req, _body, res) => { res.writeHead(429, { 'retry-after': '7' }); res.end('{}') }).start()
    assert.deepEqual(await transport({ method: 'GET', url: n.url, headers: {}, timeoutMs: 2000 }), { status: 429, text: '{}', retryAfter: '7' })
    await n.stop()
  })

  test(`${name}: a late answer rejects with TransportTimeout after timeoutMs`, async () => {
    const n = await new StubNode(hang).start()
    const t0 = performance.now()
    await assert.rejects(transport({ method: 'GET', url: n.url, headers: {}, timeoutMs: 150 }), (err: unknown) => err instanceof TransportTimeout && err.code === 'ERR_TIMEOUT')
    assert.ok(performance.now() - t0 >= 140)
    await n.stop()
  })
}

test('node:http: sequential requests reuse one keep-alive connection', async () => {
  const n = await new StubNode(ok({})).start()
  const ports = new Set<number | undefined>()
  n.handler = (req, body, res) => { ports.add(req.socket.remotePort); ok({})(req, body, res) }
  for (let i = 0; i < 5; i++) await httpTransport({ method: 'GET', url: n.url, headers: {}, timeoutMs: 2000 })
  assert.equal(ports.size, 1)
  await n.stop()
})

test('node:http: a connection cut mid-answer rejects (ECONNRESET), it does not hang or resolve half a body', async () => {
  const n = await new StubNode().start()
  n.handler = (_req, _body, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' })
    res.write('{"partial":')
    setTimeout(() => res.socket?.destroy(), 20)
  }
  await assert.rejects(httpTransport({ method: 'GET', url: n.url, headers: {}, timeoutMs: 5000 }), (err: unknown) => (err as { code?: unknown }).code === 'ECONNRESET')
  await n.stop()
})

test('node:http: a refused connection rejects with ECONNREFUSED', async () => {
  const n = await new StubNode().start()
  const url = n.url
  await n.stop()
  await assert.rejects(httpTransport({ method: 'GET', url, headers: {}, timeoutMs: 2000 }), (err: unknown) => (err as { code?: unknown }).code === 'ECONNREFUSED')
})
