import { toHex } from '../codec/hex.js'
import { BftError, errorMessage } from '../errors.js'
import type { BlockView, ReceiptView, StateView, StatusView, SubmitResult } from '../node/service.js'
import type { AccountView } from '../api/accounts.js'
import { CircuitBreaker, type BreakerOptions, type BreakerState } from './breaker.js'
import { ApiError, NodeUnavailableError } from './errors.js'
import { fetchTransport, httpTransport, TransportTimeout, type Transport, type TransportResponse } from './transport.js'

export interface BftClientOptions {
  /** Base URLs of nodes, e.g. http://127.0.0.1:26657. */
  nodes: string[]
  /** Per-request timeout (default 5000). A submit with wait adds its own wait time. */
  timeoutMs?: number
  /** Extra attempts on other nodes after a node failure (default nodes.length - 1, at least 1). */
  retries?: number
  breaker?: Partial<BreakerOptions>
  /** Injected for tests. */
  now?: () => number
  /** Send requests through this fetch instead of node:http (tests; runtimes without node:http). */
  fetch?: typeof fetch
  /** Send requests through this transport (wins over `fetch`). */
  transport?: Transport
  /**
   * How long one call may spend waiting out 429 answers (ms, default 5000). The node refuses a
   * rate-limited request before it reads the body, so sending it again is safe, even a submit.
   * 0: a 429 is thrown at once (ApiError ERR_RATE_LIMITED, with `retryAfterMs`).
   */
  rateLimitWaitMs?: number
  /** Injected for tests: how the client waits (default setTimeout). */
  sleep?: (ms: number) => Promise<void>
}

export interface SubmitOptions {
  /** Wait until the tx is committed (the node answers when its receipt exists). */
  wait?: boolean
  /** How long the node may wait for the commit (default 30000). */
  waitTimeoutMs?: number
  traceId?: string
}

interface NodeEntry {
  url: string
  breaker: CircuitBreaker
}

interface CallOptions {
  body?: unknown
  timeoutMs?: number
  /** 404 answers resolve to null instead of throwing. */
  nullOn404?: boolean
  headers?: Record<string, string>
}

export const DEFAULT_RATE_LIMIT_WAIT_MS = 5000
/** Shortest wait after a 429 (a Retry-After of 0 s would otherwise spin). */
const MIN_RATE_LIMIT_WAIT_MS = 50

/** Statuses that say "this node cannot serve now", not "your request is wrong": try another node. */
const RETRIABLE_STATUS = new Set([500, 502, 503])

/**
 * HTTP client for a set of nodes: round-robin, failover to the next node on network errors,
 * timeouts and 500/502/503, and a circuit breaker per node so a dead node costs one timeout,
 * not one per call. Errors a node returns for the request itself (4xx, 504) are thrown as
 * ApiError without failover: another node would say the same. A 429 (rate limited) is waited
 * out as its Retry-After says, up to `rateLimitWaitMs` per call, then thrown.
 */
export class BftClient {
  private readonly nodes: NodeEntry[]
  private readonly timeoutMs: number
  private readonly retries: number
  private readonly transport: Transport
  private readonly rateLimitWaitMs: number
  private readonly sleep: (ms: number) => Promise<void>
  private cursor = 0

  constructor (opts: BftClientOptions) {
    if (opts.nodes.length === 0) throw new BftError('ERR_NO_NODES', 'BftClient needs at least one node URL')
    const breaker: BreakerOptions = { failureThreshold: opts.breaker?.failureThreshold ?? 3, resetMs: opts.breaker?.resetMs ?? 5000 }
    this.nodes = opts.nodes.map(u => ({ url: normalizeUrl(u), breaker: new CircuitBreaker(breaker, opts.now) }))
    this.timeoutMs = opts.timeoutMs ?? 5000
    this.retries = opts.retries ?? Math.max(1, this.nodes.length - 1)
    this.transport = opts.transport ?? (opts.fetch === undefined ? httpTransport : fetchTransport(opts.fetch))
    const wait = opts.rateLimitWaitMs ?? DEFAULT_RATE_LIMIT_WAIT_MS
    if (!Number.isFinite(wait) || wait < 0) throw new BftError('ERR_BAD_ARGUMENT', `BftClient: rateLimitWaitMs must be a non-negative number of ms, got ${wait}`)
    this.rateLimitWaitMs = wait
    this.sleep = opts.sleep ?? (async ms => await new Promise(resolve => setTimeout(resolve, ms)))
  }

