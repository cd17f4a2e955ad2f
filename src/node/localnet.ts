import { spawn, type ChildProcess } from 'node:child_process'
import { openSync, closeSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createTestnet, portsOf } from './testnet.js'
import { exists } from './home.js'
import { stopChild } from './child.js'
import { errorMessage } from '../errors.js'
import { validatorMallocEnv } from './allocator.js'

const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url))

export interface LocalnetOptions {
  dataDir: string
  validators: number
  basePort: number
  onStatus?: (line: string) => void
  /** Extra environment for the validator processes. */
  env?: Record<string, string>
}

export interface Localnet {
  apiUrls: string[]
  homes: string[]
  userKeys: Record<string, string>
  children: ChildProcess[]
  stop: () => Promise<void>
}

async function waitHealthy (url: string, timeoutMs: number, child: ChildProcess, logPath: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`validator exited with code ${child.exitCode} before becoming healthy; see ${logPath}`)
    try {
      const r = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) })
      if (r.status === 200 || r.status === 503) return
    } catch { /* not up yet */ }
    await new Promise(res => setTimeout(res, 200))
  }
  throw new Error(`validator at ${url} did not answer /health within ${timeoutMs} ms; see ${logPath}`)
}

/**
 * `npm start`: creates (once) an N-validator network under dataDir and runs each validator as
 * its own process (the same `bft-ledger start --home` an operator runs), so a crash of one
 * is a crash of one. Logs go to dataDir/validator-i/node.log.
 */
export async function runLocalnet (opts: LocalnetOptions): Promise<Localnet> {
  const dataDir = resolve(opts.dataDir)
  const n = opts.validators
  if (!(await exists(join(dataDir, 'genesis.json')))) {
    await createTestnet({ validators: n, outDir: dataDir, basePort: opts.basePort, compose: false })
  }
  const homes = Array.from({ length: n }, (_, i) => join(dataDir, `validator-${i}`))
  for (const h of homes) {
    if (!(await exists(join(h, 'config.json')))) throw new Error(`${h} is missing; ${dataDir} was made for a different number of validators (remove it to start afresh)`)
  }
  // Before anything is spawned: a bad BFT_LEDGER_MALLOC is a ConfigError, not a half-started net.
  const mallocEnv = validatorMallocEnv()
  const children: ChildProcess[] = []
  const apiUrls = homes.map((_, i) => `http://127.0.0.1:${portsOf(opts.basePort, i).api}`)
  const logs = homes.map(h => join(h, 'node.log'))
  for (let i = 0; i < n; i++) {
    const fd = openSync(logs[i]!, 'a')
    const child = spawn(process.execPath, [CLI, 'start', '--home', homes[i]!], {
      stdio: ['ignore', fd, fd],
      env: { ...process.env, ...mallocEnv, ...opts.env }
    })
    closeSync(fd)
    children.push(child)
  }
  const userKeys: Record<string, string> = {}
  for (const u of ['alice', 'bob', 'carol', 'dave']) {
    const p = join(dataDir, 'keys', `${u}.json`)
    if (await exists(p)) userKeys[u] = p
  }
  const stop = async (): Promise<void> => {
    await Promise.all(children.map(async c => await stopChild(c, 10_000)))
  }
  try {
    await Promise.all(apiUrls.map(async (u, i) => await waitHealthy(u, 60_000, children[i]!, logs[i]!)))
  } catch (err) {
    await stop()
    throw err
  }
  let timer: NodeJS.Timeout | undefined
  let stopping = false
  if (opts.onStatus !== undefined) {
    const onStatus = opts.onStatus
    let last: { t: number, txs: number } | undefined
    timer = setInterval(() => {
      void statusLine(apiUrls[0]!, last)
        .then(r => { if (!stopping) { last = r.sample; onStatus(r.line) } })
        .catch(err => { if (!stopping) onStatus(`status unavailable: ${errorMessage(err)}`) })
    }, 1000)
    timer.unref()
  }
  return {
    apiUrls,
    homes,
    userKeys,
    children,
    stop: async () => { stopping = true; if (timer !== undefined) clearInterval(timer); await stop() }
  }
}

async function statusLine (url: string, last?: { t: number, txs: number }): Promise<{ line: string, sample: { t: number, txs: number } }> {
  const s = await (await fetch(`${url}/status`, { signal: AbortSignal.timeout(2000) })).json() as { height: number, view: number, primary: number, peers: unknown[] }
  const m = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(2000) })).text()
  let txs = 0
  for (const line of m.split('\n')) if (line.startsWith('bft_committed_txs_total')) txs += Number(line.split(' ').pop())
  const t = Date.now()
  const rate = last === undefined ? 0 : (txs - last.txs) / ((t - last.t) / 1000)
  return { line: `height ${s.height}  tx/s ${rate.toFixed(0)}  view ${s.view} (primary ${s.primary})  peers ${s.peers.length}`, sample: { t, txs } }
}
