import type { Logger } from '../log.js'
import { errorMessage, BftError, ValidationError } from '../errors.js'
import type { BlockStore } from '../ledger/store.js'
import { MAX_SYNC_BLOCKS, syncRequestCodec, syncResponseCodec, type SyncResponse } from './sync-protocol.js'
import type { BlockPipeline, CommittedBlock } from './pipeline.js'
import type { Certificate } from '../ledger/certificate.js'

export interface SyncTransport {
  request: (peerId: string, protocol: 'sync', req: Uint8Array, timeoutMs: number) => Promise<Uint8Array>
  handle: (protocol: 'sync', handler: (peerId: string, req: Uint8Array) => Promise<Uint8Array>) => void
  penalize: (peerId: string, reason: string, points?: number) => void
  /** Connected validator peers worth asking. */
  candidates: () => string[]
}

export interface SyncDeps {
  store: BlockStore
  pipeline: BlockPipeline
  transport: SyncTransport
  /** Called after each block applied by sync, so the replica can jump forward. */
  onSynced: (c: CommittedBlock, cert: Certificate) => void
  certifiedHeight: () => number
  logger: Logger
}

/**
 * Block sync: the server answers with stored blocks and their certificates; the client asks
 * the peers for their certified head and downloads what it lacks from the best one, verifying
 * every certificate and re-executing every block (BlockPipeline.applyCertified). A peer that
 * serves something that fails verification is penalized and the next peer is tried.
 */
export class BlockSync {
  private readonly d: SyncDeps
  private running: Promise<number> | null = null

  constructor (deps: SyncDeps) {
    this.d = deps
    deps.transport.handle('sync', async (_peer, req) => await this.serve(req))
  }

  private async serve (bytes: Uint8Array): Promise<Uint8Array> {
    let res: SyncResponse
    try {
      const req = syncRequestCodec.decode(bytes)
      if (req.type === 'head') {
        res = { type: 'head', height: this.d.store.head()?.height ?? 0, certifiedHeight: this.d.certifiedHeight() }
      } else {
        const items: Array<{ block: CommittedBlock['block'], certificate: Certificate }> = []
        let size = 0
        for (let h = req.from; h < req.from + Math.min(req.max, MAX_SYNC_BLOCKS); h++) {
          const stored = await this.d.store.getBlock(h)
          const cert = await this.d.store.getCertificate(h)
          if (stored === null || cert === null) break
          size += stored.block.txs.reduce((a, t) => a + t.length, 0) + 1024
          if (items.length > 0 && size > 8 * 1024 * 1024) break
          items.push({ block: stored.block, certificate: cert })
        }
        res = { type: 'blocks', items }
      }
    } catch (err) {
      res = { type: 'error', code: err instanceof BftError ? err.code : 'ERR_INTERNAL', message: errorMessage(err).slice(0, 1000) }
    }
    return syncResponseCodec.encode(res)
  }

  /** Runs one catch-up round unless one is already running; resolves with the number of blocks applied. */
  async catchUp (): Promise<number> {
    if (this.running !== null) return await this.running
    this.running = this.round().finally(() => { this.running = null })
    return await this.running
  }

  private async ask (peer: string, req: Parameters<typeof syncRequestCodec.encode>[0]): Promise<SyncResponse> {
    const raw = await this.d.transport.request(peer, 'sync', syncRequestCodec.encode(req), 10_000)
    return syncResponseCodec.decode(raw)
  }

  private async round (): Promise<number> {
    const heads: Array<{ peer: string, height: number }> = []
    await Promise.all(this.d.transport.candidates().map(async peer => {
      try {
        const r = await this.ask(peer, { type: 'head' })
        if (r.type === 'head') heads.push({ peer, height: r.certifiedHeight })
      } catch (err) {
        this.d.logger.info({ peer, err: errorMessage(err) }, 'sync: head request failed')
      }
    }))
    heads.sort((a, b) => b.height - a.height)
    let applied = 0
    for (const { peer, height } of heads) {
      while (this.d.pipeline.height < height) {
        const from = this.d.pipeline.height + 1
        let r: SyncResponse
        try {
          r = await this.ask(peer, { type: 'blocks', from, max: MAX_SYNC_BLOCKS })
        } catch (err) {
          this.d.logger.warn({ peer, from, err: errorMessage(err) }, 'sync: block request failed')
          break
        }
        if (r.type !== 'blocks' || r.items.length === 0) break
        try {
          for (const item of r.items) {
            const c = await this.d.pipeline.applyCertified(item.block, item.certificate)
            if (c !== null) {
              applied++
              this.d.onSynced(c, item.certificate)
            }
          }
        } catch (err) {
          // Only a block or certificate that fails verification is the peer's fault. Anything
          // else (LevelDB closed by a shutdown, a full disk) is ours: another peer would fail
          // the same way, and penalizing this one would cut us off from honest peers.
          if (!(err instanceof ValidationError)) {
            this.d.logger.warn({ peer, from, err: errorMessage(err) }, 'sync: applying a fetched block failed here; stopping this round')
            return applied
          }
          this.d.logger.warn({ peer, from, err: errorMessage(err) }, 'sync: peer served an invalid block; trying another peer')
          this.d.transport.penalize(peer, 'sync: invalid block or certificate', 50)
          break
        }
      }
    }
    if (applied > 0) this.d.logger.info({ applied, height: this.d.pipeline.height }, 'sync: caught up')
    return applied
  }
}
