import type { Logger } from 'pino'
import { bytesEqual, toHex, toLatin1 } from '../codec/index.js'
import { BftError, ValidationError, errorMessage } from '../errors.js'
import { silentLogger } from '../log.js'
import type { ClientRequest } from '../consensus/types.js'
import { verifyMany } from '../crypto/index.js'
import { badSignature, checkTxStateless, decodeTx, txSignedMessage, verifyTxSignature, type DecodedTx } from '../state/tx.js'
import { VerdictCache } from './verdict-cache.js'

export interface MempoolOptions {
  chainId: string
  /** Genesis params.maxTxBytes: checked before any decoding. */
  maxTxBytes: number
  /** Genesis params.mempoolSize: max txs held. */
  maxSize: number
  /** Genesis params.mempoolPerSender: max txs held per sender (ready + future). */
  maxPerSender: number
  /** A tx nonce may be at most accountNonce + maxNonceAhead - 1 (default maxPerSender). */
  maxNonceAhead?: number
  /** Bounded verdict cache (default 2 x maxSize, at least 1024; ~300 B per entry). */
  verdictCacheSize?: number
  /**
   * Most txs remembered from batches before their gossiped copy came (default maxSize, at least
   * 1024 and at most 16,384: entries live from a batch to its copy's arrival, seconds under
   * load, and each holds a decoded tx of ~1 KB).
   */
  batchedSize?: number
  /** The next nonce the committed state expects from `sender` (an address). */
  nonceOf: (sender: string) => Promise<number> | number
  log?: Logger
}

export interface AddResult {
  txId: string
  /** 'added': executable now (nonces contiguous from the account nonce); 'queued': waits for a lower nonce. */
  status: 'added' | 'queued'
}

export interface MempoolStats {
  size: number
  bytes: number
  ready: number
  queued: number
  proposed: number
  senders: number
  verdictCacheSize: number
  verdictCacheHits: number
  verdictCacheMisses: number
  /** Rejections by error code since start. */
  rejected: Record<string, number>
}

interface Entry {
  id: Uint8Array
  idHex: string
  bytes: Uint8Array
  sender: string
  nonce: number
  arrival: number
  proposed: boolean
  /** Kept so execution does not decode the same bytes again (see `decoded`). */
  tx: DecodedTx
  /**
   * Committed once with ERR_NONCE_GAP: reaped again only right behind its predecessor or once
   * the predecessor committed, never ahead of a predecessor that is still in flight. Otherwise
   * a lost predecessor made it fill block after block with the same gap (and the chain, busy
   * committing those, never looked stalled).
   */
  retry: boolean
}

interface SenderQueue {
  /** Next nonce the committed state expects (as last known). */
  nonce: number
  txs: Map<number, Entry>
}

/**
 * A tx this node first met in a primary's batch that it accepted (isValid decoded and checked
 * it there, acceptBatch recorded the vote), not by gossip. Under load the gossiped copy often
 * comes after the batch: in 40 s saturated runs, 2,000-17,000 copies per backup (of ~45,000
 * txs) came after a block had even applied their tx. Admitting such a copy decoded it again,
 * looked up its nonce, held it, fed it to consensus and dropped it at commit, or refused it
 * as stale, all for a tx already ordered.
 */
interface BatchedTx {
  tx: DecodedTx
  /** A block this node executed applied it (consumed its nonce): any later copy is stale. */
  applied: boolean
  /** Its gossiped copy came and was absorbed (see absorbGossip). */
  gossiped: boolean
}

/**
 * Txs are matched by their wire bytes, before any decoding: a hint from the first 72 bytes
 * (they hold the 64-byte signature of a canonical tx) and then equality of all the bytes. A
 * hint that collides only makes a copy take the ordinary path.
 */
const HINT_BYTES = 72
function hintOf (bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(HINT_BYTES, bytes.byteLength)).toString('latin1')
}

