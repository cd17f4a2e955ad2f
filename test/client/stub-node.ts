import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void

/** A tiny HTTP server on 127.0.0.1 that records hits and answers with a swappable handler. */
export class StubNode {
  hits = 0
  paths: string[] = []
  handler: Handler
  private readonly server: Server
  url = ''

  constructor (handler: Handler = ok({ ok: true })) {
    this.handler = handler
    this.server = createServer((req, res) => {
      let body = ''
      req.on('data', (c: Buffer) => { body += c.toString() })
      req.on('end', () => {
        this.hits++
        this.paths.push(`${req.method ?? ''} ${req.url ?? ''}`)
        this.handler(req, body, res)
      })
    })
  }

  async start (): Promise<this> {
    await new Promise<void>(resolve => this.server.listen(0, '127.0.0.1', resolve))
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
    return this
  }

  async stop (): Promise<void> {
    this.server.closeAllConnections()
    await new Promise<void>(resolve => this.server.close(() => resolve()))
  }
}

export function ok (json: unknown, status = 200): Handler {
  return (_req, _body, res) => {
    res.writeHead(status, { 'content-type': 'application/json' })
    res.end(JSON.stringify(json))
  }
}

export function fail (status: number, code: string, message: string): Handler {
  return ok({ error: { code, message } }, status)
}

/** Never answers (until the server stops). */
export const hang: Handler = () => {}

/** A URL on 127.0.0.1 where nothing listens. */
export async function deadUrl (): Promise<string> {
  const s = await new StubNode().start()
  const url = s.url
  await s.stop()
  return url
}
