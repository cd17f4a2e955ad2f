import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as lp from 'it-length-prefixed'
import { multiaddr } from '@multiformats/multiaddr'
import { SEED, cluster, until, fullyConnected, identity, rawPeer } from './helpers.js'
import { TOPIC_PROTOCOLS, PENALTY, type P2PNode } from '../../src/p2p/index.js'

function scoreOf (nd: P2PNode, peerId: string): number {
  return nd.peers().find(p => p.peerId === peerId)?.score ?? NaN
}

/** Scores recover by 1 point/s, so compare with a margin for the seconds a test takes. */
function assertScore (actual: number, expected: number): void {
  assert.ok(actual >= expected && actual < expected + 5, `score ${actual}, expected about ${expected}`)
}

function collect (nd: P2PNode): string[] {
  const got: string[] = []
  nd.onMessage('consensus', (from, f) => { got.push(`${from}:${new TextDecoder().decode(f)}`) })
  return got
}

async function stillExchanging (a: P2PNode, aGot: string[], b: P2PNode, bGot: string[], tag: string): Promise<void> {
  a.send(b.peerId, 'consensus', new TextEncoder().encode(`${tag}-a`))
  b.send(a.peerId, 'consensus', new TextEncoder().encode(`${tag}-b`))
  await until(() => bGot.includes(`${a.peerId}:${tag}-a`) && aGot.includes(`${b.peerId}:${tag}-b`), 10_000, `${tag} exchange`)
}

test('a frame over maxFrameBytes is refused, its sender disconnected and scored down; others unaffected', async () => {
  console.log(`# P2P_SEED=${SEED}`)
  // Node 0 believes frames may be 1 MiB; nodes 1 and 2 enforce 64 KiB.
  const c = await cluster(3, 30, { maxFrameBytes: 64 * 1024 }, SEED, i => i === 0 ? { maxFrameBytes: 1024 * 1024 } : {})
  try {
    const [big, victim, bystander] = c.nodes
    await until(() => fullyConnected(c.nodes), 10_000, 'mesh')
    const victimGot = collect(victim)
    const bystanderGot = collect(bystander)
    const bigGot = collect(big)
    const disconnected: string[] = []
    big.on('peer:disconnect', id => { disconnected.push(id) })

    big.send(victim.peerId, 'consensus', new Uint8Array(100 * 1024).fill(7))
    await until(() => victim.stats().oversizedFrames === 1, 10_000, 'oversize detection')
    await until(() => disconnected.includes(victim.peerId), 10_000, 'sender disconnected')
    assert.equal(victimGot.length, 0)
    assertScore(scoreOf(victim, big.peerId), 100 - PENALTY.oversized)
    // Too large for the sender's own limit: dropped locally and counted, never thrown at the caller.
    assert.doesNotThrow(() => { victim.send(big.peerId, 'consensus', new Uint8Array(64 * 1024)) })
    assert.doesNotThrow(() => { victim.broadcast('consensus', new Uint8Array(64 * 1024)) })
    assert.equal(victim.stats().tooLargeDropped, 2)

    await stillExchanging(victim, victimGot, bystander, bystanderGot, 'v-b')
    await stillExchanging(big, bigGot, bystander, bystanderGot, 'big-b')
    // The offender reconnects (not banned after one offence) and small frames flow again.
    await stillExchanging(big, bigGot, victim, victimGot, 'big-v')
  } finally {
    await c.stop()
  }
})

