import type { ExecutedBlock } from '../app.js'
import type { LedgerApp, LedgerBlock } from '../ledger/app.js'
import { shortHex, type Violation } from './types.js'

export interface LedgerTotals {
  /** Receipts in the committed chain (each height counted once), by status. */
  receipts: Record<string, number>
  txsOk: number
  txsFailed: number
}

/**
 * Ledger invariants of the full-ledger app, on top of agreement (which compares block hash and
 * state root at every height):
 *   conservation — after every block a correct replica executes or adopts, the sum of all bank
 *                  balances in its state equals the genesis supply;
 *   exactly-once — in the committed chain no transaction is applied (nonce consumed) at two
 *                  heights; that every expected one is applied at all is liveness's job;
 *   at the end  — each correct replica's stored state root equals the canonical root at its
 *                  height (and so the others' at equal height), and its supply is the genesis one.
 */
export class LedgerChecker {
  private readonly appliedAt = new Map<string, number>()
  readonly totals: LedgerTotals = { receipts: {}, txsOk: 0, txsFailed: 0 }

  constructor (private readonly genesisSupply: bigint, private readonly report: (v: Violation) => void) {}

  /** Every block a correct replica executes or syncs; `canonical`: the first one seen at its seq. */
  onBlock (replica: number, block: ExecutedBlock, canonical: boolean, time: number): void {
    const b = block as LedgerBlock
    if (b.supply !== this.genesisSupply) {
      this.report({ invariant: 'conservation', time, replica, seq: b.seq, message: `replica ${replica} holds ${b.supply} in bank balances after seq ${b.seq}, genesis allocated ${this.genesisSupply} (${b.supply > this.genesisSupply ? 'created' : 'destroyed'} ${b.supply > this.genesisSupply ? b.supply - this.genesisSupply : this.genesisSupply - b.supply})` })
    }
    if (!canonical) return
    for (const code of b.receiptCodes) {
      this.totals.receipts[code] = (this.totals.receipts[code] ?? 0) + 1
      if (code === 'ok') this.totals.txsOk++
      else this.totals.txsFailed++
    }
    for (const id of b.appliedIds) {
      const at = this.appliedAt.get(id)
      if (at !== undefined) {
        this.report({ invariant: 'exactly-once', time, replica, seq: b.seq, message: `transaction ${shortHex(id)} is applied at seq ${at} and again at seq ${b.seq} of the committed chain` })
      } else {
        this.appliedAt.set(id, b.seq)
      }
    }
  }

  /** End of run: read each correct replica's stored state root and supply. */
  async final (apps: ReadonlyMap<number, LedgerApp>, canonicalRoot: (seq: number) => Uint8Array | undefined, time: number): Promise<void> {
    for (const [replica, app] of apps) {
      const seq = app.lastExecuted.seq
      const root = app.state.root()
      const expected = canonicalRoot(seq)
      if (expected !== undefined && Buffer.compare(root, expected) !== 0) {
        this.report({ invariant: 'agreement', time, replica, seq, message: `replica ${replica}'s final state root ${shortHex(root)} at height ${seq} differs from the committed chain's ${shortHex(expected)}` })
      }
      const supply = await app.supply()
      if (supply !== this.genesisSupply) {
        this.report({ invariant: 'conservation', time, replica, seq, message: `replica ${replica}'s final state holds ${supply} in bank balances, genesis allocated ${this.genesisSupply}` })
      }
    }
  }
}
