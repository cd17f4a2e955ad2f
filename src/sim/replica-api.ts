import type { ClientRequest, ConsensusCrypto, PersistRecord, ReplicaConfig, ReplicaEffect, ReplicaEvent } from '../consensus/types.js'

/** Deliberately broken replica variants the simulator must catch. */
export type ReplicaBug = 'weak-quorum' | 'commit-without-prepare' | 'drop-prepared-in-view-change'
export const REPLICA_BUGS: readonly ReplicaBug[] = ['weak-quorum', 'commit-without-prepare', 'drop-prepared-in-view-change']

export interface ReplicaOptions {
  isValidRequest?: (request: ClientRequest) => boolean
  restore?: { records: PersistRecord[], lastExecuted: { seq: number, blockHash: Uint8Array, stateRoot: Uint8Array } }
  bug?: ReplicaBug
}

/** What the simulator needs of a replica: the pure state machine of src/consensus/types.ts. */
export interface SimReplica {
  start: (now: number) => ReplicaEffect[]
  step: (event: ReplicaEvent, now: number) => ReplicaEffect[]
  readonly view: number
}

export type ReplicaFactory = (config: ReplicaConfig, crypto: ConsensusCrypto, options: ReplicaOptions) => SimReplica
