import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ConsensusDriver, type DriverDeps, type ReplicaLike } from '../../src/node/driver.js'
import type { PersistRecord, ReplicaEffect, ReplicaEvent } from '../../src/consensus/types.js'
import { silentLogger } from '../../src/log.js'

/** What happened, in order: the driver's contract is about this order. */
type Log = string[]

function deferred (): { promise: Promise<void>, resolve: () => void } {
  let resolve!: () => void
  const promise = new Promise<void>(r => { resolve = r })
  return { promise, resolve }
}

/**
 * A replica stand-in: every message event asks to persist one record and then send one
 * message; an event of kind 'exec' asks to execute seq = its byte.
 */
function fakeReplica (log: Log): ReplicaLike {
  const effectsFor = (e: ReplicaEvent): ReplicaEffect[] => {
    if (e.type === 'message') {
      const n = e.bytes[0]!
      log.push(`step ${n}`)
      return [
        { type: 'persist', record: { kind: 'vote', bytes: Uint8Array.of(n), seq: n } },
        { type: 'send', to: 'all', bytes: Uint8Array.of(n) }
      ]
    }
    if (e.type === 'executed') { log.push(`executed ${e.seq}`); return [] }
    if (e.type === 'request') {
      const seq = e.request.id[0]!
      log.push(`step exec ${seq}`)
      return [{ type: 'execute', seq, view: 0, proposer: 0, timestamp: 0, requests: [] }]
    }
    return []
  }
  return { start: () => [], step: (e) => effectsFor(e) }
}

function deps (log: Log, replica: ReplicaLike, over: Partial<DriverDeps> = {}): DriverDeps {
  return {
    replica,
    now: () => 0,
    persist: async (records: PersistRecord[]) => { log.push(`persist ${records.map(r => r.bytes[0]).join(',')}`) },
    truncate: async () => {},
    send: (_to, bytes) => { log.push(`send ${bytes[0]!}`) },
    execute: async (e) => { log.push(`execute ${e.seq}`); return { blockHash: new Uint8Array(32), stateRoot: new Uint8Array(32) } },
    onCertified: async () => {},
    onNeedSync: () => {},
    onViewChangeStarted: () => {},
    onViewChanged: () => {},
    onRejected: () => {},
    logger: silentLogger,
    ...over
  }
}

const msg = (n: number): ReplicaEvent => ({ type: 'message', from: 1, bytes: Uint8Array.of(n) })

test('driver: events queued together share one WAL write, and nothing is sent before it is durable', async () => {
  const log: Log = []
  const disk = deferred()
  const d = new ConsensusDriver(deps(log, fakeReplica(log), {
    persist: async (records) => { log.push(`persist ${records.map(r => r.bytes[0]).join(',')}`); await disk.promise; log.push('durable') }
  }))
  d.push(msg(1)); d.push(msg(2)); d.push(msg(3))
  await new Promise(resolve => setImmediate(resolve))
  assert.deepEqual(log, ['step 1', 'step 2', 'step 3', 'persist 1,2,3'], 'one write for the group, no send yet')
  // Arrives while the group's write is in flight: next group.
  d.push(msg(4))
  disk.resolve()
  await d.idle()
  assert.deepEqual(log, ['step 1', 'step 2', 'step 3', 'persist 1,2,3', 'durable', 'send 1', 'send 2', 'send 3', 'step 4', 'persist 4', 'durable', 'send 4'])
})

test('driver: a block executes beside the queue; its executed event comes back through it', async () => {
  const log: Log = []
  const block = deferred()
  const d = new ConsensusDriver(deps(log, fakeReplica(log), {
    execute: async (e) => { log.push(`execute ${e.seq}`); await block.promise; log.push(`written ${e.seq}`); return { blockHash: new Uint8Array(32), stateRoot: new Uint8Array(32) } }
  }))
  d.push({ type: 'request', request: { id: Uint8Array.of(7), bytes: new Uint8Array() } })
  await new Promise(resolve => setImmediate(resolve))
  // Messages keep flowing while block 7 is being executed and written.
  d.push(msg(1))
  await new Promise(resolve => setImmediate(resolve))
  await new Promise(resolve => setImmediate(resolve))
  assert.deepEqual(log, ['step exec 7', 'execute 7', 'step 1', 'persist 1', 'send 1'])
  block.resolve()
  await d.idle()
  await d.idle()
  assert.deepEqual(log.slice(5), ['written 7', 'executed 7'])
})

