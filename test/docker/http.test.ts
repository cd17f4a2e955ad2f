import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { requestJson } from '../../docker/chaos/http.js'

// The chaos checks read thousands of txs from one address; a node's rate limit answers some of
// them 429. Those must be waited out and retried, never taken as the answer ("lost").
test('chaos HTTP: a 429 is waited out as its retry-after says and the request sent again', async () => {
  let calls = 0
  const server = createServer((_req, res) => {
    calls++
    if (calls <= 2) {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' })
      res.end(JSON.stringify({ error: { code: 'ERR_RATE_LIMITED', message: 'slow down' } }))
      return
    }
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ height: 7 }))
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  try {
    const t0 = performance.now()
    const r = await requestJson<{ height: number }>(`http://127.0.0.1:${(server.address() as AddressInfo).port}/txs/ab`, { timeoutMs: 2000 })
    assert.equal(r.status, 200)
    assert.equal(r.body.height, 7)
    assert.equal(calls, 3)
    assert.ok(performance.now() - t0 >= 1900, 'waited the retry-after of both 429s')
  } finally {
    server.close()
  }
})
