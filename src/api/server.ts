import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { fastify, LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest, type RawServerDefault } from 'fastify'
import rateLimit from '@fastify/rate-limit'
import { Type } from '@sinclair/typebox'
import { BftError, errorMessage } from '../errors.js'
import { fromHex } from '../codec/hex.js'
import type { Logger } from '../log.js'
import type { NodeService } from '../node/service.js'
import { adminGuard } from './admin.js'
import { errorBody, HttpError, notFound, statusFor } from './errors.js'
import { toJson } from './json.js'
import { ApiMetrics } from './metrics.js'
import {
  AccountParams, BlockParams, EventsHeaders, EventsQuery, LogLevelBody, StateParams, StateQuery, SubmitBatchBody, SubmitBody, TraceHeaders, TxParams
} from './schemas.js'
import { BlockStreams } from './sse.js'
import { accountView, type AccountView } from './accounts.js'

export interface ApiServerOptions {
  host: string
  port: number
  /** Max request body in bytes; larger bodies get 413 ERR_PAYLOAD_TOO_LARGE. */
  bodyLimit: number
  /** HS256 secret for admin JWTs; without it the admin routes answer 403 ERR_ADMIN_DISABLED. */
  adminJwtSecret?: string
  logger: Logger
  /** Interval of SSE heartbeat comments on /events (default 15000). */
  sseHeartbeatMs?: number
  /** Timeout of POST /txs with wait=true when the body gives none (default 30000). */
  defaultWaitTimeoutMs?: number
  /** On close(), how long in-flight requests may finish before connections are cut (default 1000). */
  closeGraceMs?: number
  /** Requests per client address per window (default DEFAULT_RATE_LIMIT; max 0: no limit). */
  rateLimit?: RateLimit
}

export interface RateLimit {
  /** Requests one address may make per window; 0 turns the limit off. */
  max: number
  windowMs: number
  /** Addresses never limited. */
  allowList?: string[]
}

/**
 * 1,000 requests per second per address: far above what one client needs (the benchmark sends
 * a validator ~6 POST /txs/batch per second in its closed loop, at most 50 in its open loop),
 * low enough that one
 * address flooding the API is refused in the onRequest hook, before its body is read or any
 * signature checked.
 */
export const DEFAULT_RATE_LIMIT: RateLimit = Object.freeze({ max: 1000, windowMs: 1000 })

/** Client addresses the limiter tracks at once (least recently seen dropped first). */
const RATE_LIMIT_ADDRESSES = 10_000

export interface ApiServer {
  readonly app: FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, Logger>
  /** Starts listening; resolves to the base URL, e.g. http://127.0.0.1:26657. */
  listen: () => Promise<string>
  /** Ends open event streams, then stops the server. */
  close: () => Promise<void>
  /** Base URL once listening, '' before. */
  readonly url: string
}

/** Fastify's own error codes for bodies it cannot parse, with our stable code and status. */
const FRAMEWORK_ERRORS: Record<string, [number, string]> = {
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'ERR_BAD_JSON'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'ERR_BAD_JSON'],
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'ERR_PAYLOAD_TOO_LARGE'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'ERR_UNSUPPORTED_MEDIA_TYPE'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'ERR_BAD_REQUEST']
}

function isFastifyError (err: unknown): err is FastifyError {
  return err instanceof Error && typeof (err as { code?: unknown }).code === 'string'
}

