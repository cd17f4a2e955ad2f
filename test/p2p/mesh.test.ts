import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SEED, cluster, until, fullyConnected } from './helpers.js'

test('4 hosts form a full mesh from static peers and exchange consensus frames and broadcasts', async () => {
  console.log(`# P2P_SEED=${SEED}`)
  const c = await cluster(4, 10)
  try {
    await until(() => fullyConnected(c.nodes), 10_000, 'full mesh')
    const got = c.nodes.map(() => ({ consensus: [] as string[], tx: [] as string[] }))
    c.nodes.forEach((nd, i) => {
      nd.onMessage('consensus', (from, frame) => { got[i].consensus.push(`${from}:${new TextDecoder().decode(frame)}`) })
      nd.onMessage('tx', (from, frame) => { got[i].tx.push(`${from}:${new TextDecoder().decode(frame)}`) })
    })
    const PER_PAIR = 200
    // Point-to-point: every node sends PER_PAIR numbered frames to every other node, in one tick.
    c.nodes.forEach((nd, i) => {
      c.ids.forEach((id, j) => {
        if (i === j) return
        for (let k = 0; k < PER_PAIR; k++) nd.send(id.peerId, 'consensus', new TextEncoder().encode(`${i}->${j}#${k}`))
      })
    })
    // Broadcast: each node sends one tx frame to all connected peers.
    c.nodes.forEach((nd, i) => { nd.broadcast('tx', new TextEncoder().encode(`tx-from-${i}`)) })

    await until(() => got.every(g => g.consensus.length === 3 * PER_PAIR && g.tx.length === 3), 10_000, 'all frames')
    for (let j = 0; j < 4; j++) {
      for (let i = 0; i < 4; i++) {
        if (i === j) continue
        // Order per (sender, receiver, topic) is preserved.
        const fromI = got[j].consensus.filter(s => s.startsWith(c.ids[i].peerId + ':')).map(s => s.split(':')[1])
        assert.deepEqual(fromI, Array.from({ length: PER_PAIR }, (_, k) => `${i}->${j}#${k}`))
        assert.ok(got[j].tx.includes(`${c.ids[i].peerId}:tx-from-${i}`))
      }
    }
    const st = c.nodes[0].stats()
    assert.equal(st.framesOut, 3 * PER_PAIR + 3)
    // Coalescing: 600 frames sent in one tick must not take 600 writes.
    assert.ok(st.batchesOut < 20, `expected few batches, got ${st.batchesOut}`)
    for (const nd of c.nodes) {
      for (const p of nd.peers()) {
        assert.equal(p.connected, true)
        assert.equal(p.validator, null)
        assert.equal(p.score, 100)
      }
    }
  } finally {
    await c.stop()
  }
})

test('static peers given as DNS multiaddrs (/dns4/<name>/tcp/<port>) are dialed', async () => {
  console.log(`# P2P_SEED=${SEED}`)
  const c = await cluster(2, 20)
  await Promise.all(c.nodes.map(async nd => { await nd.stop() }))
  const dnsPeers = (i: number): Array<{ peerId: string, addrs: string[] }> =>
    c.ids.map((id, j) => ({ peerId: id.peerId, addrs: [`/dns4/localhost/tcp/${c.ports[j]}`] })).filter((_, j) => j !== i)
  c.nodes[0] = c.make(0, { peers: dnsPeers(0) })
  c.nodes[1] = c.make(1, { peers: dnsPeers(1) })
  await Promise.all(c.nodes.map(async nd => { await nd.start() }))
  try {
    await until(() => fullyConnected(c.nodes), 10_000, 'mesh over dns4 addresses')
  } finally {
    await c.stop()
  }
})
