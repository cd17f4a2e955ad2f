// CPU per request of the client's transports (node:http keep-alive vs fetch) against a plain
// node:http server in a child process, so only the client's work is counted.
// Run: npx tsc -p . && node dist/bench/transport.js [--requests 4000] [--concurrency 4] [--txs 6]
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fetchTransport, httpTransport, type Transport } from '../src/client/index.js'

const args = process.argv.slice(2)
function numArg (name: string, dflt: number): number {
  const i = args.indexOf(name)
  const v = i >= 0 ? Number(args[i + 1]) : dflt
  if (!Number.isInteger(v) || v < 1) {
    console.error(`${name} must be a positive integer; usage: node dist/bench/transport.js [--requests N] [--concurrency N] [--txs N]`)
    process.exit(2)
  }
  return v
}
const REQUESTS = numArg('--requests', 4000)
const CONCURRENCY = numArg('--concurrency', 4)
const TXS = numArg('--txs', 6)

// A body shaped like the bench's open-loop POST /txs/batch at 1,250 tx/s (~6 txs of ~170 bytes, hex),
// answered with per-tx results of the same shape as a node's.
const SERVER = `
const http = require('node:http')
const answer = JSON.stringify({ results: Array.from({ length: ${TXS} }, () => ({ txId: 'ab'.repeat(32), status: 'accepted', traceId: 't' })) })
const s = http.createServer((req, res) => { req.resume(); req.on('end', () => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(answer) }) })
s.listen(0, '127.0.0.1', () => process.stdout.write(String(s.address().port) + '\\n'))
`
const child = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] })
const [chunk] = await once(child.stdout, 'data') as [Buffer]
const url = `http://127.0.0.1:${chunk.toString().trim()}/txs/batch`
const body = JSON.stringify({ txs: Array.from({ length: TXS }, () => 'cd'.repeat(170)) })
const headers = { accept: 'application/json', 'content-type': 'application/json' }

async function measure (name: string, t: Transport): Promise<void> {
  const one = async (): Promise<void> => { const r = await t({ method: 'POST', url, headers, body, timeoutMs: 30_000 }); JSON.parse(r.text) }
  for (let i = 0; i < 500; i++) await one() // JIT and socket warm-up
  let started = 0
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => { while (started++ < REQUESTS) await one() }))
  const c = process.cpuUsage(cpu0)
  const wall = performance.now() - t0
  console.log(`${name.padEnd(10)} ${((c.user + c.system) / REQUESTS).toFixed(1).padStart(8)} us CPU/request ${(wall * 1000 / REQUESTS).toFixed(1).padStart(8)} us wall/request`)
}

try {
  console.log(`${REQUESTS} POSTs of ${TXS} hex txs, ${CONCURRENCY} in flight, node ${process.version}`)
  // Alternated twice: the first pass of each also pays for code the other already compiled.
  for (let k = 0; k < 2; k++) {
    await measure('node:http', httpTransport)
    await measure('fetch', fetchTransport(fetch))
  }
} finally {
  child.kill()
}
