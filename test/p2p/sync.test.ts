import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SEED, cluster, until, fullyConnected } from './helpers.js'

test('sync request/response: round trip, remote errors, size limits, timeouts', async () => {
  console.log(`# P2P_SEED=${SEED}`)
  const c = await cluster(2, 80, { maxFrameBytes: 64 * 1024, maxSyncResponseBytes: 256 * 1024 })
  try {
    const [client, server] = c.nodes
    await until(() => fullyConnected(c.nodes), 10_000, 'mesh')
    const seen: string[] = []
    server.handle('sync', async (from, req) => {
      seen.push(from)
      const cmd = new TextDecoder().decode(req.subarray(0, 4))
      if (cmd === 'echo') return req.subarray(4)
      if (cmd === 'big!') return new Uint8Array(300 * 1024)
      if (cmd === 'slow') return await new Promise(resolve => setTimeout(() => { resolve(Uint8Array.of(1)) }, 2000))
      if (cmd === 'max!') return new Uint8Array(256 * 1024).fill(3)
      throw new Error(`unknown command ${cmd}`)
    })
    const enc = (s: string): Uint8Array => new TextEncoder().encode(s)

    const res = await client.request(server.peerId, 'sync', enc('echohello'), 2000)
    assert.equal(new TextDecoder().decode(res), 'hello')
    assert.deepEqual(seen, [client.peerId])

    // Exactly at the response limit is fine.
    assert.equal((await client.request(server.peerId, 'sync', enc('max!'), 2000)).byteLength, 256 * 1024)
    // The server refuses to send more than the limit; the client gets the reason.
    await assert.rejects(client.request(server.peerId, 'sync', enc('big!'), 2000), { code: 'ERR_SYNC_REMOTE', message: /limit/ })
    await assert.rejects(client.request(server.peerId, 'sync', enc('nope'), 2000), { code: 'ERR_SYNC_REMOTE', message: /unknown command nope/ })
    // Requests are limited to maxFrameBytes, checked before anything is sent.
    await assert.rejects(client.request(server.peerId, 'sync', new Uint8Array(64 * 1024 + 1), 2000), { code: 'ERR_SYNC_TOO_LARGE' })
    const t0 = Date.now()
    await assert.rejects(client.request(server.peerId, 'sync', enc('slow'), 200), { code: 'ERR_SYNC_TIMEOUT' })
    assert.ok(Date.now() - t0 < 1000, 'timeout honoured')
    await assert.rejects(client.request(c.ids[0].peerId, 'sync', enc('echo'), 200), { code: 'ERR_NOT_CONNECTED' })
    // The connection survives all of the above.
    assert.equal(new TextDecoder().decode(await client.request(server.peerId, 'sync', enc('echoagain'), 2000)), 'again')
  } finally {
    await c.stop()
  }
})

test('a sync response over the client limit is refused by the client', async () => {
  console.log(`# P2P_SEED=${SEED}`)
  // The server allows itself 16 MiB responses (default); the client accepts 64 KiB.
  const c = await cluster(2, 85, {}, SEED, i => i === 0 ? { maxSyncResponseBytes: 64 * 1024 } : {})
  try {
    const [client, server] = c.nodes
    await until(() => fullyConnected(c.nodes), 10_000, 'mesh')
    server.handle('sync', async () => new Uint8Array(100 * 1024))
    await assert.rejects(client.request(server.peerId, 'sync', Uint8Array.of(1), 2000), { code: 'ERR_SYNC_TOO_LARGE' })
  } finally {
    await c.stop()
  }
})
