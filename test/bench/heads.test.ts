import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { checkHeads } from '../../bench/step.js'
import { headsVerdict } from '../../bench/report.js'

const consensus = { view: 0, primary: 0, lastExecuted: 0, lowWatermark: 0, inViewChange: false, pendingRequests: 0, targetView: 0, decided: 0, executing: null, nextSeq: 1 }

/** A fake node: /status at the height `height()` returns, /blocks/h with hash `h<h>` (or `fork` above `forkFrom`). */
async function fakeNode (height: () => number, forkFrom = Number.POSITIVE_INFINITY): Promise<{ url: string, server: Server }> {
  const hashAt = (h: number): string => h >= forkFrom ? `fork${h}` : `h${h}`
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json')
    const m = /^\/blocks\/(\d+)$/.exec(req.url ?? '')
    if (m !== null) { res.end(JSON.stringify({ height: Number(m[1]), hash: hashAt(Number(m[1])) })); return }
    const h = height()
    res.end(JSON.stringify({ height: h, headHash: hashAt(h), stateRoot: `r${h}`, consensus: { ...consensus, lastExecuted: h }, peers: [] }))
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server }
}

async function withNodes (nodes: Array<{ height: () => number, forkFrom?: number }>, fn: (urls: string[]) => Promise<void>): Promise<void> {
  const started = await Promise.all(nodes.map(async n => await fakeNode(n.height, n.forkFrom)))
  try { await fn(started.map(s => s.url)) } finally { for (const s of started) s.server.close() }
}

test('heads: a lagging node that keeps catching up past the first timeout gets more time, and the wait is reported', async () => {
  const t0 = Date.now()
  // Reaches 10 about 900 ms in, long after the 200 ms timeout, rising all the way.
  const lagging = (): number => Math.min(10, 5 + Math.floor((Date.now() - t0) / 180))
  await withNodes([{ height: () => 10 }, { height: lagging }], async urls => {
    const h = await checkHeads(urls, 200, 5000, 200)
    assert.equal(h.agreed, true, JSON.stringify(h))
    assert.ok(h.waitedS! >= 0.5, `waited ${h.waitedS} s`)
    assert.match(headsVerdict({ ...h, waitedS: 42 }), /^AGREE after 42 s$/)
  })
})

test('heads: a node stuck behind on the same chain is lagging; one whose block at its height differs is forked', async () => {
  await withNodes([{ height: () => 10 }, { height: () => 8 }, { height: () => 8, forkFrom: 8 }], async urls => {
    const h = await checkHeads(urls, 200, 1000, 200)
    assert.equal(h.agreed, false)
    assert.deepEqual(h.heights, [10, 8, 8])
    assert.deepEqual(h.forked, [2])
    assert.equal(h.nodes?.length, 3)
    assert.match(headsVerdict(h), /^DISAGREE \(FORKED: node 2\)$/)
    assert.match(headsVerdict({ ...h, waitedS: 120 }), /^DISAGREE after 120 s \(FORKED/)
    assert.match(headsVerdict({ ...h, forked: [] }), /lagging nodes on the same chain/)
  })
})
