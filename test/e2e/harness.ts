import '../../src/polyfill.js'
import { spawn, type ChildProcess } from 'node:child_process'
import { openSync, closeSync, readFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createTestnet, readKeyFile, type KeyFile, type TestnetResult } from '../../src/node/index.js'
import type { ChainParams } from '../../src/ledger/genesis.js'
import type { NodeConfig } from '../../src/node/config.js'
import { createTx, TX_ID_TAG } from '../../src/state/index.js'
import { taggedHash } from '../../src/crypto/index.js'
import * as ed from '@noble/ed25519'
import { sha512 } from '@noble/hashes/sha2.js'
import { decode, encode, fromHex, toHex } from '../../src/codec/index.js'
import type { StatusView } from '../../src/node/service.js'

export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url))

export interface ProcNetOptions {
  validators: number
  basePort: number
  params?: Partial<ChainParams>
  storage?: NonNullable<NodeConfig['storage']>
  /** Extra environment for validator i's process (verifier, allocator, ...). */
  env?: (i: number) => Record<string, string>
}

/**
 * A testnet of real validator processes on 127.0.0.1 (the same `bft-ledger start --home`
 * operators run), with helpers to kill, stop, continue and restart them and to drive load.
 */
export class ProcNet {
  readonly dir: string
  readonly net: TestnetResult
  readonly procs: Array<ChildProcess | null>
  private readonly nonces = new Map<string, number>()
  chainId = ''

  private constructor (dir: string, net: TestnetResult, private readonly env: (i: number) => Record<string, string>) {
    this.dir = dir
    this.net = net
    this.procs = net.homes.map(() => null)
  }

  static async create (opts: ProcNetOptions): Promise<ProcNet> {
    const dir = mkdtempSync(join(tmpdir(), 'bft-e2e-'))
    const net = await createTestnet({ validators: opts.validators, outDir: dir, basePort: opts.basePort, compose: false, params: { viewChangeTimeoutMs: 1000, ...opts.params }, ...(opts.storage === undefined ? {} : { storage: opts.storage }) })
    const p = new ProcNet(dir, net, opts.env ?? (() => ({})))
    p.chainId = (JSON.parse(readFileSync(net.genesisPath, 'utf8')) as { chainId: string }).chainId
    return p
  }

  get n (): number { return this.net.homes.length }
  url (i: number): string { return this.net.apiUrls[i]! }
  log (i: number): string { return join(this.net.homes[i]!, 'node.log') }

  start (i: number): void {
    const fd = openSync(this.log(i), 'a')
    const child = spawn(process.execPath, [CLI, 'start', '--home', this.net.homes[i]!], { stdio: ['ignore', fd, fd], env: { ...process.env, LOG_LEVEL: 'info', ...this.env(i) } })
    closeSync(fd)
    this.procs[i] = child
  }

  async startAll (): Promise<void> {
    for (let i = 0; i < this.n; i++) this.start(i)
    await Promise.all(this.net.apiUrls.map(async (_, i) => await this.waitUp(i)))
  }

