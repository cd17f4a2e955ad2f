import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { encodeBatch, decodeBatch, framedLength, varintLength } from '../../src/p2p/batch.js'
import { SendQueue } from '../../src/p2p/send-queue.js'
import { backoffDelay } from '../../src/p2p/backoff.js'
import { PeerScores } from '../../src/p2p/scores.js'
import { TokenBucket } from '../../src/p2p/rate-limit.js'
import { resolveOptions } from '../../src/p2p/options.js'
import { P2PError } from '../../src/p2p/errors.js'
import { silentLogger } from '../../src/log.js'
import { SEED, seededRandom } from './helpers.js'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { P2PNode } from '../../src/p2p/index.js'

const fcParams = { seed: SEED, numRuns: 300 }

test('batch: encode/decode round trip and exact size', () => {
  console.log(`# P2P_SEED=${SEED}`)
  fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 20 }), (frames) => {
    const bytes = encodeBatch(frames)
    assert.equal(bytes.byteLength, 1 + frames.reduce((n, f) => n + framedLength(f.byteLength), 0))
    assert.deepEqual(decodeBatch(bytes, 1 << 20).map(f => Array.from(f)), frames.map(f => Array.from(f)))
  }), fcParams)
  assert.equal(varintLength(127), 1)
  assert.equal(varintLength(128), 2)
  assert.equal(varintLength(4 * 1024 * 1024), 4)
  assert.throws(() => encodeBatch([]), { code: 'ERR_EMPTY_BATCH' })
})

test('batch: arbitrary bytes either decode or throw a P2PError, never anything else', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
    try {
      const frames = decodeBatch(bytes, 1024)
      // Whatever decodes must re-encode to the same bytes (the format is canonical).
      assert.deepEqual(Array.from(encodeBatch(frames)), Array.from(bytes))
    } catch (err) {
      assert.ok(err instanceof P2PError, String(err))
    }
  }), fcParams)
  assert.throws(() => decodeBatch(Uint8Array.of(0xb1), 10), { code: 'ERR_BAD_BATCH' })
  assert.throws(() => decodeBatch(Uint8Array.of(0x00, 0x00), 10), { code: 'ERR_BAD_BATCH' })
  assert.throws(() => decodeBatch(Uint8Array.of(0xb1, 0x80, 0x00), 10), { code: 'ERR_BAD_BATCH' })
  assert.throws(() => decodeBatch(Uint8Array.of(0xb1, 0x05, 1, 2), 10), { code: 'ERR_BAD_BATCH' })
  assert.throws(() => decodeBatch(Uint8Array.of(0xb1, 0x0b, ...new Uint8Array(11)), 10), { code: 'ERR_FRAME_TOO_LARGE' })
})

test('send queue: drops oldest beyond limits, batches by size', () => {
  const q = new SendQueue({ maxFrames: 3, maxBytes: 1000 })
  for (let i = 0; i < 5; i++) q.push(Uint8Array.of(i))
  assert.equal(q.length, 3)
  assert.equal(q.dropped, 2)
  assert.deepEqual(q.take(1000).map(f => f[0]), [2, 3, 4])
  const b = new SendQueue({ maxFrames: 100, maxBytes: 250 })
  for (let i = 0; i < 3; i++) b.push(new Uint8Array(100).fill(i))
  assert.equal(b.dropped, 1)
  // 1 tag byte + 2 × (1 + 100) = 203 fits 203, not 202.
  assert.deepEqual(b.take(202).map(f => f[0]), [1])
  assert.deepEqual(b.take(203).map(f => f[0]), [2])
  // One frame larger than the batch budget still goes out alone rather than sticking forever.
  b.push(new Uint8Array(200))
  assert.equal(b.take(10).length, 1)
  assert.equal(b.bytes, 0)
})

