import type { ClientRequest, ConsensusCrypto, PersistRecord, ReplicaConfig, ReplicaEffect, ReplicaEvent, ReplicaId } from './types.js'

export interface ReplicaOptions {
  /** Pure predicate: is this request acceptable (signature valid, decodes)? Backups refuse pre-prepares with invalid requests. Default: all valid. */
  isValidRequest?: (r: ClientRequest) => boolean
  /** Recovery: the records this replica persisted before a crash (in order) and the last block the driver executed durably. */
  restore?: { records: PersistRecord[], lastExecuted: { seq: number, blockHash: Uint8Array, stateRoot: Uint8Array } }
  /** TEST-ONLY deliberately broken variants so the simulator can prove it catches bugs. */
  bug?: 'weak-quorum' | 'commit-without-prepare' | 'drop-prepared-in-view-change'
}

export interface ReplicaStatus {
  view: number
  primary: number
  lastExecuted: number
  lowWatermark: number
  inViewChange: boolean
  pendingRequests: number
}

/** Skeleton: the full state machine lands in the next commits; the signature is final. */
export class Replica {
  private readonly config: ReplicaConfig
  private readonly crypto: ConsensusCrypto
  private readonly options: ReplicaOptions
  private _view = 0
  private _lastExecuted = 0
  private _low = 0

  constructor (config: ReplicaConfig, crypto: ConsensusCrypto, options: ReplicaOptions = {}) {
    this.config = config
    this.crypto = crypto
    this.options = options
  }

  start (_now: number): ReplicaEffect[] { return [] }
  step (_event: ReplicaEvent, _now: number): ReplicaEffect[] { return [] }
  get view (): number { return this._view }
  get primary (): ReplicaId { return this._view % this.config.validators.length }
  get lastExecuted (): number { return this._lastExecuted }
  get lowWatermark (): number { return this._low }
  status (): ReplicaStatus {
    return { view: this.view, primary: this.primary, lastExecuted: this.lastExecuted, lowWatermark: this.lowWatermark, inViewChange: false, pendingRequests: 0 }
  }
}
