import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SEED, cluster, until, fullyConnected } from './helpers.js'

// Measurement with a loose floor (not a benchmark gate). Scale with P2P_BENCH_FRAMES / P2P_BENCH_SIZE.
const FRAMES = Number(process.env.P2P_BENCH_FRAMES ?? 50_000)
const SIZE = Number(process.env.P2P_BENCH_SIZE ?? 200)

test(`throughput: ${FRAMES} frames of ${SIZE} B on one consensus stream, batched`, async () => {
  console.log(`# P2P_SEED=${SEED}`)
  const c = await cluster(2, 95, { sendQueue: { maxFrames: 1_000_000, maxBytes: 1 << 30 }, rateLimit: { framesPerSecond: 1e8, burst: 1e8 } })
  try {
    await until(() => fullyConnected(c.nodes), 10_000, 'mesh')
    const [a, b] = c.nodes
    let got = 0
    b.onMessage('consensus', () => { got++ })
    const frame = new Uint8Array(SIZE).fill(1)
    const t0 = performance.now()
    let sent = 0
    // 1000 send() calls per event-loop turn, like a busy producer.
    await new Promise<void>(resolve => {
      const pump = (): void => {
        for (let i = 0; i < 1000 && sent < FRAMES; i++, sent++) a.send(b.peerId, 'consensus', frame)
        if (sent < FRAMES) setImmediate(pump)
        else resolve()
      }
      pump()
    })
    await until(() => got === FRAMES, 60_000, 'all frames')
    const ms = performance.now() - t0
    const st = a.stats()
    const line = { frames: FRAMES, size: SIZE, ms: Math.round(ms), framesPerSec: Math.round(FRAMES / ms * 1000), MBps: +(FRAMES * SIZE / ms / 1000).toFixed(1), batches: st.batchesOut }
    console.log(`# ${JSON.stringify(line)}`)
    assert.equal(st.queueDropped, 0)
    assert.ok(st.batchesOut < FRAMES / 10, 'frames are coalesced')
    assert.ok(line.framesPerSec > 5000, `too slow: ${line.framesPerSec} frames/s`)
  } finally {
    await c.stop()
  }
})
