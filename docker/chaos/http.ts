export interface HttpReply<T> {
  status: number
  body: T
}

/** JSON over HTTP with a hard per-request timeout; network errors are thrown. */
export async function requestJson<T = unknown> (url: string, opts: { method?: string, body?: unknown, timeoutMs?: number } = {}): Promise<HttpReply<T>> {
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
  let body: unknown = text
  try { body = JSON.parse(text) } catch { /* keep the text: error pages are not always JSON */ }
  return { status: res.status, body: body as T }
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
