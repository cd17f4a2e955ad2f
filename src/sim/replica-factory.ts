import { Replica } from '../consensus/replica.js'
import type { ReplicaFactory } from './replica-api.js'

/** The real PBFT replica: the simulator replaces only its edges. */
export const realReplica: ReplicaFactory = (config, crypto, options) => new Replica(config, crypto, options)
