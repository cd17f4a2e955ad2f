import { test } from 'node:test'
import assert from 'node:assert/strict'
import { toHex } from '../../src/codec/index.js'
import { RequestPool } from '../../src/consensus/requests.js'
import type { ClientRequest } from '../../src/consensus/types.js'

const req = (n: number): ClientRequest => ({ id: Uint8Array.of(n), bytes: Uint8Array.of(n, n) })
const ids = (rs: ClientRequest[]): number[] => rs.map(r => r.id[0]!)

test('a request handed over again while its batch is live is pending but never proposed twice', () => {
  const pool = new RequestPool(100)
  for (const n of [1, 2, 3]) assert.ok(pool.add(req(n)))
  assert.deepEqual(ids(pool.takeBatch(2, 1 << 20)), [1, 2])
  // A sync: the pool forgets what was pending; batch [1, 2] is still live above the synced height.
  pool.clearPending(new Set([toHex(req(1).id), toHex(req(2).id)]))
  // The node hands its whole mempool over again.
  for (const n of [1, 2, 3]) assert.ok(pool.add(req(n)))
  assert.equal(pool.pendingCount, 3)
  assert.deepEqual(ids(pool.takeBatch(10, 1 << 20)), [3])
  // Once its batch executes, a request is neither live nor pending, and a resubmission is refused.
  pool.markExecuted(5, [req(1).id, req(2).id])
  assert.equal(pool.add(req(1)), false)
  assert.equal(pool.pendingCount, 1)
})

test('own proposals count as live until a view change recomputes the live set', () => {
  const pool = new RequestPool(100)
  pool.add(req(1))
  assert.deepEqual(ids(pool.takeBatch(10, 1 << 20)), [1])
  pool.clearPending(new Set([toHex(req(1).id)]))
  pool.add(req(1))
  assert.equal(pool.unproposedCount, 0)
  // The new view did not re-issue the batch: its request may be proposed again.
  pool.resetUnproposed(new Set())
  assert.deepEqual(ids(pool.takeBatch(10, 1 << 20)), [1])
})
