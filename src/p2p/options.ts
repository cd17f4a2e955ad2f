import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { Logger } from '../log.js'
import { ConfigError, errorMessage } from '../errors.js'
import type { RateLimit } from './rate-limit.js'
import type { BackoffOptions } from './backoff.js'
import type { ScoreOptions } from './scores.js'
import type { SendQueueLimits } from './send-queue.js'

export interface P2POptions {
  /** 32-byte ed25519 seed; the libp2p identity (peer id) derives from it. */
  secretKey: Uint8Array
  /** e.g. ['/ip4/127.0.0.1/tcp/26656']; tcp/0 picks a free port (see addrs()). */
  listen: string[]
  /** Static dial list, dialed forever; /dns4/<name>/tcp/<port> works. */
  peers: Array<{ peerId: string, addrs: string[] }>
  /** Validators and allowed full nodes. Peers in `peers` are allowed too. Everyone else is refused by the gater. */
  allowedPeers: string[]
  /** Hard limit for one length-prefixed message (a batch) on a topic stream. Default 4 MiB. */
  maxFrameBytes?: number
  /** Ping period. Default 1000 ms. */
  heartbeatMs?: number
  /** Silence after which a peer is suspected. Default 5000 ms. */
  suspectAfterMs?: number
  /** Per peer, per topic, counted in frames (not batches). Default 20,000/s, burst 40,000. */
  rateLimit?: RateLimit
  logger: Logger

  // Tuning and test hooks; defaults suit production.
  /** Per peer and topic. Default 10,000 frames / 64 MiB. */
  sendQueue?: SendQueueLimits
  backoff?: BackoffOptions
  scores?: Partial<ScoreOptions>
  /** Source of [0, 1) for backoff jitter; inject a seeded one for replayable tests. */
  random?: () => number
  /** Clock for scores, rate limits and the failure detector. Default Date.now. */
  now?: () => number
  dialTimeoutMs?: number
  /** Default 16 MiB. Sync requests are limited to maxFrameBytes. */
  maxSyncResponseBytes?: number
}

export interface ResolvedOptions extends Required<Omit<P2POptions, 'scores'>> {
  scores: Partial<ScoreOptions>
}

const MiB = 1024 * 1024

/** Fills defaults and checks every field, naming the one that is wrong. */
export function resolveOptions (o: P2POptions): ResolvedOptions {
  if (!(o.secretKey instanceof Uint8Array) || o.secretKey.byteLength !== 32) {
    throw new ConfigError(`p2p secretKey must be a 32-byte ed25519 seed, got ${o.secretKey instanceof Uint8Array ? o.secretKey.byteLength + ' bytes' : typeof o.secretKey}`)
  }
  if (!Array.isArray(o.listen)) throw new ConfigError('p2p listen must be an array of multiaddrs')
  for (const a of o.listen) checkAddr(a, 'listen')
  for (const [i, p] of (o.peers ?? []).entries()) {
    checkPeerId(p.peerId, `peers[${i}].peerId`)
    if (!Array.isArray(p.addrs) || p.addrs.length === 0) throw new ConfigError(`p2p peers[${i}] (${p.peerId}) needs at least one address`)
    for (const a of p.addrs) checkAddr(a, `peers[${i}].addrs`)
  }
  for (const [i, id] of (o.allowedPeers ?? []).entries()) checkPeerId(id, `allowedPeers[${i}]`)
  const r: ResolvedOptions = {
    secretKey: o.secretKey,
    listen: o.listen,
    peers: o.peers ?? [],
    allowedPeers: o.allowedPeers ?? [],
    maxFrameBytes: o.maxFrameBytes ?? 4 * MiB,
    heartbeatMs: o.heartbeatMs ?? 1000,
    suspectAfterMs: o.suspectAfterMs ?? 5000,
    rateLimit: o.rateLimit ?? { framesPerSecond: 20_000, burst: 40_000 },
    logger: o.logger,
    sendQueue: o.sendQueue ?? { maxFrames: 10_000, maxBytes: 64 * MiB },
    backoff: o.backoff ?? { baseMs: 200, maxMs: 10_000 },
    scores: o.scores ?? {},
    random: o.random ?? Math.random,
    now: o.now ?? Date.now,
    dialTimeoutMs: o.dialTimeoutMs ?? 5000,
    maxSyncResponseBytes: o.maxSyncResponseBytes ?? 16 * MiB
  }
  positive(r.maxFrameBytes, 'maxFrameBytes', 64, 256 * MiB)
  positive(r.heartbeatMs, 'heartbeatMs', 10, 3_600_000)
  positive(r.suspectAfterMs, 'suspectAfterMs', 10, 86_400_000)
  positive(r.rateLimit.framesPerSecond, 'rateLimit.framesPerSecond', 1, 1e9)
  positive(r.rateLimit.burst, 'rateLimit.burst', 1, 1e9)
  positive(r.sendQueue.maxFrames, 'sendQueue.maxFrames', 1, 1e9)
  positive(r.sendQueue.maxBytes, 'sendQueue.maxBytes', 1, 1e12)
  positive(r.maxSyncResponseBytes, 'maxSyncResponseBytes', 1, 1024 * MiB)
  return r
}

function checkAddr (a: unknown, field: string): void {
  try {
    multiaddr(String(a))
  } catch (err) {
    throw new ConfigError(`p2p ${field}: "${String(a)}" is not a multiaddr: ${errorMessage(err)}`)
  }
}

function checkPeerId (id: unknown, field: string): void {
  try {
    peerIdFromString(String(id))
  } catch (err) {
    throw new ConfigError(`p2p ${field}: "${String(id)}" is not a peer id: ${errorMessage(err)}`)
  }
}

function positive (n: number, field: string, min: number, max: number): void {
  if (typeof n !== 'number' || !Number.isFinite(n) || n < min || n > max) {
    throw new ConfigError(`p2p ${field} must be a number in [${min}, ${max}], got ${String(n)}`)
  }
}
