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