  async waitUp (i: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      const c = this.procs[i]
      if (c !== null && c !== undefined && c.exitCode !== null) throw new Error(`validator ${i} exited with ${c.exitCode}:\n${this.tail(i)}`)
      try {
        const r = await fetch(`${this.url(i)}/health`, { signal: AbortSignal.timeout(1000) })
        if (r.status === 200 || r.status === 503) return
      } catch { /* not up */ }
      await sleep(200)
    }
    throw new Error(`validator ${i} not up after ${timeoutMs} ms:\n${this.tail(i)}`)
  }

  tail (i: number, lines = 30): string {
    try { return readFileSync(this.log(i), 'utf8').split('\n').slice(-lines).join('\n') } catch { return '(no log)' }
  }

  async kill (i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const c = this.procs[i]
    if (c === null || c === undefined || c.exitCode !== null || c.signalCode !== null) return
    const exited = new Promise<void>(res => c.once('exit', () => res()))
    c.kill(signal)
    await exited
    this.procs[i] = null
  }

  signal (i: number, signal: NodeJS.Signals): void {
    this.procs[i]?.kill(signal)
  }

  async status (i: number): Promise<StatusView> {
    const r = await fetch(`${this.url(i)}/status`, { signal: AbortSignal.timeout(3000) })
    if (!r.ok) throw new Error(`status ${i}: HTTP ${r.status}`)
    return await r.json() as StatusView
  }

  async heights (which: number[]): Promise<number[]> {
    return await Promise.all(which.map(async i => { try { return (await this.status(i)).height } catch { return -1 } }))
  }

  async key (name: string): Promise<KeyFile> {
    return await readKeyFile(this.net.userKeys[name]!)
  }

  /** Signs a transfer from `from` with its next local nonce. */
  async transferTx (from: string, toAddress: string, amount: number): Promise<Uint8Array> {
    const k = await this.key(from)
    const nonce = this.nonces.get(from) ?? 0
    this.nonces.set(from, nonce + 1)
    return createTx({ chainId: this.chainId, sender: k.publicKey, nonce, contract: 'bank', method: 'transfer', args: { to: toAddress, amount } }, k.secretKey)
  }

  async submit (i: number, tx: Uint8Array, wait = false, timeoutMs = 10_000): Promise<{ status: number, body: { txId?: string, status?: string, height?: number, error?: { code: string, message: string } } }> {
    const r = await fetch(`${this.url(i)}/txs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tx: toHex(tx), wait, timeoutMs }),
      signal: AbortSignal.timeout(timeoutMs + 5000)
    })
    return { status: r.status, body: await r.json() as { txId?: string, status?: string } }
  }

  async txOn (i: number, txId: string): Promise<{ height: number, status: string } | null> {
    const r = await fetch(`${this.url(i)}/txs/${txId}`, { signal: AbortSignal.timeout(3000) })
    if (r.status === 404) return null
    return await r.json() as { height: number, status: string }
  }

  /** Polls until pred holds; throws with the last observation after timeoutMs. */
  async waitFor<T> (what: string, probe: () => Promise<T>, pred: (v: T) => boolean, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs
    let last: T | undefined
    while (Date.now() < deadline) {
      try {
        last = await probe()
        if (pred(last)) return last
      } catch { /* transient */ }
      await sleep(250)
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(last)}`)
  }

  /** Waits until the given nodes report the same height >= minHeight, same head hash and state root. */
  async converge (which: number[], minHeight: number, timeoutMs: number): Promise<StatusView[]> {
    return await this.waitFor(`nodes ${which.join(',')} to converge at >= ${minHeight}`,
      async () => await Promise.all(which.map(async i => await this.status(i))),
      ss => ss.every(s => s.height >= minHeight && s.height === ss[0]!.height && s.headHash === ss[0]!.headHash && s.stateRoot === ss[0]!.stateRoot),
      timeoutMs)
  }

  async close (): Promise<void> {
    for (let i = 0; i < this.n; i++) {
      this.signal(i, 'SIGCONT')
      await this.kill(i, 'SIGTERM')
    }
    if (process.env.KEEP_E2E === undefined) rmSync(this.dir, { recursive: true, force: true })
  }
}

/** A copy of signed tx bytes with one signature byte flipped: same body and id, bad signature. */
export function forgeSignature (tx: Uint8Array): Uint8Array {
  const wire = decode(tx) as { body: Uint8Array, sig: Uint8Array }
  const sig = Uint8Array.from(wire.sig)
  sig[5]! ^= 0xff
  return encode({ body: wire.body, sig })
}

/**
 * The same tx signed again by the holder of `secretKey` with R = [r]B + T, T a point of order 8
 * (S = r + k*a): valid under the node's rule, whose equation is cofactored, and refused by the
 * cofactorless equation libsodium and OpenSSL check first (docs/crypto.md). Deterministic.
 */
export function torsionSignature (tx: Uint8Array, secretKey: Uint8Array): Uint8Array {
  const wire = decode(tx) as { body: Uint8Array, sig: Uint8Array }
  const { Point } = ed
  const L = Point.CURVE().n
  const le = (b: Uint8Array): bigint => { let x = 0n; for (let i = b.length - 1; i >= 0; i--) x = (x << 8n) | BigInt(b[i]!); return x }
  const le32 = (x: bigint): Uint8Array => { const o = new Uint8Array(32); for (let i = 0; i < 32; i++) { o[i] = Number(x & 0xffn); x >>= 8n } return o }
  const { scalar: a, pointBytes: A } = ed.utils.getExtendedPublicKey(secretKey)
  const T8 = Point.fromBytes(fromHex('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a'))
  const r = le(sha512(Uint8Array.from([...secretKey, ...wire.body]))) % L
  const R = Point.BASE.multiply(r).add(T8).toBytes()
  const k = le(sha512(Uint8Array.from([...R, ...A, ...taggedHash(TX_ID_TAG, wire.body)]))) % L
  return encode({ body: wire.body, sig: Uint8Array.from([...R, ...le32((r + k * a) % L)]) })
}

export async function sleep (ms: number): Promise<void> {
  await new Promise(res => setTimeout(res, ms))
}

/**
 * Ports per test file so files running concurrently never collide: 20000–31999, below Linux's
 * ephemeral range (32768–60999). A listen port inside that range can be held by any outgoing
 * connection of the moment, and a validator that cannot bind its port exits at start.
 */
export function basePortFor (name: string): number {
  let h = 0
  for (const c of name) h = (h * 31 + c.charCodeAt(0)) >>> 0
  return 20000 + (h % 120) * 100
}
