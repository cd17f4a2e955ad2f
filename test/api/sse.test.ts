import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createApiServer } from '../../src/api/index.js'
import { silentLogger } from '../../src/log.js'
import { FakeService, fakeBlock } from './fake-service.js'

async function readUntil (reader: ReadableStreamDefaultReader<Uint8Array>, pred: (text: string) => boolean): Promise<string> {
  const dec = new TextDecoder()
  let text = ''
  while (!pred(text)) {
    const { value, done } = await reader.read()
    if (done) throw new Error(`stream ended; got ${JSON.stringify(text)}`)
    text += dec.decode(value, { stream: true })
  }
  return text
}

test('GET /events streams blocks and heartbeats, and unsubscribes on disconnect', async () => {
  const svc = new FakeService()
  const api = createApiServer(svc, { host: '127.0.0.1', port: 0, bodyLimit: 4096, logger: silentLogger, sseHeartbeatMs: 50, closeGraceMs: 100 })
  const url = await api.listen()
  const ac = new AbortController()
  const res = await fetch(`${url}/events`, { signal: ac.signal })
  assert.equal(res.status, 200)
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/)
  const reader = res.body!.getReader()
  await readUntil(reader, t => t.includes(': connected'))
  assert.equal(svc.listeners.size, 1)
  svc.push(fakeBlock(1))
  const text = await readUntil(reader, t => t.includes('\n\n') && t.includes('event: block'))
  const ev = text.split('\n\n').find(e => e.includes('event: block'))!
  assert.match(ev, /^id: 1$/m)
  const data = ev.split('\n').find(l => l.startsWith('data: '))!.slice(6)
  assert.equal(JSON.parse(data).height, 1)
  await readUntil(reader, t => t.includes(': heartbeat'))
  ac.abort()
  await reader.cancel().catch(() => {})
  for (let i = 0; i < 500 && svc.listeners.size > 0; i++) await new Promise(r => setTimeout(r, 10))
  assert.equal(svc.listeners.size, 0, 'listener removed after disconnect')
  await api.close()
})

test('close() ends open event streams so shutdown does not hang', async () => {
  const svc = new FakeService()
  const api = createApiServer(svc, { host: '127.0.0.1', port: 0, bodyLimit: 4096, logger: silentLogger, closeGraceMs: 100 })
  const url = await api.listen()
  const res = await fetch(`${url}/events`)
  const reader = res.body!.getReader()
  await readUntil(reader, t => t.includes(': connected'))
  const t0 = Date.now()
  await api.close()
  assert.ok(Date.now() - t0 < 5000, 'close does not wait for keep-alive expiry')
  assert.equal(svc.listeners.size, 0)
  await assert.rejects(readUntil(reader, () => false)).catch(() => {})
})

function blockIds (text: string): number[] {
  return text.split('\n\n').filter(e => e.includes('event: block')).map(e => Number(/^id: (\d+)$/m.exec(e)![1]))
}

test('GET /events resumes after Last-Event-ID or ?from= without gaps or repeats', async () => {
  const svc = new FakeService()
  for (let h = 1; h <= 5; h++) svc.push(fakeBlock(h))
  const api = createApiServer(svc, { host: '127.0.0.1', port: 0, bodyLimit: 4096, logger: silentLogger, closeGraceMs: 100 })
  const url = await api.listen()
  const a = await fetch(`${url}/events`, { headers: { 'last-event-id': '2' } })
  const ra = a.body!.getReader()
  const b = await fetch(`${url}/events?from=5`)
  const rb = b.body!.getReader()
  assert.deepEqual(blockIds(await readUntil(ra, t => blockIds(t).includes(5))), [3, 4, 5])
  assert.deepEqual(blockIds(await readUntil(rb, t => blockIds(t).includes(5))), [5])
  svc.push(fakeBlock(6))
  assert.deepEqual(blockIds(await readUntil(ra, t => blockIds(t).includes(6))), [6])
  assert.deepEqual(blockIds(await readUntil(rb, t => blockIds(t).includes(6))), [6])
  const bad = await fetch(`${url}/events?from=x`)
  assert.equal(bad.status, 400)
  assert.equal((await bad.json() as { error: { code: string } }).error.code, 'ERR_BAD_REQUEST')
  await api.close()
})
