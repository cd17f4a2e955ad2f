import { ValidationError } from '../../src/errors.js'
import type { BlockView, NodeService, ReceiptView, StateView, StatusView, SubmitResult } from '../../src/node/service.js'

/** A NodeService double: canned answers, scripted rejections, and a block feed tests can push. */
export class FakeService implements NodeService {
  readonly submitted: Array<{ bytes: Uint8Array, opts: { wait: boolean, timeoutMs: number, traceId?: string } }> = []
  readonly blocks: BlockView[] = []
  readonly receipts = new Map<string, ReceiptView>()
  readonly listeners = new Set<(b: BlockView) => void>()
  /** Next submitTx call throws this, if set. */
  rejectWith: Error | undefined
  logLevel = 'info'
  healthy = true
  seenNonces = new Set<string>()

  async submitTx (bytes: Uint8Array, opts: { wait: boolean, timeoutMs: number, traceId?: string }): Promise<SubmitResult> {
    this.submitted.push({ bytes, opts })
    if (this.rejectWith !== undefined) throw this.rejectWith
    const key = Buffer.from(bytes).toString('hex')
    if (this.seenNonces.has(key)) throw new ValidationError('ERR_STALE_NONCE', 'nonce 0 already used by sender ab12..')
    this.seenNonces.add(key)
    if (bytes[0] === 0xff) throw new ValidationError('ERR_BAD_SIGNATURE', 'transaction has an invalid signature')
    const txId = key.padEnd(64, '0').slice(0, 64)
    return opts.wait
      ? { txId, status: 'committed', height: 1, traceId: opts.traceId ?? 'none' }
      : { txId, status: 'accepted', traceId: opts.traceId ?? 'none' }
  }

  async getTx (txId: string): Promise<ReceiptView | null> {
    return this.receipts.get(txId) ?? null
  }

  async getBlock (height: number): Promise<BlockView | null> {
    return this.blocks.find(b => b.height === height) ?? null
  }

  async getLatestBlock (): Promise<BlockView | null> {
    return this.blocks.at(-1) ?? null
  }

  async getState (contract: string, key: string, prove: boolean): Promise<StateView> {
    if (contract === 'acct') return { contract, key, value: '821a000f424003', decoded: { balance: '1000000', nonce: 3 }, height: 1, stateRoot: '00'.repeat(32) }
    const v: StateView = { contract, key, value: null, decoded: null, height: 1, stateRoot: '00'.repeat(32) }
    if (prove) v.proof = { siblings: [] }
    return v
  }

  async getAccount (address: string): Promise<{ address: string, balance: string, nonce: number }> {
    return { address, balance: '1000000', nonce: 3 }
  }

  async status (): Promise<StatusView> {
    return {
      chainId: 'test-chain',
      nodeId: '12D3KooWtest',
      validatorIndex: 0,
      height: this.blocks.length,
      headHash: '00'.repeat(32),
      stateRoot: '00'.repeat(32),
      view: 0,
      primary: 0,
      validators: this.validators(),
      peers: [{ peerId: '12D3KooWpeer', validator: 1, connected: true, suspected: false, lastSeenMs: 5, rttMs: 1, score: 0 }],
      mempoolSize: 0,
      uptimeSeconds: 1,
      consensus: { view: 0, primary: 0, lastExecuted: this.blocks.length, lowWatermark: 0, inViewChange: false, pendingRequests: 0, targetView: 0, decided: this.blocks.length, executing: null, nextSeq: this.blocks.length + 1 }
    }
  }

  validators (): StatusView['validators'] {
    return [{ index: 0, name: 'validator-0', publicKey: '11'.repeat(32), peerId: '12D3KooWtest' }]
  }

  onBlock (fn: (b: BlockView) => void): () => void {
    this.listeners.add(fn)
    return () => { this.listeners.delete(fn) }
  }

  push (block: BlockView): void {
    this.blocks.push(block)
    for (const fn of this.listeners) fn(block)
  }

  async metrics (): Promise<string> {
    return '# HELP bft_height Committed height\n# TYPE bft_height gauge\nbft_height 7\n'
  }

  health (): { ok: boolean, height: number, reason?: string } {
    return this.healthy ? { ok: true, height: this.blocks.length } : { ok: false, height: 0, reason: 'no quorum of peers' }
  }

  setLogLevel (level: string): void {
    this.logLevel = level
  }
}

export function fakeBlock (height: number): BlockView {
  return {
    height,
    hash: height.toString(16).padStart(64, '0'),
    header: { chainId: 'test-chain', height, prevHash: '00'.repeat(32), txRoot: '00'.repeat(32), view: 0, proposer: 0, timestamp: 1000 + height },
    txs: [],
    txIds: [],
    retryable: [],
    refused: [],
    stateRoot: '00'.repeat(32),
    certificate: null
  }
}