export function createApiServer (service: NodeService, opts: ApiServerOptions): ApiServer {
  const log = opts.logger
  const app = fastify({
    loggerInstance: log,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: opts.bodyLimit,
    // find-my-way's default of 100 would turn long kv keys (owner/key, up to ~170 chars) into 404s.
    routerOptions: { maxParamLength: 2048 },
    // Strict types: a JSON body with "wait": "yes" is a 400, not silently coerced.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
    return503OnClosing: true,
    forceCloseConnections: 'idle'
  })
  const metrics = new ApiMetrics()
  const streams = new BlockStreams(service, {
    heartbeatMs: opts.sseHeartbeatMs ?? 15_000,
    maxBufferedBytes: 4 * 1024 * 1024,
    maxReplay: 1000
  }, log)
  const guard = adminGuard(opts.adminJwtSecret)
  let url = ''

  const limit = opts.rateLimit ?? DEFAULT_RATE_LIMIT
  if (limit.max > 0) {
    void app.register(rateLimit, {
      global: false,
      max: limit.max,
      timeWindow: limit.windowMs,
      allowList: limit.allowList ?? [],
      cache: RATE_LIMIT_ADDRESSES
    })
    // The routes below are declared before the plugin has loaded, so its per-route hooks
    // (global: true) would miss them. One app-wide onRequest hook, made from its limiter at the
    // first request, covers every route and the 404 handler (the test checks both kinds).
    let limiter: ReturnType<typeof app.createRateLimit> | undefined
    app.addHook('onRequest', async (req, reply) => {
      limiter ??= app.createRateLimit()
      // The plugin types a request with fastify's base logger; ours carries pino's. Same object.
      const r = await limiter(req as unknown as FastifyRequest)
      if (r.isAllowed || !r.isExceeded) return
      void reply.header('retry-after', r.ttlInSeconds)
      throw new HttpError(429, 'ERR_RATE_LIMITED',
        `rate limit exceeded: at most ${r.max} requests per ${limit.windowMs} ms from one address; retry in ${r.ttlInSeconds} s`)
    })
  }

  app.setReplySerializer(payload => toJson(payload))

  app.setErrorHandler((err: unknown, req: FastifyRequest, reply: FastifyReply) => {
    let status = 500
    let code = 'ERR_INTERNAL'
    let message = 'internal error'
    if (err instanceof HttpError) {
      status = err.status; code = err.code; message = err.message
    } else if (err instanceof BftError) {
      status = statusFor(err); code = err.code; message = err.message
    } else if (isFastifyError(err) && err.validation !== undefined) {
      status = 400; code = 'ERR_BAD_REQUEST'; message = err.message
    } else if (isFastifyError(err) && FRAMEWORK_ERRORS[err.code] !== undefined) {
      [status, code] = FRAMEWORK_ERRORS[err.code]!
      message = code === 'ERR_PAYLOAD_TOO_LARGE' ? `request body exceeds ${opts.bodyLimit} bytes` : err.message
    } else if (isFastifyError(err) && typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      status = err.statusCode; code = 'ERR_BAD_REQUEST'; message = err.message
    }
    if (status >= 500 && code === 'ERR_INTERNAL') {
      log.error({ err, method: req.method, url: req.url }, 'unhandled API error')
    } else {
      log.debug({ code, status, method: req.method, url: req.url }, message)
    }
    void reply.code(status).type('application/json; charset=utf-8').send(errorBody(code, message))
  })

  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send(errorBody('ERR_NO_ROUTE', `no route ${req.method} ${req.url.split('?')[0] ?? ''}`))
  })

  app.addHook('onResponse', async (req, reply) => {
    metrics.observe(req.routeOptions.url ?? 'unmatched', req.method, reply.statusCode, reply.elapsedTime / 1000)
  })

  app.addHook('preClose', async () => {
    streams.closeAll()
  })

  app.post<{ Body: SubmitBody, Headers: TraceHeaders }>('/txs', {
    schema: { body: SubmitBody, headers: TraceHeaders }
  }, async (req, reply) => {
    const traceId = req.headers['x-trace-id'] ?? randomUUID()
    const bytes = fromHex(req.body.tx, undefined, 'tx')
    const wait = req.body.wait ?? false
    const timeoutMs = req.body.timeoutMs ?? opts.defaultWaitTimeoutMs ?? 30_000
    const result = await service.submitTx(bytes, { wait, timeoutMs, traceId })
    void reply.header('x-trace-id', typeof result.traceId === 'string' && result.traceId !== '' ? result.traceId : traceId)
    return await reply.code(result.status === 'accepted' ? 202 : 200).send(result)
  })

  // Many txs in one request (no wait): per-request HTTP cost dominates small txs, so load
  // generators and batching clients use this. Each tx gets its own result or error, in order.
  app.post<{ Body: SubmitBatchBody, Headers: TraceHeaders }>('/txs/batch', {
    schema: { body: SubmitBatchBody, headers: TraceHeaders }
  }, async (req) => {
    const base = req.headers['x-trace-id'] ?? randomUUID()
    const txs = req.body.txs.map((hex, i) => {
      try { return fromHex(hex, undefined, `txs[${i}]`) } catch (err) { return err instanceof Error ? err : new Error(String(err)) }
    })
    // Their signatures in one batch first (the schema bounds the batch at MAX_BATCH_TXS). A hint:
    // if it fails, each submitTx checks its own tx as before.
    try {
      service.prevalidateTxs?.(txs.filter((t): t is Uint8Array => t instanceof Uint8Array))
    } catch (err) {
      log.error({ err }, 'batch prevalidation failed; checking each tx on its own')
    }
    const results = await Promise.all(txs.map(async (tx, i) => {
      try {
        if (tx instanceof Error) throw tx
        return await service.submitTx(tx, { wait: false, timeoutMs: 0, traceId: `${base}.${i}` })
      } catch (err) {
        if (err instanceof BftError) return { error: { code: err.code, message: err.message } }
        log.error({ err }, 'unhandled error in batch submit')
        return { error: { code: 'ERR_INTERNAL', message: 'internal error' } }
      }
    }))
    return { results }
  })

  app.get<{ Params: TxParams }>('/txs/:id', { schema: { params: TxParams } }, async (req) => {
    const receipt = await service.getTx(req.params.id)
    if (receipt === null) throw notFound(`transaction ${req.params.id}`)
    return receipt
  })

  app.get('/blocks/latest', { schema: { querystring: Type.Object({}) } }, async () => {
    const block = await service.getLatestBlock()
    if (block === null) throw notFound('latest block')
    return block
  })

  app.get<{ Params: BlockParams }>('/blocks/:height', { schema: { params: BlockParams } }, async (req) => {
    const height = Number(req.params.height)
    const block = await service.getBlock(height)
    if (block === null) throw notFound(`block ${height}`)
    return block
  })

  app.get<{ Params: StateParams, Querystring: StateQuery }>('/state/:contract/:key', {
    schema: { params: StateParams, querystring: StateQuery }
  }, async (req) => {
    const prove = req.query.prove === 'true' || req.query.prove === '1'
    return await service.getState(req.params.contract, req.params.key, prove)
  })

  app.get<{ Params: AccountParams }>('/accounts/:address', { schema: { params: AccountParams } }, async (req): Promise<AccountView> => {
    return await accountView(service, req.params.address)
  })

  app.get('/status', { schema: { querystring: Type.Object({}) } }, async () => await service.status())

  app.get('/validators', { schema: { querystring: Type.Object({}) } }, async () => service.validators())

  app.get('/health', { schema: { querystring: Type.Object({}) } }, async (_req, reply) => {
    const h = service.health()
    return await reply.code(h.ok ? 200 : 503).send(h)
  })

  app.get('/metrics', { schema: { querystring: Type.Object({}) } }, async (_req, reply) => {
    let nodeText: string
    try {
      nodeText = await service.metrics()
    } catch (err) {
      throw new HttpError(503, 'ERR_UNAVAILABLE', `metrics unavailable: ${errorMessage(err)}`)
    }
    const text = joinExpositions(nodeText, await metrics.text())
    return await reply.type('text/plain; version=0.0.4; charset=utf-8').serializer((s: string) => s).send(text)
  })

  app.get<{ Querystring: EventsQuery, Headers: EventsHeaders }>('/events', {
    // A HEAD would open a stream that never sends a body.
    exposeHeadRoute: false,
    schema: { querystring: EventsQuery, headers: EventsHeaders }
  }, (req, reply) => {
    // Browsers resend the last id they saw on reconnect; ?from= lets a script ask explicitly.
    const last = req.headers['last-event-id']
    const from = req.query.from !== undefined ? Number(req.query.from) : last !== undefined ? Number(last) + 1 : undefined
    streams.handle(req, reply, from)
  })

  app.get('/admin/peers', { preHandler: guard, schema: { querystring: Type.Object({}) } }, async () => {
    return (await service.status()).peers
  })

  app.put<{ Body: LogLevelBody }>('/admin/log-level', { preHandler: guard, schema: { body: LogLevelBody } }, async (req) => {
    service.setLogLevel(req.body.level)
    return { level: req.body.level }
  })

  return {
    app,
    get url () { return url },
    listen: async () => {
      const address = await app.listen({ host: opts.host, port: opts.port })
      url = address.replace('[::1]', '127.0.0.1')
      return url
    },
    close: async () => {
      streams.closeAll()
      // In-flight requests get a grace period; then sockets that never finish (a client that
      // opened a connection and sent nothing) are cut so shutdown cannot hang.
      const force = setTimeout(() => app.server.closeAllConnections(), opts.closeGraceMs ?? 1000)
      try {
        await app.close()
      } finally {
        clearTimeout(force)
      }
    }
  }
}

function joinExpositions (...parts: string[]): string {
  return parts.map(p => p.endsWith('\n') || p === '' ? p : p + '\n').join('')
}
