import '../../src/polyfill.js'
import { createServer } from 'node:net'
import { silentLogger, createLogger, type Logger } from '../../src/log.js'
import { keyPairFromSeed } from '../../src/crypto/index.js'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { publicKeyFromRaw, generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { ping, type Ping } from '@libp2p/ping'
import { identify, type Identify } from '@libp2p/identify'
import { P2PNode, type P2POptions } from '../../src/p2p/index.js'
import { rng } from '../support/seeded.js'

/** Seed for this run: P2P_SEED=<n> replays it. Printed by every test that uses it. */
export const SEED = Number(process.env.P2P_SEED ?? (Date.now() % 1_000_000))

/** Seedable [0, 1) stream for jitter and payloads: the shared test PRNG (test/support/seeded.ts). */
export const seededRandom = rng

export function testLogger (): Logger {
  return process.env.P2P_LOG !== undefined ? createLogger('p2p-test', process.env.P2P_LOG) : silentLogger
}

export interface Identity { seed: Uint8Array, peerId: string }

export function identity (n: number): Identity {
  const seed = new Uint8Array(32)
  seed[0] = 0xab
  seed[1] = n
  const kp = keyPairFromSeed(seed)
  return { seed, peerId: peerIdFromPublicKey(publicKeyFromRaw(kp.publicKey)).toString() }
}

/** A port that was free a moment ago (the OS picks it), so restarts can reuse a fixed port. */
export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0
      srv.close(() => { resolve(port) })
    })
  })
}

export interface Cluster {
  ids: Identity[]
  ports: number[]
  nodes: P2PNode[]
  make: (i: number, extra?: Partial<P2POptions>) => P2PNode
  stop: () => Promise<void>
}

/** n nodes on 127.0.0.1 that all list each other as static peers (full mesh). */
export async function cluster (n: number, base: number, extra: Partial<P2POptions> = {}, seed = SEED, perNode: (i: number) => Partial<P2POptions> = () => ({})): Promise<Cluster> {
  const ids = Array.from({ length: n }, (_, i) => identity(base + i))
  const ports: number[] = []
  for (let i = 0; i < n; i++) ports.push(await freePort())
  const make = (i: number, more: Partial<P2POptions> = {}): P2PNode => new P2PNode({
    secretKey: ids[i].seed,
    listen: [`/ip4/127.0.0.1/tcp/${ports[i]}`],
    peers: ids.map((id, j) => ({ peerId: id.peerId, addrs: [`/ip4/127.0.0.1/tcp/${ports[j]}`] })).filter((_, j) => j !== i),
    allowedPeers: ids.map(id => id.peerId),
    logger: testLogger(),
    heartbeatMs: 200,
    suspectAfterMs: 1000,
    backoff: { baseMs: 50, maxMs: 400 },
    random: seededRandom(seed + i),
    ...extra,
    ...more
  })
  const nodes = ids.map((_, i) => make(i, perNode(i)))
  await Promise.all(nodes.map(async nd => { await nd.start() }))
  return {
    ids,
    ports,
    nodes,
    make,
    stop: async () => { await Promise.all(nodes.map(async nd => { await nd.stop() })) }
  }
}

/** Polls `cond` every 20 ms until true or `timeoutMs` passes (then throws with `what`). */
export async function until (cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

export function fullyConnected (nodes: P2PNode[]): boolean {
  return nodes.every(nd => nd.peers().filter(p => p.connected).length === nodes.length - 1)
}

/**
 * A bare libp2p node (TCP, Noise, yamux; no gater, no P2PNode rules) on 127.0.0.1, for tests
 * that play a stranger or a rogue peer speaking our protocols badly.
 */
export async function rawPeer (seed: Uint8Array): Promise<Libp2p<{ ping: Ping, identify: Identify }>> {
  return await createLibp2p({
    privateKey: await generateKeyPairFromSeed('Ed25519', seed),
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { ping: ping(), identify: identify() }
  })
}
