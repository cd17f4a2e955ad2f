import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { multiaddr } from '@multiformats/multiaddr'
import { SEED, cluster, until, fullyConnected, identity, testLogger, freePort, rawPeer } from './helpers.js'
import { P2PNode, TOPIC_PROTOCOLS } from '../../src/p2p/index.js'

test('a peer not in allowedPeers is refused by the gater before any protocol runs', async () => {
  console.log(`# P2P_SEED=${SEED}`)
  const c = await cluster(2, 60)
  const stranger = identity(69)
  const raw = await rawPeer(stranger.seed)
  // A full P2PNode stranger that keeps dialing node 0 from its static peer list.
  const strangerNode = new P2PNode({
    secretKey: identity(68).seed,
    listen: [`/ip4/127.0.0.1/tcp/${await freePort()}`],
    peers: [{ peerId: c.ids[0].peerId, addrs: [`/ip4/127.0.0.1/tcp/${c.ports[0]}`] }],
    allowedPeers: [],
    logger: testLogger(),
    backoff: { baseMs: 50, maxMs: 200 }
  })
  try {
    const [guarded, friend] = c.nodes
    await until(() => fullyConnected(c.nodes), 10_000, 'mesh')
    const got: string[] = []
    const connects: string[] = []
    guarded.onMessage('consensus', (from) => { got.push(from) })
    guarded.on('peer:connect', id => { connects.push(id) })

    // The Noise handshake authenticates the stranger; the gater then refuses it, so either the
    // dial fails or the connection it returns is already being torn down by the remote.
    let streamOpened = false
    try {
      const conn = await raw.dial(multiaddr(guarded.addrs()[0]), { signal: AbortSignal.timeout(3000) })
      const s = await conn.newStream(TOPIC_PROTOCOLS.consensus, { signal: AbortSignal.timeout(2000) })
      s.send(Uint8Array.of(1, 2, 3))
      streamOpened = true
    } catch {}
    assert.equal(streamOpened, false, 'stranger must not get a consensus stream')
    await until(() => guarded.stats().refusedConnections >= 1, 10_000, 'gater refusal (raw host)')

    await strangerNode.start()
    await until(() => guarded.stats().refusedConnections >= 3, 10_000, 'repeated gater refusals (stranger node redials)')

    assert.deepEqual(got, [])
    assert.deepEqual(connects, [])
    assert.equal(guarded.peers().some(p => p.peerId === stranger.peerId || p.peerId === strangerNode.peerId), false)
    // The allowed peer is unaffected.
    guarded.send(friend.peerId, 'consensus', Uint8Array.of(9))
    const friendGot: number[] = []
    friend.onMessage('consensus', (_from, f) => { friendGot.push(f[0]) })
    await until(() => friendGot.includes(9), 10_000, 'allowed peer still served')
  } finally {
    await strangerNode.stop()
    await raw.stop()
    await c.stop()
  }
})
