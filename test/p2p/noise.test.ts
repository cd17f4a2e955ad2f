import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, connect, type Socket } from 'node:net'
import { SEED, identity, freePort, testLogger, until } from './helpers.js'
import { P2PNode } from '../../src/p2p/index.js'

/** A TCP relay on 127.0.0.1 that records every byte in both directions. */
async function tapProxy (targetPort: number): Promise<{ port: number, captured: () => Buffer, close: () => Promise<void> }> {
  const chunks: Buffer[] = []
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1')
    sockets.add(client)
    sockets.add(upstream)
    client.on('data', (d: Buffer) => { chunks.push(Buffer.from(d)); upstream.write(d) })
    upstream.on('data', (d: Buffer) => { chunks.push(Buffer.from(d)); client.write(d) })
    const end = (): void => { client.destroy(); upstream.destroy() }
    client.on('close', end)
    upstream.on('close', end)
    client.on('error', end)
    upstream.on('error', end)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const addr = server.address()
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0
  return {
    port,
    captured: () => Buffer.concat(chunks),
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>(resolve => server.close(() => { resolve() }))
    }
  }
}

test('Noise: a plaintext marker sent over the consensus protocol never appears on the wire', async () => {
  console.log(`# P2P_SEED=${SEED}`)
  const a = identity(90)
  const b = identity(91)
  const bPort = await freePort()
  const proxy = await tapProxy(bPort)
  // Only A dials, and only through the proxy, so every byte between them passes the tap.
  const nodeB = new P2PNode({ secretKey: b.seed, listen: [`/ip4/127.0.0.1/tcp/${bPort}`], peers: [], allowedPeers: [a.peerId], logger: testLogger() })
  const nodeA = new P2PNode({
    secretKey: a.seed,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    peers: [{ peerId: b.peerId, addrs: [`/ip4/127.0.0.1/tcp/${proxy.port}`] }],
    allowedPeers: [b.peerId],
    logger: testLogger()
  })
  await nodeB.start()
  await nodeA.start()
  try {
    const received: Buffer[] = []
    nodeB.onMessage('consensus', (_from, f) => { received.push(Buffer.from(f)) })
    const marker = 'PLAINTEXT-MARKER-7f3a9c'
    const frame = Buffer.from(marker.repeat(200))
    await until(() => nodeA.peers().some(p => p.connected), 10_000, 'A connected to B via proxy')
    nodeA.send(b.peerId, 'consensus', frame)
    nodeA.send(b.peerId, 'tx', frame)
    await until(() => received.length === 1, 10_000, 'frame delivered')

    // Control: the application got the marker in the clear.
    assert.ok(received[0].includes(marker))
    const wire = proxy.captured()
    // Control: the tap saw the whole session (multistream-select runs in the clear before Noise).
    assert.ok(wire.includes('/multistream/1.0.0') && wire.includes('/noise'), 'tap captured the handshake')
    assert.ok(wire.length > frame.length, `captured ${wire.length} bytes`)
    // The evidence: neither the marker nor a fragment of it crossed the wire.
    assert.equal(wire.includes(marker), false)
    assert.equal(wire.includes('PLAINTEXT-MARKER'), false)
    assert.equal(wire.includes('/bft-ledger/consensus/1.0.0'), false, 'protocol names inside the Noise session are encrypted too')
  } finally {
    await nodeA.stop()
    await nodeB.stop()
    await proxy.close()
  }
})