test('garbage on the consensus protocol from an allowed peer: disconnect + score down, others keep working', async () => {
  console.log(`# P2P_SEED=${SEED}`)
  const rogue = identity(49)
  const c = await cluster(2, 40, { allowedPeers: [identity(40).peerId, identity(41).peerId, rogue.peerId] })
  const raw = await rawPeer(rogue.seed)
  try {
    const [victim, other] = c.nodes
    await until(() => fullyConnected(c.nodes), 10_000, 'mesh')
    const victimGot = collect(victim)
    const otherGot = collect(other)
    const conn = await raw.dial(multiaddr(victim.addrs()[0]), { signal: AbortSignal.timeout(10_000) })
    await until(() => victim.peers().some(p => p.peerId === rogue.peerId && p.connected), 10_000, 'rogue connected')
    const stream = await conn.newStream(TOPIC_PROTOCOLS.consensus)
    // A well-formed length prefix around a batch with the wrong tag and a truncated frame.
    stream.send(lp.encode.single(Uint8Array.from([0x00, 0x05, 1, 2])))
    await until(() => victim.stats().garbageStreams === 1, 10_000, 'garbage detection')
    await until(() => conn.status !== 'open', 10_000, 'rogue disconnected')
    assert.equal(victimGot.length, 0)
    assertScore(scoreOf(victim, rogue.peerId), 100 - PENALTY.garbage)
    await stillExchanging(victim, victimGot, other, otherGot, 'after-garbage')
  } finally {
    await raw.stop()
    await c.stop()
  }
})

test('too many frames per second: disconnect + score down; repeated offences ban the peer', async () => {
  console.log(`# P2P_SEED=${SEED}`)
  const c = await cluster(2, 50, { rateLimit: { framesPerSecond: 100, burst: 200 }, scores: { banMs: 60_000, recoveryPerSecond: 0 } })
  try {
    const [flooder, victim] = c.nodes
    await until(() => fullyConnected(c.nodes), 10_000, 'mesh')
    const got = collect(victim)
    for (let i = 0; i < 150; i++) flooder.send(victim.peerId, 'consensus', Uint8Array.of(i))
    await until(() => got.length === 150, 10_000, 'frames within burst')
    assert.equal(victim.stats().rateLimited, 0)
    for (let round = 1; round <= 4; round++) {
      await until(() => fullyConnected(c.nodes), 10_000, `reconnect before flood ${round}`)
      for (let i = 0; i < 300; i++) flooder.send(victim.peerId, 'consensus', Uint8Array.of(i))
      await until(() => victim.stats().rateLimited === round, 10_000, `rate limit trip ${round}`)
      await until(() => !fullyConnected(c.nodes), 10_000, `disconnect ${round}`)
      assertScore(scoreOf(victim, flooder.peerId), Math.max(0, 100 - round * PENALTY.rate))
    }
    // Score 0 reached: banned, so the gater refuses the flooder's redials.
    await until(() => victim.stats().refusedConnections > 0, 10_000, 'gater refuses banned peer')
    assert.equal(victim.peers().find(p => p.peerId === flooder.peerId)?.connected, false)
  } finally {
    await c.stop()
  }
})

test('penalize(): small penalties only lower the score; reaching the threshold disconnects and bans until banMs passes', async () => {
  console.log(`# P2P_SEED=${SEED}`)
  const c = await cluster(2, 55, { scores: { banMs: 800, recoveryPerSecond: 0 } })
  try {
    const [judge, culprit] = c.nodes
    await until(() => fullyConnected(c.nodes), 10_000, 'mesh')
    judge.penalize(culprit.peerId, 'bad signature', 30)
    assert.equal(scoreOf(judge, culprit.peerId), 70)
    assert.equal(fullyConnected(c.nodes), true)
    const t0 = Date.now()
    judge.penalize(culprit.peerId, 'equivocation', 70)
    await until(() => !fullyConnected(c.nodes), 10_000, 'ban disconnects')
    // Redials are refused while banned, then the peer comes back with a clean score.
    await until(() => fullyConnected(c.nodes), 10_000, 'reconnect after ban')
    assert.ok(Date.now() - t0 >= 700, `reconnected after ${Date.now() - t0} ms, ban is 800 ms`)
    assert.equal(scoreOf(judge, culprit.peerId), 100)
  } finally {
    await c.stop()
  }
})