test('backoff: exponential, capped, jittered within [d/2, d]', () => {
  const rnd = seededRandom(SEED)
  const opts = { baseMs: 100, maxMs: 5000 }
  for (let attempt = 0; attempt < 40; attempt++) {
    const d = Math.min(5000, 100 * 2 ** attempt)
    const got = backoffDelay(attempt, opts, rnd)
    assert.ok(got >= d / 2 && got <= d, `attempt ${attempt}: ${got} not in [${d / 2}, ${d}]`)
  }
  assert.equal(backoffDelay(3, opts, () => 0), 400)
  assert.equal(backoffDelay(3, opts, () => 0.999999), 800)
})

test('scores: penalties, ban at threshold, recovery and clean slate after the ban', () => {
  let now = 0
  const s = new PeerScores({ initial: 100, banThreshold: 0, banMs: 10_000, recoveryPerSecond: 1 }, () => now)
  assert.equal(s.penalize('p', 40), false)
  assert.equal(s.score('p'), 60)
  now += 5000
  assert.equal(s.score('p'), 65)
  assert.equal(s.penalize('p', 70), true)
  assert.equal(s.banned('p'), true)
  assert.equal(s.banRemainingMs('p'), 10_000)
  now += 9_999
  assert.equal(s.banned('p'), true)
  assert.ok(s.score('p') <= 0, 'no recovery while banned')
  now += 1
  assert.equal(s.banned('p'), false)
  assert.equal(s.score('p'), 100)
})

test('token bucket: burst then steady rate', () => {
  let now = 0
  const b = new TokenBucket({ framesPerSecond: 10, burst: 20 }, () => now)
  assert.equal(b.take(20), true)
  assert.equal(b.take(1), false)
  now += 100
  assert.equal(b.take(1), true)
  assert.equal(b.take(1), false)
  now += 10_000
  assert.equal(b.take(21), false)
  assert.equal(b.take(20), true)
})

test('options: every bad field is named', () => {
  const good = { secretKey: new Uint8Array(32), listen: ['/ip4/127.0.0.1/tcp/0'], peers: [], allowedPeers: [], logger: silentLogger }
  assert.equal(resolveOptions(good).maxFrameBytes, 4 * 1024 * 1024)
  assert.throws(() => resolveOptions({ ...good, secretKey: new Uint8Array(31) }), { code: 'ERR_CONFIG', message: /secretKey/ })
  assert.throws(() => resolveOptions({ ...good, listen: ['not-an-addr'] }), { code: 'ERR_CONFIG', message: /listen/ })
  assert.throws(() => resolveOptions({ ...good, allowedPeers: ['xyz'] }), { code: 'ERR_CONFIG', message: /allowedPeers\[0\]/ })
  assert.throws(() => resolveOptions({ ...good, peers: [{ peerId: '12D3KooWEbZ7kARiZGhp2k2YbQm2o7pVFDTfjvwDEHCgCNT7fTv3', addrs: [] }] }), { code: 'ERR_CONFIG', message: /peers\[0\]/ })
  assert.throws(() => resolveOptions({ ...good, maxFrameBytes: 0 }), { code: 'ERR_CONFIG', message: /maxFrameBytes/ })
  assert.throws(() => resolveOptions({ ...good, rateLimit: { framesPerSecond: -1, burst: 1 } }), { code: 'ERR_CONFIG', message: /rateLimit/ })
  // DNS multiaddrs (container names) are accepted.
  assert.doesNotThrow(() => resolveOptions({ ...good, listen: ['/ip4/0.0.0.0/tcp/26656'], peers: [{ peerId: '12D3KooWEbZ7kARiZGhp2k2YbQm2o7pVFDTfjvwDEHCgCNT7fTv3', addrs: ['/dns4/validator-1/tcp/26656'] }] }))
})

test('identity: the peer id is the one generateKeyPairFromSeed gives for the same seed', async () => {
  const seed = new Uint8Array(32).map((_, i) => (i * 7 + SEED) & 0xff)
  const expected = peerIdFromPrivateKey(await generateKeyPairFromSeed('Ed25519', seed)).toString()
  const nd = new P2PNode({ secretKey: seed, listen: [], peers: [], allowedPeers: [], logger: silentLogger })
  assert.equal(nd.peerId, expected)
})
