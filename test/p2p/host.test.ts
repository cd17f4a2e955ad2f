import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { multiaddr } from '@multiformats/multiaddr'
import { SEED, identity, rawPeer, testLogger, until } from './helpers.js'
import { P2PNode, PING_PROTOCOL } from '../../src/p2p/index.js'

test('the node is a libp2p node: a plain libp2p peer (allowed) is served identify and @libp2p/ping', async () => {
  console.log(`# P2P_SEED=${SEED}`)
  const me = identity(1)
  const friend = identity(2)
  const nd = new P2PNode({ secretKey: me.seed, listen: ['/ip4/127.0.0.1/tcp/0'], peers: [], allowedPeers: [friend.peerId], logger: testLogger() })
  await nd.start()
  const raw = await rawPeer(friend.seed)
  try {
    assert.ok(nd.addrs()[0].endsWith(`/p2p/${me.peerId}`), nd.addrs()[0])
    const rtt = await raw.services.ping.ping(multiaddr(nd.addrs()[0]), { signal: AbortSignal.timeout(5000) })
    assert.ok(rtt >= 0 && rtt < 5000, `rtt ${rtt}`)
    assert.equal(PING_PROTOCOL, '/ipfs/ping/1.0.0')
    await until(() => nd.peers().some(p => p.peerId === friend.peerId && p.connected), 5000, 'friend connected')
    // identify ran: the remote's protocols are in the peer store of the plain peer.
    const remote = raw.getConnections()[0].remotePeer
    let protocols: string[] = []
    await until(() => {
      void raw.peerStore.get(remote).then(p => { protocols = p.protocols }, () => {})
      return protocols.includes('/bft-ledger/consensus/1.0.0')
    }, 5000, 'identify: remote protocols in the peer store')
  } finally {
    await raw.stop()
    await nd.stop()
  }
})

test('listening on a port that is taken fails with ERR_LISTEN naming the address', async () => {
  const a = new P2PNode({ secretKey: identity(3).seed, listen: ['/ip4/127.0.0.1/tcp/0'], peers: [], allowedPeers: [], logger: testLogger() })
  await a.start()
  const port = a.addrs()[0].split('/')[4]
  const b = new P2PNode({ secretKey: identity(4).seed, listen: [`/ip4/127.0.0.1/tcp/${port}`], peers: [], allowedPeers: [], logger: testLogger() })
  try {
    await assert.rejects(b.start(), { code: 'ERR_LISTEN', message: new RegExp(`tcp/${port}`) })
  } finally {
    await a.stop()
    await b.stop()
  }
})
