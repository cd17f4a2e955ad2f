import { test } from 'node:test'
import assert from 'node:assert/strict'
import { openMessage, signMessage, type MessageBody } from '../../src/consensus/messages.js'
import type { ReplicaConfig } from '../../src/consensus/types.js'
import { createCryptoSuite } from '../../src/sim/crypto.js'
import { createMessageTools } from '../../src/sim/message-tools.js'

const suite = createCryptoSuite('sim', 3, 4)
const config: ReplicaConfig = {
  chainId: 'sim-test', validators: suite.validators, self: 0, maxBatchSize: 4, maxBatchBytes: 1 << 16,
  batchTimeoutMs: 5, checkpointInterval: 4, windowSize: 16, viewChangeTimeoutMs: 300, maxClockSkewMs: 1000
}
const tools = createMessageTools(config, suite.forReplica(0))
const vote: MessageBody = { chainId: 'sim-test', from: 1, kind: 'prepare', payload: { view: 2, seq: 5, digest: new Uint8Array(32).fill(7) } }

test('byzantine tools: a replica cannot sign in another replica\'s name', () => {
  const honest = signMessage(vote, suite.forReplica(1))
  const opened = tools.open(honest)
  assert.equal(opened?.sender, 1)
  const forged = tools.seal({ ...vote, from: 1 }, suite.forReplica(3))
  assert.equal(tools.open(forged), null)
  const o = openMessage(forged, config, suite.forReplica(0))
  assert.ok('error' in o && /bad signature/.test(o.error))
  const garbage = tools.withSignature(honest, new Uint8Array(64).fill(1))!
  assert.equal(tools.open(garbage), null)
})

test('byzantine tools: own messages re-signed with a bumped view still open', () => {
  const own: MessageBody = { ...vote, from: 3 }
  const moved = tools.seal(tools.bumpView(own, 10), suite.forReplica(3))
  const o = tools.open(moved)
  assert.ok(o !== null && o.body.kind === 'prepare' && o.body.payload.view === 12)
})
