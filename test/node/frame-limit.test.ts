import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { encode } from '../../src/codec/index.js'
import { sha256 } from '../../src/crypto/index.js'
import { openMessage } from '../../src/consensus/messages.js'
import type { ClientRequest } from '../../src/consensus/types.js'
import { consensusFrameBytes } from '../../src/node/node.js'
import { Cluster, cryptoFor } from '../consensus/harness.js'

/** A request of `size` bytes, so batches reach maxBatchBytes with maxBatchSize requests. */
function bigRequest (i: number, size: number): ClientRequest {
  const bytes = encode(['tx', i, new Uint8Array(size)])
  return { id: sha256(bytes), bytes }
}

test('the largest VIEW-CHANGE and NEW-VIEW honest replicas send fit the frame limit derived from genesis', () => {
  // Full batches fill the whole window, none commits, so the view change carries all of them.
  const params = { maxBatchSize: 256, maxBatchBytes: 512 * 1024, checkpointInterval: 4, windowSize: 8 }
  const c = new Cluster(4, { over: { ...params, batchTimeoutMs: 5, viewChangeTimeoutMs: 500 } })
  c.filter = (_from, to, bytes) => {
    const o = openMessage(bytes, c.configs[to]!, cryptoFor(c.keys[to]!))
    return !('body' in o) || o.body.kind !== 'commit' || o.body.payload.view !== 0
  }
  c.start()
  const requests = params.maxBatchSize * params.windowSize
  for (let i = 0; i < requests; i++) c.submit(bigRequest(i, 2000))
  assert.equal(c.run(() => c.replicas.every(r => r.view >= 1 && !r.status().inViewChange), 120_000), true, 'the view change completed')

  const largest = { 'view-change': 0, 'new-view': 0 }
  for (let i = 0; i < 4; i++) {
    for (const e of c.allEffects(i)) {
      if (e.type !== 'send') continue
      const o = openMessage(e.bytes, c.configs[0]!, cryptoFor(c.keys[0]!))
      if (!('body' in o)) continue
      const kind = o.body.kind
      if (kind === 'view-change' || kind === 'new-view') largest[kind] = Math.max(largest[kind], e.bytes.length)
    }
  }
  const limit = consensusFrameBytes(4, params)
  console.log(`largest VIEW-CHANGE ${largest['view-change']} B, NEW-VIEW ${largest['new-view']} B, limit ${limit} B`)
  // The p2p layer adds a batch byte and a varint length (< 16 bytes) to a frame.
  assert.ok(largest['new-view'] + 16 <= limit, 'a NEW-VIEW would be dropped by the p2p frame limit')
  assert.ok(largest['view-change'] + 16 <= limit, 'a VIEW-CHANGE would be dropped by the p2p frame limit')
  // The bound is not vacuous: these messages are that large, and larger than the old fixed 4 MiB.
  assert.ok(largest['new-view'] > limit / 2, `NEW-VIEW of ${largest['new-view']} B is far below the limit ${limit} B: the scenario did not fill the window`)
  assert.ok(largest['new-view'] > 4 * 1024 * 1024)
})
