import { BftError, errorMessage } from '../src/errors.js'

/** What the watcher needs of each block on /events: not the txs themselves, to keep parsing cheap. */
export interface SeenBlock {
  height: number
  txIds: string[]
  /** Ids refused for a nonce gap in this block: not committed yet, they come again later. */
  retryable: string[]
  /** Ids refused for good without being applied (for the bench's valid txs: re-proposals of applied ones). */
  refused: string[]
  /** performance.now() when the event arrived. */
  at: number
}

/**
 * Follows GET /events (server-sent blocks) of one node and calls onBlock for every block, in
 * height order. Commit times are taken when the event arrives, so polling never throttles the
 * node, and every tx of every block is seen (the stream replays from `from`).
 */
export class BlockWatch {
  private readonly abort = new AbortController()
  private done: Promise<void> | undefined
  lastHeight = -1
  error: string | undefined

  constructor (private readonly url: string, private readonly onBlock: (b: SeenBlock) => void) {}

  /** Resolves once the stream is open. */
  async start (from: number): Promise<void> {
    this.lastHeight = from - 1
    const res = await fetch(`${this.url}/events?from=${from}`, { signal: this.abort.signal, headers: { accept: 'text/event-stream' } })
    if (!res.ok || res.body === null) throw new BftError('ERR_BENCH_EVENTS', `${this.url}/events answered HTTP ${res.status}`)
    this.done = this.read(res.body).catch((err: unknown) => {
      if (!this.abort.signal.aborted) this.error = `${this.url}/events: ${errorMessage(err)}`
    })
  }

  private async read (body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder()
    let buf = ''
    for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true })
      let end: number
      while ((end = buf.indexOf('\n\n')) >= 0) {
        const event = buf.slice(0, end)
        buf = buf.slice(end + 2)
        this.handle(event)
      }
    }
  }

  private handle (event: string): void {
    let type = 'message'
    let data = ''
    for (const line of event.split('\n')) {
      if (line.startsWith('event: ')) type = line.slice(7)
      else if (line.startsWith('data: ')) data += line.slice(6)
    }
    if (type === 'gap') {
      this.error = `${this.url}/events skipped blocks ${data}: commit times of their txs are lost`
      return
    }
    if (type !== 'block' || data === '') return
    const at = performance.now()
    const b = JSON.parse(data) as { height: number, txIds: string[], retryable?: string[], refused?: string[] }
    if (b.height <= this.lastHeight) return
    this.lastHeight = b.height
    this.onBlock({ height: b.height, txIds: b.txIds, retryable: b.retryable ?? [], refused: b.refused ?? [], at })
  }

  async stop (): Promise<void> {
    this.abort.abort()
    await this.done
  }
}
