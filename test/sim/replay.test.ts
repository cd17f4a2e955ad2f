import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { runSeed } from '../../src/sim/run.js'
import { describeFailures, runRange } from './helpers.js'

test('replay determinism: the same seed gives the same trace hash, other seeds differ', async () => {
  for (const [seed, n] of [[7, 4], [12345, 7], [2 ** 40 + 3, 4]] as const) {
    const a = await runSeed(seed, { validators: n })
    const b = await runSeed(seed, { validators: n })
    assert.equal(a.traceHash, b.traceHash, `seed ${seed} n=${n} replayed differently`)
    assert.deepEqual(a.stats, b.stats)
    assert.equal(a.ok, b.ok)
    assert.notEqual(a.traceHash, (await runSeed(seed + 1, { validators: n })).traceHash)
    console.log(`[sim] seed ${seed} n=${n}: trace ${a.traceHash.slice(0, 16)} (${a.stats.events} events) replayed identically`)
  }
})

test('a handful of seeds with real ed25519 signatures', async () => {
  const r4 = await runRange('real-crypto n=4', 1, 5, { validators: 4, crypto: 'real' })
  assert.equal(r4.failures.length, 0, describeFailures(r4.failures))
  const r7 = await runRange('real-crypto n=7', 1, 2, { validators: 7, crypto: 'real' })
  assert.equal(r7.failures.length, 0, describeFailures(r7.failures))
})