type TxKey = Uint8Array | string
const keyHex = (k: TxKey): string => typeof k === 'string' ? k.toLowerCase() : toHex(k)

/**
 * Admission and ordering of client transactions. Stateless checks (chain, signature, call
 * shape) run once per (txId, signature) and the verdict is cached, so consensus's
 * isValidRequest and execution can ask again for free. Per sender, txs are held by nonce: a
 * tx whose nonce is not yet contiguous with the account nonce is queued, up to a bound.
 * Not safe for concurrent mutation from several threads; concurrent `add` calls on the event
 * loop are fine (every pool-dependent check runs after the only await).
 */
export class Mempool {
  private readonly opts: Required<Omit<MempoolOptions, 'log'>>
  private readonly log: Logger
  private readonly entries = new Map<string, Entry>()
  private readonly senders = new Map<string, SenderQueue>()
  private readonly verdicts: VerdictCache<true | ValidationError>
  /** By hintOf(bytes), oldest first (FIFO-bounded by opts.batchedSize). */
  private readonly batched = new Map<string, BatchedTx>()
  /**
   * Txs isValid decoded for a batch that is still being checked, by hintOf(bytes): acceptBatch
   * moves them to `batched`. Those of a refused batch stay here until pushed out (bounded), so
   * a primary cannot make this node drop the gossiped copy of a tx by putting it in a batch
   * that fails another check: the copy is admitted, and this node's view-change timer then
   * runs for it.
   */
  private readonly checked = new Map<string, DecodedTx>()
  /** Decoded forms prevalidate() made, by the very bytes object, so admission does not decode again. */
  private readonly predecoded = new WeakMap<Uint8Array, DecodedTx>()
  private readonly rejected: Record<string, number> = {}
  private totalBytes = 0
  private arrivals = 0

  constructor (opts: MempoolOptions) {
    this.opts = {
      chainId: opts.chainId,
      maxTxBytes: opts.maxTxBytes,
      maxSize: opts.maxSize,
      maxPerSender: opts.maxPerSender,
      maxNonceAhead: opts.maxNonceAhead ?? opts.maxPerSender,
      verdictCacheSize: opts.verdictCacheSize ?? Math.max(1024, 2 * opts.maxSize),
      batchedSize: opts.batchedSize ?? Math.max(1024, Math.min(16_384, opts.maxSize)),
      nonceOf: opts.nonceOf
    }
    this.log = opts.log ?? silentLogger
    this.verdicts = new VerdictCache(this.opts.verdictCacheSize)
  }

  /** Admits signed tx bytes or throws ValidationError with a stable code (see docs/ledger.md). */
  async add (bytes: Uint8Array): Promise<AddResult> {
    try {
      return await this.admit(bytes)
    } catch (err) {
      if (err instanceof BftError) this.rejected[err.code] = (this.rejected[err.code] ?? 0) + 1
      throw err
    }
  }

  private async admit (bytes: Uint8Array): Promise<AddResult> {
    if (!(bytes instanceof Uint8Array)) throw new ValidationError('ERR_TX_MALFORMED', 'transaction is not a byte array')
    if (bytes.length > this.opts.maxTxBytes) {
      throw new ValidationError('ERR_TX_OVERSIZE', `transaction of ${bytes.length} bytes exceeds maxTxBytes ${this.opts.maxTxBytes}`, { size: bytes.length })
    }
    return await this.admitDecoded(this.predecoded.get(bytes) ?? decodeTx(bytes))
  }