test('driver: a failing WAL write stops the driver before anything of the group is sent', async () => {
  const log: Log = []
  const d = new ConsensusDriver(deps(log, fakeReplica(log), {
    persist: async () => { log.push('persist'); throw new Error('disk full') }
  }))
  d.push(msg(1)); d.push(msg(2))
  await d.idle()
  d.push(msg(3))
  await d.idle()
  assert.deepEqual(log, ['step 1', 'step 2', 'persist'])
})

/** fakeReplica, where a message with byte 9 also certifies seq 9. */
function certifyingReplica (log: Log): ReplicaLike {
  const base = fakeReplica(log)
  return {
    start: () => [],
    step: (e) => {
      const out = base.step(e, 0)
      if (e.type === 'message' && e.bytes[0] === 9) out.push({ type: 'certified', seq: 9, blockHash: new Uint8Array(32), stateRoot: new Uint8Array(32), signatures: [] })
      return out
    }
  }
}

test('driver: storing a certificate does not hold up the next votes; idle() waits for it', async () => {
  const log: Log = []
  const disk = deferred()
  const replica = certifyingReplica(log)
  let idle = false
  const d = new ConsensusDriver(deps(log, replica, {
    onCertified: async (e) => { log.push(`certify ${e.seq}`); await disk.promise; log.push(`certified ${e.seq}`) }
  }))
  d.push(msg(9))
  await new Promise(resolve => setImmediate(resolve))
  d.push(msg(1))
  await new Promise(resolve => setImmediate(resolve))
  await new Promise(resolve => setImmediate(resolve))
  assert.deepEqual(log, ['step 9', 'persist 9', 'send 9', 'certify 9', 'step 1', 'persist 1', 'send 1'], 'the next vote went out while the certificate was being stored')
  const waiting = d.idle().then(() => { idle = true })
  await new Promise(resolve => setImmediate(resolve))
  assert.equal(idle, false, 'idle() waits for the certificate')
  disk.resolve()
  await waiting
  assert.equal(log.at(-1), 'certified 9')
})

test('driver: a failing certificate write is logged and the driver keeps going', async () => {
  const log: Log = []
  const replica = certifyingReplica(log)
  const d = new ConsensusDriver(deps(log, replica, { onCertified: async () => { throw new Error('disk full') } }))
  d.push(msg(9))
  await d.idle()
  d.push(msg(2))
  await d.idle()
  assert.deepEqual(log, ['step 9', 'persist 9', 'send 9', 'step 2', 'persist 2', 'send 2'])
})

test('driver: WAL truncation runs beside the queue, failures are logged, idle() waits for it', async () => {
  const log: Log = []
  const disk = deferred()
  let calls = 0
  const replica: ReplicaLike = {
    start: () => [],
    step: (e) => {
      const out = fakeReplica(log).step(e, 0)
      if (e.type === 'message' && e.bytes[0]! >= 8) out.push({ type: 'truncateLog', belowSeq: e.bytes[0]! })
      return out
    }
  }
  const d = new ConsensusDriver(deps(log, replica, {
    truncate: async (below) => {
      calls++
      log.push(`truncate ${below}`)
      if (below === 8) throw new Error('disk full')
      await disk.promise
      log.push(`truncated ${below}`)
    }
  }))
  d.push(msg(8))
  await new Promise(resolve => setImmediate(resolve))
  d.push(msg(9))
  await new Promise(resolve => setImmediate(resolve))
  d.push(msg(1))
  await new Promise(resolve => setImmediate(resolve))
  await new Promise(resolve => setImmediate(resolve))
  assert.deepEqual(log, ['step 8', 'persist 8', 'send 8', 'truncate 8', 'step 9', 'persist 9', 'send 9', 'truncate 9', 'step 1', 'persist 1', 'send 1'])
  let idle = false
  const waiting = d.idle().then(() => { idle = true })
  await new Promise(resolve => setImmediate(resolve))
  assert.equal(idle, false)
  disk.resolve()
  await waiting
  assert.equal(calls, 2)
  assert.equal(log.at(-1), 'truncated 9')
})
