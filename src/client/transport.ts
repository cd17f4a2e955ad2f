import http from 'node:http'
import https from 'node:https'
import { BftError } from '../errors.js'

/** One HTTP exchange as BftClient needs it: a JSON (or empty) body out, the status and text back. */
export interface TransportRequest {
  method: 'GET' | 'POST'
  url: string
  headers: Record<string, string>
  body?: string
  /** The whole exchange (connect, send, the complete answer) must fit in this. */
  timeoutMs: number
}

export interface TransportResponse {
  status: number
  text: string
  /** The Retry-After header, when the answer has one (a 429's: when to ask again). */
  retryAfter?: string
}

/**
 * Performs one request. Rejects on network failure (the error carries node's `code`, e.g.
 * ECONNREFUSED, directly or as `cause.code`) and with a TransportTimeout when the answer is late.
 */
export type Transport = (req: TransportRequest) => Promise<TransportResponse>

/** The answer did not arrive in time; the request was torn down. */
export class TransportTimeout extends BftError {
  constructor (readonly timeoutMs: number) {
    super('ERR_TIMEOUT', `no answer within ${timeoutMs} ms`)
  }
}

// Shared by every client of the process: keep-alive sockets are reused across clients of the same
// node, and an idle one is unref'd by node:http, so a CLI command still exits when it is done.
// node:http also closes an idle socket a second before the server's announced Keep-Alive timeout,
// so a request is not sent down a socket the server is about to close.
const agents = {
  http: new http.Agent({ keepAlive: true }),
  https: new https.Agent({ keepAlive: true })
}

/**
 * The default transport: node:http(s) on keep-alive sockets.
 *
 * Why not the global fetch: measured here (bench/transport.ts: 4 requests in flight, 2 KB JSON
 * bodies to a plain node:http server in another process), fetch cost 416–638 us of CPU per
 * request and node:http 112–211 us.
 * The benchmark's open-loop load generator sends ~200 such requests a second at 1,250 tx/s, on
 * the same two cores as the validators it measures (docs/performance.md, fourteenth session).
 */
export const httpTransport: Transport = async (r) => await new Promise<TransportResponse>((resolve, reject) => {
  const url = new URL(r.url)
  const secure = url.protocol === 'https:'
  const headers = r.body === undefined ? r.headers : { ...r.headers, 'content-length': String(Buffer.byteLength(r.body)) }
  let settled = false
  const settle = (err: Error | undefined, res?: TransportResponse): void => {
    if (settled) return
    settled = true
    clearTimeout(timer)
    if (err !== undefined) reject(err)
    else resolve(res!)
  }
  const req = (secure ? https : http).request(url, { method: r.method, headers, agent: secure ? agents.https : agents.http }, res => {
    const chunks: Buffer[] = []
    res.on('data', (c: Buffer) => chunks.push(c))
    res.on('end', () => {
      const retryAfter = res.headers['retry-after']
      settle(undefined, { status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), ...(retryAfter === undefined ? {} : { retryAfter }) })
    })
    res.on('error', err => settle(err))
    // A connection cut mid-answer ends the response without 'end' (and, depending on when, without 'error').
    res.on('close', () => { if (!res.complete) settle(Object.assign(new Error('connection closed before the answer was complete'), { code: 'ECONNRESET' })) })
  })
  req.on('error', err => settle(err))
  const timer = setTimeout(() => {
    const err = new TransportTimeout(r.timeoutMs)
    settle(err)
    req.destroy(err)
  }, r.timeoutMs)
  req.end(r.body)
})

/** Adapts a fetch function (injected by tests, or a non-node runtime's) to a Transport. */
export function fetchTransport (fetchFn: typeof fetch): Transport {
  return async (r) => {
    const init: RequestInit = { method: r.method, headers: r.headers, signal: AbortSignal.timeout(r.timeoutMs) }
    if (r.body !== undefined) init.body = r.body
    try {
      const res = await fetchFn(r.url, init)
      const retryAfter = res.headers.get('retry-after')
      return { status: res.status, text: await res.text(), ...(retryAfter === null ? {} : { retryAfter }) }
    } catch (err) {
      if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) throw new TransportTimeout(r.timeoutMs)
      throw err
    }
  }
}
