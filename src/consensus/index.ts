export * from './types.js'
export * from './messages.js'
export { primaryOf } from './evidence.js'
export { Replica, type ReplicaOptions, type ReplicaStatus } from './replica.js'
