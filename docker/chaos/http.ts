export interface HttpReply<T> {
  status: number
  body: T
}

/** Longest a 429's retry-after is waited out, and how many times in a row. */
const RATE_LIMIT_WAIT_MS = 5000
const RATE_LIMIT_RETRIES = 20

/**
 * JSON over HTTP with a hard per-request timeout; network errors are thrown. A 429 (the node's
 * per-address rate limit, docs/operations.md) is not an answer: the checks read every
 * acknowledged tx from every node from one address, thousands of requests, so the request waits
 * as its retry-after says (at most 5 s a time, 20 times) and is sent again.
 */
export async function requestJson<T = unknown> (url: string, opts: { method?: string, body?: unknown, timeoutMs?: number } = {}): Promise<HttpReply<T>> {
  for (let attempt = 0; ; attempt++) {
    const init: RequestInit = {
      method: opts.method ?? 'GET',
      signal: AbortSignal.timeout(opts.timeoutMs ?? 5000)
    }
    if (opts.body !== undefined) {
      init.body = JSON.stringify(opts.body)
      init.headers = { 'content-type': 'application/json' }
    }
    const res = await fetch(url, init)
    const text = await res.text()
    if (res.status === 429 && attempt < RATE_LIMIT_RETRIES) {
      const after = Number(res.headers.get('retry-after'))
      await sleep(Math.min(RATE_LIMIT_WAIT_MS, Number.isFinite(after) && after > 0 ? after * 1000 : 1000))
      continue
    }
    let body: unknown = text
    try { body = JSON.parse(text) } catch { /* keep the text: error pages are not always JSON */ }
    return { status: res.status, body: body as T }
  }
}

export function errorCode (body: unknown): string {
  if (typeof body === 'object' && body !== null) {
    const b = body as { code?: unknown, error?: { code?: unknown } }
    if (typeof b.code === 'string') return b.code
    if (typeof b.error?.code === 'string') return b.error.code
  }
  return ''
}

/** Runs fn over items with at most `limit` in flight; results keep the input order. */
export async function mapLimit<T, R> (items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length)
  let next = 0
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i]!, i)
    }
  })
  await Promise.all(workers)
  return out
}

export const sleep = async (ms: number): Promise<void> => await new Promise(resolve => setTimeout(resolve, ms))
