import { decode, encode } from '../../src/codec/index.js'
import type { ClientRequest, ReplicaConfig, ReplicaEffect, ReplicaEvent } from '../../src/consensus/types.js'
import type { ReplicaFactory, SimReplica } from '../../src/sim/replica-api.js'

/**
 * A deliberately naive replica for testing the simulator itself, independent of the real
 * one: replica 0 orders requests and everyone executes what it says. Correct on a reliable
 * network with an honest primary; anything else breaks it, which is the point.
 */
class ToyReplica implements SimReplica {
  readonly view = 0
  private readonly pending: ClientRequest[] = []
  private readonly seen = new Set<string>()
  private readonly buffered = new Map<number, { timestamp: number, requests: ClientRequest[] }>()
  private nextSeq = 1
  private nextExec = 1
  private batching = false

  constructor (private readonly config: ReplicaConfig) {}

  start (): ReplicaEffect[] { return [] }

  step (event: ReplicaEvent, now: number): ReplicaEffect[] {
    const out: ReplicaEffect[] = []
    if (event.type === 'request' && this.config.self === 0) {
      const id = Buffer.from(event.request.id).toString('hex')
      if (this.seen.has(id)) return out
      this.seen.add(id)
      this.pending.push(event.request)
      if (!this.batching) { this.batching = true; out.push({ type: 'setTimer', id: 'batch', delayMs: this.config.batchTimeoutMs }) }
    } else if (event.type === 'timer' && event.id === 'batch') {
      this.batching = false
      const requests = this.pending.splice(0, this.config.maxBatchSize)
      const seq = this.nextSeq++
      out.push({ type: 'send', to: 'all', bytes: encode(['order', seq, now, requests.map(r => [r.id, r.bytes])]) })
      this.buffered.set(seq, { timestamp: now, requests })
      if (this.pending.length > 0) { this.batching = true; out.push({ type: 'setTimer', id: 'batch', delayMs: this.config.batchTimeoutMs }) }
    } else if (event.type === 'message' && event.from === 0) {
      try {
        const [, seq, timestamp, reqs] = decode(event.bytes) as [string, number, number, Array<[Uint8Array, Uint8Array]>]
        this.buffered.set(seq, { timestamp, requests: reqs.map(([id, bytes]) => ({ id, bytes })) })
      } catch { return out }
    }
    for (let b = this.buffered.get(this.nextExec); b !== undefined; b = this.buffered.get(this.nextExec)) {
      this.buffered.delete(this.nextExec)
      out.push({ type: 'execute', seq: this.nextExec, view: 0, proposer: 0, timestamp: b.timestamp, requests: b.requests })
      this.nextExec++
    }
    return out
  }
}

export const toyReplica: ReplicaFactory = (config) => new ToyReplica(config)