  /** Breaker state per node, for status displays and tests. */
  breakers (): Array<{ url: string, state: BreakerState }> {
    return this.nodes.map(n => ({ url: n.url, state: n.breaker.state }))
  }

  async submit (tx: Uint8Array, opts: SubmitOptions = {}): Promise<SubmitResult> {
    const wait = opts.wait ?? false
    const waitTimeoutMs = opts.waitTimeoutMs ?? 30_000
    const body: Record<string, unknown> = { tx: toHex(tx), wait }
    if (wait) body.timeoutMs = waitTimeoutMs
    const headers: Record<string, string> = opts.traceId === undefined ? {} : { 'x-trace-id': opts.traceId }
    const r = await this.call<SubmitResult>('POST', '/txs', { body, headers, timeoutMs: this.timeoutMs + (wait ? waitTimeoutMs : 0) })
    return r as SubmitResult
  }

  /**
   * Submits many txs in one request (POST /txs/batch, no wait). Each entry is the node's
   * SubmitResult or its `{ error: { code, message } }` for that tx, in input order.
   */
  async submitBatch (txs: Uint8Array[], opts: { traceId?: string } = {}): Promise<Array<SubmitResult | { error: { code: string, message: string } }>> {
    const headers: Record<string, string> = opts.traceId === undefined ? {} : { 'x-trace-id': opts.traceId }
    const r = await this.call<{ results: Array<SubmitResult | { error: { code: string, message: string } }> }>('POST', '/txs/batch', { body: { txs: txs.map(toHex) }, headers })
    return r!.results
  }

  async getTx (txId: string): Promise<ReceiptView | null> {
    return await this.call<ReceiptView>('GET', `/txs/${encodeURIComponent(txId)}`, { nullOn404: true })
  }

  async getBlock (height: number | 'latest'): Promise<BlockView | null> {
    return await this.call<BlockView>('GET', `/blocks/${height}`, { nullOn404: true })
  }

  async getState (contract: string, key: string, prove = false): Promise<StateView> {
    const path = `/state/${encodeURIComponent(contract)}/${encodeURIComponent(key)}${prove ? '?prove=true' : ''}`
    return await this.call<StateView>('GET', path) as StateView
  }

  async getAccount (address: string): Promise<AccountView> {
    return await this.call<AccountView>('GET', `/accounts/${encodeURIComponent(address)}`) as AccountView
  }

  async status (): Promise<StatusView> {
    return await this.call<StatusView>('GET', '/status') as StatusView
  }

  /** Polls until the tx has a receipt; throws BftError ERR_TIMEOUT after timeoutMs. */
  async waitForTx (txId: string, opts: { timeoutMs?: number, pollMs?: number } = {}): Promise<ReceiptView> {
    const deadline = Date.now() + (opts.timeoutMs ?? 30_000)
    const pollMs = opts.pollMs ?? 200
    for (;;) {
      const r = await this.getTx(txId)
      if (r !== null) return r
      if (Date.now() + pollMs > deadline) throw new BftError('ERR_TIMEOUT', `transaction ${txId} not committed within ${opts.timeoutMs ?? 30_000} ms`)
      await new Promise(resolve => setTimeout(resolve, pollMs))
    }
  }

  /** Next node in round-robin order whose breaker admits a call, preferring nodes not yet tried. */
  private pick (tried: Set<NodeEntry>): NodeEntry | undefined {
    const n = this.nodes.length
    for (const allowRepeat of [false, true]) {
      for (let i = 0; i < n; i++) {
        const node = this.nodes[(this.cursor + i) % n]!
        if (!allowRepeat && tried.has(node)) continue
        if (node.breaker.tryAcquire()) {
          this.cursor = (this.cursor + i + 1) % n
          return node
        }
      }
    }
    return undefined
  }

