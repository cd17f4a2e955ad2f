import { test } from 'node:test'
import assert from 'node:assert/strict'
import { CircuitBreaker } from '../../src/client/index.js'

test('breaker opens after the threshold, half-opens after resetMs, allows one trial', () => {
  let now = 0
  const b = new CircuitBreaker({ failureThreshold: 3, resetMs: 1000 }, () => now)
  assert.equal(b.state, 'closed')
  b.failure(); b.failure()
  assert.equal(b.state, 'closed')
  b.success()
  b.failure(); b.failure()
  assert.equal(b.state, 'closed', 'success resets the count')
  b.failure()
  assert.equal(b.state, 'open')
  assert.equal(b.tryAcquire(), false)
  now = 999
  assert.equal(b.tryAcquire(), false)
  now = 1000
  assert.equal(b.state, 'half-open')
  assert.equal(b.tryAcquire(), true)
  assert.equal(b.tryAcquire(), false, 'only one trial at a time')
  b.failure()
  assert.equal(b.state, 'open', 'a failed trial re-opens at once')
  now = 2000
  assert.equal(b.tryAcquire(), true)
  b.success()
  assert.equal(b.state, 'closed')
  assert.equal(b.tryAcquire(), true)
  assert.equal(b.tryAcquire(), true)
})
