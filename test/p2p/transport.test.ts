import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, connect, type Socket } from 'node:net'
import type { MultiaddrConnection } from '@libp2p/interface'
import { StreamState, YamuxStream } from '@chainsafe/libp2p-yamux/stream'
import { coalesceWrites } from '../../src/p2p/coalesce.js'
import { installYamuxWindowThreshold } from '../../src/p2p/yamux-window.js'
import { SEED, cluster, until, fullyConnected, seededRandom } from './helpers.js'

const WINDOW = 256 * 1024

interface SentFrame { type: number, flag: number, streamID: number, length: number }

/** A YamuxStream with only the fields sendWindowUpdate reads; frames it sends are recorded. */
function fakeStream (state: StreamState, capacity: number): { stream: YamuxStream, sent: SentFrame[] } {
  const sent: SentFrame[] = []
  const fields = {
    streamId: 7,
    state,
    recvWindow: WINDOW,
    recvWindowCapacity: capacity,
    maxStreamWindowSize: 16 * 1024 * 1024,
    epochStart: Date.now(),
    getRTT: () => -1,
    sendFrame: (h: SentFrame) => { sent.push(h); return true }
  }
  const stream = Object.assign(Object.create(YamuxStream.prototype) as YamuxStream, fields)
  return { stream, sent }
}

test('yamux grants credit once half the receive window is used, not after every data frame', () => {
  installYamuxWindowThreshold()
  installYamuxWindowThreshold() // idempotent: a second install must not wrap twice

  const small = fakeStream(StreamState.Established, WINDOW - 1000)
  small.stream.sendWindowUpdate()
  assert.deepEqual(small.sent, [], 'a few KiB used: no update')

  const half = fakeStream(StreamState.Established, WINDOW / 2)
  half.stream.sendWindowUpdate()
  assert.equal(half.sent.length, 1, 'half the window used: one update')
  assert.equal(half.sent[0]!.length, WINDOW / 2, 'it restores the whole window')
  assert.equal(half.sent[0]!.flag, 0)

  // Opening handshakes still go out at once, whatever the window.
  const syn = fakeStream(StreamState.Init, WINDOW)
  syn.stream.sendWindowUpdate()
  assert.equal(syn.sent.length, 1, 'SYN sent')
  const ack = fakeStream(StreamState.SYNReceived, WINDOW)
  ack.stream.sendWindowUpdate()
  assert.equal(ack.sent.length, 1, 'ACK sent')
})

test('coalesceWrites: buffers written in one event-loop turn leave in one writev', async () => {
  const server = createServer(s => { s.resume() })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  const socket: Socket = connect(port, '127.0.0.1')
  await new Promise<void>(resolve => socket.once('connect', resolve))
  try {
    let writev = 0
    let write = 0
    const s = socket as unknown as { _writev: (...a: unknown[]) => void, _write: (...a: unknown[]) => void }
    const origWritev = s._writev.bind(socket)
    const origWrite = s._write.bind(socket)
    s._writev = (...a) => { writev++; origWritev(...a) }
    s._write = (...a) => { write++; origWrite(...a) }

    // The shape of @libp2p/tcp's connection: sendData writes each buffer on its own.
    const maConn = {
      socket,
      sendData (data: Iterable<Uint8Array>) {
        for (const b of data) socket.write(b)
        return { sentBytes: 0, canSendMore: true }
      }
    }
    coalesceWrites(maConn as unknown as MultiaddrConnection)
    const send = (maConn as unknown as { sendData: (d: Uint8Array[]) => unknown }).sendData
    for (let i = 0; i < 5; i++) send([Uint8Array.of(0, 28), new Uint8Array(28).fill(i)])
    await new Promise(resolve => setImmediate(resolve))
    assert.equal(write, 0, 'no single-buffer writes')
    assert.equal(writev, 1, '10 buffers from 5 sendData calls in one writev')

    // The next turn corks again.
    send([Uint8Array.of(1)])
    send([Uint8Array.of(2)])
    await new Promise(resolve => setImmediate(resolve))
    assert.equal(writev + write, 2)
  } finally {
    socket.destroy()
    await new Promise(resolve => server.close(resolve))
  }
})

test('frames many windows large cross a libp2p connection intact with the credit threshold and write coalescing', async () => {
  console.log(`# P2P_SEED=${SEED}`)
  const c = await cluster(2, 120, { maxFrameBytes: 8 * 1024 * 1024, sendQueue: { maxFrames: 10_000, maxBytes: 1 << 28 } })
  try {
    await until(() => fullyConnected(c.nodes), 10_000, 'mesh')
    const [a, b] = c.nodes
    const rnd = seededRandom(SEED)
    // 3 MiB frames (12 windows each) mixed with small ones, both directions at once.
    const frames = Array.from({ length: 12 }, (_, i) => {
      const f = new Uint8Array(i % 3 === 0 ? 3 * 1024 * 1024 : 1 + Math.floor(rnd() * 300))
      for (let j = 0; j < f.length; j += 4096) f[j] = Math.floor(rnd() * 256)
      f[0] = i
      return f
    })
    const gotB: Uint8Array[] = []
    const gotA: Uint8Array[] = []
    b.onMessage('consensus', (_peer, f) => { gotB.push(f) })
    a.onMessage('consensus', (_peer, f) => { gotA.push(f) })
    for (const f of frames) { a.send(b.peerId, 'consensus', f); b.send(a.peerId, 'consensus', f) }
    await until(() => gotB.length === frames.length && gotA.length === frames.length, 30_000, 'all frames both ways')
    for (const got of [gotA, gotB]) {
      got.forEach((f, i) => { assert.ok(Buffer.from(f).equals(Buffer.from(frames[i]!)), `frame ${i} arrives whole and in order`) })
    }
  } finally {
    await c.stop()
  }
})