  /**
   * One call, waiting out 429 answers as the node asks, for at most rateLimitWaitMs in all: a
   * 429 whose wait would go past that is thrown at once.
   */
  private async call<T> (method: 'GET' | 'POST', path: string, opts: CallOptions = {}): Promise<T | null> {
    let waited = 0
    for (;;) {
      try {
        return await this.callOnce<T>(method, path, opts)
      } catch (err) {
        if (!(err instanceof ApiError) || err.status !== 429) throw err
        // Asking again sooner than the node said would only earn another 429.
        const ms = Math.max(err.retryAfterMs ?? 1000, MIN_RATE_LIMIT_WAIT_MS)
        if (waited + ms > this.rateLimitWaitMs) throw err
        await this.sleep(ms)
        waited += ms
      }
    }
  }

  private async callOnce<T> (method: 'GET' | 'POST', path: string, opts: CallOptions): Promise<T | null> {
    const tried = new Set<NodeEntry>()
    const failures: string[] = []
    for (let attempt = 0; attempt <= this.retries; attempt++) {
      const node = this.pick(tried)
      if (node === undefined) break
      tried.add(node)
      let res: TransportResponse
      const timeoutMs = opts.timeoutMs ?? this.timeoutMs
      try {
        const headers: Record<string, string> = { accept: 'application/json', ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }), ...opts.headers }
        res = await this.transport({ method, url: node.url + path, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body), timeoutMs })
      } catch (err) {
        node.breaker.failure()
        failures.push(`${node.url}: ${describeTransportError(err, timeoutMs)}`)
        continue
      }
      const text = res.text
      if (RETRIABLE_STATUS.has(res.status)) {
        node.breaker.failure()
        failures.push(`${node.url}: HTTP ${res.status} ${errorOf(text)?.message ?? ''}`.trim())
        continue
      }
      node.breaker.success()
      if (res.status >= 200 && res.status < 300) {
        try {
          return JSON.parse(text) as T
        } catch {
          throw new ApiError('ERR_BAD_RESPONSE', `${node.url}${path} answered HTTP ${res.status} with a body that is not JSON`, res.status, node.url)
        }
      }
      if (res.status === 404 && opts.nullOn404 === true && errorOf(text)?.code === 'ERR_NOT_FOUND') return null
      const e = errorOf(text)
      const retryAfterMs = res.status === 429 ? retryAfterMsOf(res.retryAfter, Date.now()) : undefined
      throw new ApiError(e?.code ?? `ERR_HTTP_${res.status}`, e?.message ?? `${method} ${path} answered HTTP ${res.status}`, res.status, node.url, retryAfterMs)
    }
    const skipped = this.nodes.length - tried.size
    throw new NodeUnavailableError(
      `no node could serve ${method} ${path}` +
      (failures.length > 0 ? `: ${[...new Set(failures)].join('; ')}` : '') +
      (skipped > 0 ? ` (${skipped} node(s) skipped: circuit open after repeated failures)` : ''),
      { failures })
  }
}

function normalizeUrl (u: string): string {
  let url: URL
  try {
    url = new URL(u)
  } catch {
    throw new BftError('ERR_BAD_URL', `"${u}" is not a URL (expected e.g. http://127.0.0.1:26657)`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new BftError('ERR_BAD_URL', `"${u}" must be an http:// or https:// URL`)
  return url.toString().replace(/\/+$/, '')
}

/** Retry-After as ms from now: delay-seconds or an HTTP date; undefined if absent or unreadable. */
export function retryAfterMsOf (header: string | undefined, now: number): number | undefined {
  if (header === undefined) return undefined
  const h = header.trim()
  if (/^\d+$/.test(h)) return Number(h) * 1000
  const at = Date.parse(h)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}

function errorOf (text: string): { code: string, message: string } | undefined {
  try {
    const j = JSON.parse(text) as { error?: { code?: unknown, message?: unknown } }
    if (typeof j.error?.code === 'string') return { code: j.error.code, message: String(j.error.message ?? '') }
  } catch { /* not an API error body */ }
  return undefined
}

function describeTransportError (err: unknown, timeoutMs: number): string {
  if (err instanceof TransportTimeout || (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError'))) return `no answer within ${timeoutMs} ms`
  // node:http puts the code on the error itself, fetch on its cause.
  for (const e of [err, err instanceof Error ? (err as Error & { cause?: unknown }).cause : undefined]) {
    const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined
    if (typeof code === 'string') return code === 'ECONNREFUSED' ? 'connection refused' : code
  }
  const cause = err instanceof Error ? (err as Error & { cause?: unknown }).cause : undefined
  return errorMessage(cause ?? err)
}
