import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { batchDigest, openMessage, signMessage } from '../../src/consensus/messages.js'
import { Cluster, assertNoInternal, cryptoFor, rejections, request } from './harness.js'

function agree (c: Cluster, replicas: number[]): void {
  const longest = replicas.map(i => c.executed[i]!).sort((a, b) => b.length - a.length)[0]!
  for (const i of replicas) {
    c.executed[i]!.forEach((e, k) => assert.ok(Buffer.from(e.blockHash).equals(Buffer.from(longest[k]!.blockHash)), `replica ${i} agrees at seq ${e.seq}`))
  }
}

test('an equivocating primary (different batch to one backup) cannot split the honest replicas', () => {
  for (const victims of [[3], [2, 3]]) {
    const c = new Cluster(4)
    const k0 = cryptoFor(c.keys[0]!)
    // Replica 0 sends victims a different, validly signed pre-prepare for the same (view, seq).
    c.transform = (from, to, bytes) => {
      if (from !== 0 || !victims.includes(to)) return bytes
      const o = openMessage(bytes, c.configs[to]!, k0)
      if (!('body' in o) || o.body.kind !== 'pre-prepare') return bytes
      const p = o.body.payload
      const requests = [request(10_000 + p.seq)]
      const digest = batchDigest(k0, p.timestamp, p.originView, p.proposer, requests.map(r => r.id))
      return signMessage({ ...o.body, payload: { ...p, requests, digest } }, k0)
    }
    c.start()
    for (let i = 0; i < 8; i++) c.submit(request(i), [0, 1, 2, 3])
    c.run(() => [1, 2, 3].every(i => new Set(c.executed[i]!.flatMap(e => e.ids)).size >= 8), 60_000)
    assertNoInternal(c)
    agree(c, [1, 2, 3])
    assert.ok([1, 2, 3].every(i => new Set(c.executed[i]!.flatMap(e => e.ids).filter(id => id.length > 0)).size >= 8), `victims ${victims.join(',')}: progress`)
    // Some honest replica saw the equivocation (conflicting prepares or pre-prepares) or the view changed.
    const saw = [1, 2, 3].some(i => rejections(c, i).some(r => r.startsWith('equivocation')) || c.replicas[i]!.view > 0)
    assert.ok(saw || victims.length === 1)
  }
})