  private async admitDecoded (tx: DecodedTx): Promise<AddResult> {
    const bytes = tx.bytes
    const short = tx.idHex.slice(0, 16)
    if (this.entries.has(tx.idHex)) throw duplicate(tx)
    this.checkStateless(tx)
    const sender = tx.sender
    let fetched: number
    try {
      fetched = await this.opts.nonceOf(sender)
    } catch (err) {
      throw new BftError('ERR_NONCE_LOOKUP', `cannot read the nonce of ${sender}: ${errorMessage(err)}`)
    }
    // Everything below depends on the pool and runs without awaiting.
    if (this.entries.has(tx.idHex)) throw duplicate(tx)
    const q = this.senders.get(sender)
    const accountNonce = Math.max(fetched, q?.nonce ?? 0)
    const nonce = tx.body.nonce
    if (nonce < accountNonce) {
      throw new ValidationError('ERR_STALE_NONCE', `tx ${short}: nonce ${nonce} of ${sender} is already used (next is ${accountNonce}); replay refused`, { nonce, next: accountNonce })
    }
    if (nonce >= accountNonce + this.opts.maxNonceAhead) {
      throw new ValidationError('ERR_NONCE_TOO_FAR', `tx ${short}: nonce ${nonce} of ${sender} is more than ${this.opts.maxNonceAhead - 1} ahead of the next nonce ${accountNonce}`, { nonce, next: accountNonce })
    }
    const taken = q?.txs.get(nonce)
    if (taken !== undefined) {
      throw new ValidationError('ERR_DUPLICATE_TX', `tx ${short}: nonce ${nonce} of ${sender} is already pending as tx ${taken.idHex.slice(0, 16)}`, { nonce })
    }
    if ((q?.txs.size ?? 0) >= this.opts.maxPerSender) {
      throw new ValidationError('ERR_SENDER_LIMIT', `tx ${short}: sender ${sender} already has ${this.opts.maxPerSender} pending transactions`)
    }
    if (this.entries.size >= this.opts.maxSize) {
      throw new ValidationError('ERR_MEMPOOL_FULL', `tx ${short}: mempool is full (${this.opts.maxSize} transactions); retry later`)
    }
    const queue = q ?? { nonce: accountNonce, txs: new Map<number, Entry>() }
    queue.nonce = accountNonce
    if (q === undefined) this.senders.set(sender, queue)
    const entry: Entry = { id: tx.id, idHex: tx.idHex, bytes, sender, nonce, arrival: this.arrivals++, proposed: false, tx, retry: false }
    queue.txs.set(nonce, entry)
    this.entries.set(tx.idHex, entry)
    this.totalBytes += bytes.length
    let n = accountNonce
    while (n < nonce && queue.txs.has(n)) n++
    return { txId: tx.idHex, status: n === nonce ? 'added' : 'queued' }
  }

  /**
   * Checks the signatures of many txs in one batch (crypto's verifyMany) ahead of their
   * admission or isValid, so each of those then costs a verdict-cache hit instead of a signature
   * check: at ~40 % of the CPU per signature with the native batch verifier (docs/crypto.md). It
   * also keeps the decoded forms, so the bytes are not decoded twice.
   *
   * A tx of this chain gets its stateless verdict here: its signature's from the batch, then the
   * cheap rest (a refused signature gets the very error checkTxStateless would throw, so it is not
   * checked a second time); an undecodable tx or one of another chain is left for the usual path.
   * Results and error messages are the same with or without this call. An item with an `id` the
   * pool already holds is skipped (isValid answers those from the pool).
   */
  prevalidate (items: ReadonlyArray<{ bytes: Uint8Array, id?: Uint8Array }>): void {
    const todo: DecodedTx[] = []
    const keys: string[] = []
    for (const it of items) {
      if (!(it.bytes instanceof Uint8Array) || it.bytes.length > this.opts.maxTxBytes) continue
      if (it.id !== undefined && this.entries.has(toHex(it.id))) continue
      let tx = this.predecoded.get(it.bytes)
      if (tx === undefined) {
        try { tx = decodeTx(it.bytes) } catch { continue }
        this.predecoded.set(it.bytes, tx)
      }
      if (tx.body.chainId !== this.opts.chainId) continue
      const key = verdictKey(tx)
      if (!this.verdicts.has(key)) { todo.push(tx); keys.push(key) }
    }
    if (todo.length === 0) return
    const ok = verifyMany(todo.map(txSignedMessage))
    for (let i = 0; i < todo.length; i++) {
      const tx = todo[i]!
      const key = keys[i]!
      if (!ok[i]) { this.verdicts.set(key, badSignature(tx)); continue }
      try {
        checkTxStateless(tx, this.opts.chainId, { signatureChecked: true })
        this.verdicts.set(key, true)
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err
        this.verdicts.set(key, err)
      }
    }
  }

