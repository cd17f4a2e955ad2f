import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { silentLogger } from '../../src/log.js'
import { Host } from '../../src/p2p/host.js'

async function host (seedByte: number): Promise<Host> {
  const seed = new Uint8Array(32).fill(seedByte)
  const h = new Host({ privateKey: await generateKeyPairFromSeed('Ed25519', seed), gater: {}, logger: silentLogger })
  await h.listen(['/ip4/127.0.0.1/tcp/0'])
  return h
}

test('two hosts negotiate noise+yamux and a protocol stream', async () => {
  const a = await host(1)
  const b = await host(2)
  try {
    let resolve!: (s: string) => void
    const got = new Promise<string>((res) => { resolve = res })
    b.handle('/echo/1.0.0', (stream) => {
      void (async () => {
        for await (const chunk of stream) {
          stream.send(chunk)
        }
        await stream.close()
      })()
    })
    const conn = await a.dial(b.peerId.toString(), b.addrs()[0], 3000)
    assert.equal(conn.remotePeer, b.peerId.toString())
    const s = await conn.newStream('/echo/1.0.0')
    s.send(new TextEncoder().encode('hello'))
    s.addEventListener('message', (evt) => { resolve(new TextDecoder().decode(evt.data.subarray())) })
    assert.equal(await got, 'hello')
  } finally {
    await a.stop()
    await b.stop()
  }
})

test('listening on a port that is taken fails with ERR_LISTEN naming the address', async () => {
  const a = await host(3)
  const port = a.addrs()[0].split('/')[4]
  const b = new Host({ privateKey: await generateKeyPairFromSeed('Ed25519', new Uint8Array(32).fill(4)), gater: {}, logger: silentLogger })
  try {
    await assert.rejects(b.listen([`/ip4/127.0.0.1/tcp/${port}`]), { code: 'ERR_LISTEN', message: new RegExp(`tcp/${port}`) })
  } finally {
    await a.stop()
    await b.stop()
  }
})
