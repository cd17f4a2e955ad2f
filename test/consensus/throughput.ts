// Not a test: measures the replica state machine alone (4 replicas in one process, real
// ed25519 via node:crypto, zero-cost execution). Run: node dist/test/consensus/throughput.js [requests] [batch]
import '../../src/polyfill.js'
import { Cluster, request } from './harness.js'

const total = Number(process.argv[2] ?? 20_000)
const batch = Number(process.argv[3] ?? 100)
const c = new Cluster(4, { over: { maxBatchSize: batch, windowSize: 32, checkpointInterval: 16 } })
c.start()
// Time spent inside the replicas only (the in-test driver is not what is measured).
// CPU time, not wall time: the machine may be shared.
let stepUs = 0
for (const r of c.replicas) {
  const step = r.step.bind(r)
  r.step = (e, now) => {
    const t = process.cpuUsage()
    try { return step(e, now) } finally { const d = process.cpuUsage(t); stepUs += d.user + d.system }
  }
}
let executed = 0
const reqs = Array.from({ length: total }, (_, i) => request(i))
const t0 = performance.now()
const cpu0 = process.cpuUsage()
for (const r of reqs) c.submit(r)
const ok = c.run(() => {
  executed = c.executed[3]!.reduce((n, b) => n + b.ids.length, 0)
  return executed === total
}, 10_000_000)
const ms = performance.now() - t0
const cpu = process.cpuUsage(cpu0)
const blocks = c.executed[0]!.length
console.log(JSON.stringify({
  ok, requests: total, maxBatchSize: batch, blocks,
  wallMs: Math.round(ms), cpuMs: Math.round((cpu.user + cpu.system) / 1000),
  requestsPerSecWall: Math.round(total / (ms / 1000)),
  replicaCpuMs: Math.round(stepUs / 1000),
  replicaCpuUsPerBlockPerReplica: Math.round(stepUs / blocks / 4),
  requestsPerCpuSecondPerReplica: Math.round(total / (stepUs / 4 / 1e6))
}))