  /** Stateless checks through the verdict cache; throws the cached ValidationError. */
  private checkStateless (tx: DecodedTx): void {
    const key = verdictKey(tx)
    let verdict = this.verdicts.get(key)
    if (verdict === undefined) {
      try {
        checkTxStateless(tx, this.opts.chainId)
        verdict = true
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err
        verdict = err
      }
      this.verdicts.set(key, verdict)
    }
    if (verdict !== true) throw verdict
  }

  /**
   * Consensus's isValidRequest and execution's pre-check: true when `bytes` decode to a tx with
   * this id that passes the stateless checks. A cache hit costs one decode and no signature check.
   */
  isValid (txId: TxKey, bytes: Uint8Array): boolean {
    // The same bytes under the same id passed these checks at admission (they are stateless).
    const held = this.entries.get(keyHex(txId))
    if (held !== undefined && bytesEqual(held.bytes, bytes)) return true
    let tx: DecodedTx
    try {
      tx = this.predecoded.get(bytes) ?? decodeTx(bytes)
    } catch {
      return false
    }
    if (tx.idHex !== keyHex(txId)) return false
    try {
      this.checkStateless(tx)
      this.noteChecked(tx)
      return true
    } catch (err) {
      if (err instanceof ValidationError) return false
      throw err
    }
  }

  /**
   * For state's executeBlock({ decoded }): the decoded form of a held tx whose bytes are exactly
   * `bytes` (the id alone is the primary's claim; equal bytes make the decoding ours).
   */
  decoded (txId: TxKey, bytes: Uint8Array): DecodedTx | undefined {
    const idHex = keyHex(txId)
    const held = this.entries.get(idHex)
    if (held !== undefined) return bytesEqual(held.bytes, bytes) ? held.tx : undefined
    const b = this.batchedAt(hintOf(bytes), bytes)
    return b !== undefined && b.tx.idHex === idHex ? b.tx : undefined
  }

  private noteChecked (tx: DecodedTx): void {
    const hint = hintOf(tx.bytes)
    this.checked.delete(hint)
    this.checked.set(hint, tx)
    trimOldest(this.checked, this.opts.batchedSize)
  }

  /**
   * This node accepted a primary's batch of these requests (consensus's onBatchAccepted): the
   * ones isValid decoded (not held here) are remembered for absorbGossip.
   */
  acceptBatch (requests: readonly ClientRequest[]): void {
    for (const r of requests) {
      const hint = hintOf(r.bytes)
      const tx = this.checked.get(hint)
      if (tx === undefined || !bytesEqual(tx.bytes, r.bytes)) continue
      this.checked.delete(hint)
      if (this.entries.has(tx.idHex) || this.batchedAt(hint, r.bytes) !== undefined) continue
      this.batched.delete(hint)
      this.batched.set(hint, { tx, applied: false, gossiped: false })
      trimOldest(this.batched, this.opts.batchedSize)
    }
  }

  /** The remembered tx whose bytes are exactly `bytes` (`hint` = hintOf(bytes)). */
  private batchedAt (hint: string, bytes: Uint8Array): BatchedTx | undefined {
    const b = this.batched.get(hint)
    return b !== undefined && bytesEqual(b.tx.bytes, bytes) ? b : undefined
  }

