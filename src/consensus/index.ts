export * from './types.js'
export * from './messages.js'
export { Replica, type ReplicaOptions, type ReplicaStatus } from './replica.js'
