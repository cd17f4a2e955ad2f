import { SingleBar, Presets } from 'cli-progress'
import { createTx, txIdHex } from '../src/state/tx.js'
import type { Sender } from './accounts.js'
import { prng } from './stats.js'

export interface PoolTx {
  bytes: Uint8Array
  id: string
  /** Index of the sender: decides the node the tx is submitted to (one sender, one node, in nonce order). */
  sender: number
}

export interface PoolOptions {
  chainId: string
  senders: Sender[]
  /** Addresses transfers go to (senders and fillers). */
  recipients: string[]
  seed: number
  progress: boolean
}

/**
 * Pre-signs transfers so signing costs nothing during the timed load. Nonces continue across
 * calls (a sweep runs many steps on one chain). Submission order is round-robin over senders,
 * so each sender has few txs in flight, well under the per-sender mempool limit.
 */
export class TxPool {
  private readonly nonces: number[]
  private readonly rand: () => number
  /** Signed but never sent by the last run: they hold nonces, so the next run sends them first. */
  private leftover: PoolTx[] = []

  constructor (private readonly opts: PoolOptions) {
    this.nonces = opts.senders.map(() => 0)
    this.rand = prng(opts.seed)
  }

  /** Txs a run did not send, in their order; they come first in the next sign(). */
  giveBack (txs: PoolTx[]): void {
    this.leftover = [...txs, ...this.leftover]
  }

  /** At least `count` txs (leftovers, then whole rounds over the senders), in submission order. */
  sign (count: number, label: string): PoolTx[] {
    const reuse = this.leftover
    this.leftover = []
    if (reuse.length >= count) return reuse
    return [...reuse, ...this.signRounds(count - reuse.length, label)]
  }

  private signRounds (count: number, label: string): PoolTx[] {
    const s = this.opts.senders.length
    const rounds = Math.max(1, Math.ceil(count / s))
    const out = new Array<PoolTx>(rounds * s)
    const bar = this.opts.progress ? new SingleBar({ format: `${label} [{bar}] {percentage}% {value}/{total} txs {eta}s left`, stream: process.stderr }, Presets.shades_classic) : undefined
    bar?.start(out.length, 0)
    let done = 0
    // Sender-major: the signer caches a few private-key objects, so one sender's txs are signed together.
    for (let i = 0; i < s; i++) {
      const sender = this.opts.senders[i]!
      for (let r = 0; r < rounds; r++) {
        const to = this.opts.recipients[Math.floor(this.rand() * this.opts.recipients.length)]!
        const bytes = createTx({ chainId: this.opts.chainId, sender: sender.publicKey, nonce: this.nonces[i]!++, contract: 'bank', method: 'transfer', args: { to, amount: 1 } }, sender.secretKey)
        out[r * s + i] = { bytes, id: txIdHex(bytes), sender: i }
        if (++done % 2000 === 0) bar?.update(done)
      }
    }
    bar?.update(done)
    bar?.stop()
    return out
  }
}