  /**
   * A gossiped copy of tx bytes, before admission: 'applied' when they are a tx this node met in
   * a batch and a block since applied (the copy is stale), 'batched' when that batch is still
   * in flight; undefined for anything else, which is admitted as usual. A 'batched' tx is not
   * held: if a view change abandons its batch, adoptBatched() admits it then.
   */
  absorbGossip (bytes: Uint8Array): 'applied' | 'batched' | undefined {
    const hint = hintOf(bytes)
    const b = this.batchedAt(hint, bytes)
    if (b === undefined || this.entries.has(b.tx.idHex)) return undefined
    if (b.applied) { this.batched.delete(hint); return 'applied' }
    b.gossiped = true
    return 'batched'
  }

  /**
   * A block applied these tx bytes (consumed the nonce). For a tx met in a batch and not held,
   * marks it applied and returns its sender and nonce (so the caller need not decode it).
   */
  appliedFromBatch (bytes: Uint8Array): { sender: string, nonce: number } | undefined {
    const hint = hintOf(bytes)
    const b = this.batchedAt(hint, bytes)
    if (b === undefined) return undefined
    if (b.gossiped) this.batched.delete(hint)
    else b.applied = true
    return { sender: b.tx.sender, nonce: b.tx.body.nonce }
  }

  /**
   * After a view change: admits every tx met in a batch that no block applied, so a batch the
   * new view abandons is not lost to this node (as if its gossiped copy had been admitted).
   * Refusals (e.g. a nonce another tx used meanwhile) are dropped. Returns how many it admitted.
   */
  async adoptBatched (): Promise<number> {
    const pending: DecodedTx[] = []
    for (const [hint, b] of this.batched) {
      if (b.applied) continue
      pending.push(b.tx)
      this.batched.delete(hint)
    }
    let adopted = 0
    for (const tx of pending) {
      try { await this.admitDecoded(tx); adopted++ } catch { /* stale, duplicate or full: as for a late gossiped copy */ }
    }
    return adopted
  }

  get batchedCount (): number {
    return this.batched.size
  }

  /**
   * For state's executeBlock({ isSignatureValid }): a cached positive verdict skips the
   * signature check during execution; anything else is verified now.
   */
  readonly isSignatureValid = (_txIdHex: string, tx: DecodedTx): boolean => {
    if (this.verdicts.get(verdictKey(tx)) === true) return true
    return verifyTxSignature(tx)
  }

  has (txId: TxKey): boolean {
    return this.entries.has(keyHex(txId))
  }

  get (txId: TxKey): Uint8Array | undefined {
    return this.entries.get(keyHex(txId))?.bytes
  }

  /** Sender and nonce of a pending tx, without decoding it again. */
  senderNonce (txId: TxKey): { sender: string, nonce: number } | undefined {
    const e = this.entries.get(keyHex(txId))
    return e === undefined ? undefined : { sender: e.sender, nonce: e.nonce }
  }

  get size (): number {
    return this.entries.size
  }

  /**
   * Up to maxTxs ready, not yet proposed txs within maxBytes, by arrival; a tx that arrived
   * before its sender's lower nonce goes right after it. Same pool state, same answer.
   */
  reap (maxTxs: number, maxBytes: number): ClientRequest[] {
    const out: ClientRequest[] = []
    let bytes = 0
    const next = new Map<string, number>()
    const blocked = new Set<string>()
    for (const e of this.entries.values()) {
      if (out.length >= maxTxs) break
      if (e.proposed || blocked.has(e.sender)) continue
      const q = this.senders.get(e.sender)!
      const after = next.get(e.sender)
      let n = after ?? firstUnproposed(q)
      if (e.nonce !== n) continue
      if (e.retry && after === undefined && e.nonce > q.nonce) continue
      let cur: Entry | undefined = e
      while (cur !== undefined && out.length < maxTxs) {
        if (bytes + cur.bytes.length > maxBytes) { blocked.add(e.sender); break }
        out.push({ id: cur.id, bytes: cur.bytes })
        bytes += cur.bytes.length
        n++
        const succ: Entry | undefined = q.txs.get(n)
        // Successors that arrived later are picked up when the scan reaches them.
        cur = succ !== undefined && !succ.proposed && succ.arrival < e.arrival ? succ : undefined
      }
      next.set(e.sender, n)
    }
    return out
  }

