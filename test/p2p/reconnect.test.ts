import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SEED, cluster, until, fullyConnected } from './helpers.js'

test('restart one host (same key and port): the others reconnect by themselves; failure detector suspects then clears it', async () => {
  console.log(`# P2P_SEED=${SEED}`)
  const c = await cluster(3, 70, { heartbeatMs: 100, suspectAfterMs: 500 })
  try {
    await until(() => fullyConnected(c.nodes), 10_000, 'mesh')
    const [a, b] = c.nodes
    const victimId = c.ids[2].peerId
    const events: string[] = []
    for (const ev of ['peer:disconnect', 'peer:suspect', 'peer:alive', 'peer:connect'] as const) {
      a.on(ev, id => { if (id === victimId) events.push(ev) })
    }
    // RTT and last-seen come from pings.
    await until(() => a.peers().every(p => p.rttMs !== null && p.lastSeenMs !== null), 10_000, 'ping RTTs')

    events.length = 0
    await c.nodes[2].stop()
    await until(() => a.peers().find(p => p.peerId === victimId)?.suspected === true, 10_000, 'suspected after stop')
    assert.equal(b.peers().find(p => p.peerId === victimId)?.connected, false)

    c.nodes[2] = c.make(2, { heartbeatMs: 100, suspectAfterMs: 500 })
    await c.nodes[2].start()
    // Only a and b know the victim's address is alive again; both redial with backoff.
    await until(() => fullyConnected(c.nodes), 10_000, 'reconnect after restart')
    await until(() => a.peers().find(p => p.peerId === victimId)?.suspected === false, 10_000, 'alive after restart')
    const at = (ev: string): number => events.indexOf(ev)
    assert.ok(at('peer:disconnect') >= 0 && at('peer:disconnect') < at('peer:connect'), events.join(','))
    assert.ok(at('peer:suspect') >= 0 && at('peer:suspect') < at('peer:alive'), events.join(','))

    const got: string[] = []
    c.nodes[2].onMessage('consensus', (from, f) => { got.push(`${from}:${f[0]}`) })
    a.send(victimId, 'consensus', Uint8Array.of(1))
    b.send(victimId, 'consensus', Uint8Array.of(2))
    await until(() => got.length === 2, 10_000, 'frames to restarted host')
  } finally {
    await c.stop()
  }
})

test('frames queued while a peer is down are delivered after it comes back (bounded queue)', async () => {
  console.log(`# P2P_SEED=${SEED}`)
  const c = await cluster(2, 75, { sendQueue: { maxFrames: 50, maxBytes: 1 << 20 } })
  try {
    await until(() => fullyConnected(c.nodes), 10_000, 'mesh')
    const [a] = c.nodes
    await c.nodes[1].stop()
    await until(() => !fullyConnected([a, c.nodes[1]]) && a.peers()[0].connected === false, 10_000, 'a sees b down')
    for (let i = 0; i < 80; i++) a.send(c.ids[1].peerId, 'consensus', Uint8Array.of(i))
    // A broadcast reaches a static peer that is down too, once it is back.
    a.broadcast('tx', Uint8Array.of(200))
    c.nodes[1] = c.make(1)
    const got: number[] = []
    const gotTx: number[] = []
    c.nodes[1].onMessage('consensus', (_from, f) => { got.push(f[0]) })
    c.nodes[1].onMessage('tx', (_from, f) => { gotTx.push(f[0]) })
    await c.nodes[1].start()
    await until(() => got.length === 50 && gotTx.length === 1, 10_000, 'queued frames')
    assert.deepEqual(gotTx, [200])
    // Oldest 30 dropped, newest 50 kept in order.
    assert.deepEqual(got, Array.from({ length: 50 }, (_, k) => 30 + k))
    assert.equal(a.stats().queueDropped, 30)
  } finally {
    await c.stop()
  }
})