  /** Taken into a pre-prepare (ours or the primary's): not reaped again until released or committed. */
  markProposed (txIds: Iterable<TxKey>): void {
    for (const id of txIds) {
      const e = this.entries.get(keyHex(id))
      if (e !== undefined) e.proposed = true
    }
  }

  /** The proposal was abandoned (view change): make its txs reapable again. */
  unmarkProposed (txIds: Iterable<TxKey>): void {
    for (const id of txIds) {
      const e = this.entries.get(keyHex(id))
      if (e !== undefined) e.proposed = false
    }
  }

  /** Committed with a retryable code (nonce gap): pending again, behind its predecessor (see Entry.retry). */
  markRetry (txIds: Iterable<TxKey>): void {
    for (const id of txIds) {
      const e = this.entries.get(keyHex(id))
      if (e !== undefined) { e.proposed = false; e.retry = true }
    }
  }

  /** Every held tx becomes reapable again (the node re-feeds consensus after a stall). */
  unmarkAllProposed (): void {
    for (const e of this.entries.values()) e.proposed = false
  }

  /**
   * A block committed: drop its txs, and per sender whose nonce moved (address -> next nonce),
   * every tx now below that nonce (a competing tx with a used nonce can never execute).
   * Returns how many txs left the pool.
   */
  onCommitted (txIds: Iterable<TxKey>, updatedNonces: ReadonlyMap<string, number> = new Map()): number {
    let removed = 0
    for (const id of txIds) {
      const e = this.entries.get(keyHex(id))
      if (e !== undefined) { this.remove(e); removed++ }
    }
    for (const [sender, nonce] of updatedNonces) {
      const q = this.senders.get(sender)
      if (q === undefined) continue
      q.nonce = Math.max(q.nonce, nonce)
      for (const [n, e] of q.txs) {
        if (n < q.nonce) { this.remove(e); removed++ }
      }
    }
    if (removed > 0) this.log.debug({ removed, size: this.entries.size }, 'mempool evicted committed txs')
    return removed
  }

  private remove (e: Entry): void {
    this.entries.delete(e.idHex)
    this.totalBytes -= e.bytes.length
    const q = this.senders.get(e.sender)
    if (q === undefined) return
    q.txs.delete(e.nonce)
    if (q.txs.size === 0) this.senders.delete(e.sender)
  }

  stats (): MempoolStats {
    let ready = 0; let proposed = 0
    for (const q of this.senders.values()) {
      let n = q.nonce
      while (q.txs.has(n)) { ready++; n++ }
      for (const e of q.txs.values()) if (e.proposed) proposed++
    }
    return {
      size: this.entries.size,
      bytes: this.totalBytes,
      ready,
      queued: this.entries.size - ready,
      proposed,
      senders: this.senders.size,
      verdictCacheSize: this.verdicts.size,
      verdictCacheHits: this.verdicts.hits,
      verdictCacheMisses: this.verdicts.misses,
      rejected: { ...this.rejected }
    }
  }
}

/** The full signature is part of the key (latin1: one char per byte, half the size of hex). */
function verdictKey (tx: DecodedTx): string {
  return tx.idHex + toLatin1(tx.sig)
}

/** Drops the oldest entries (insertion order) beyond `max`. */
function trimOldest (m: Map<string, unknown>, max: number): void {
  while (m.size > max) {
    const oldest = m.keys().next().value
    if (oldest === undefined) return
    m.delete(oldest)
  }
}

function firstUnproposed (q: SenderQueue): number {
  let n = q.nonce
  while (q.txs.get(n)?.proposed === true) n++
  return n
}

function duplicate (tx: DecodedTx): ValidationError {
  return new ValidationError('ERR_DUPLICATE_TX', `tx ${tx.idHex.slice(0, 16)} is already in the mempool`)
}
