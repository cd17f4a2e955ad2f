import { decodeAccount, encodeAccount, executeBlock, type BlockContext, type ExecuteOptions, type ExecutionResult, type StateReader } from '../../state/index.js'

/**
 * Deliberately broken executors the ledger checkers must catch:
 *   `mint` — every replica adds 1 to the balance of the first account a block writes: the replicas agree with
 *            each other, but money is created (conservation);
 *   `diverge` — only odd-numbered replicas do that: their state roots differ from the even
 *            ones' (agreement on state roots).
 */
export type LedgerBug = 'mint' | 'diverge'
export const LEDGER_BUGS: readonly LedgerBug[] = ['mint', 'diverge']

export type Executor = (reader: StateReader, ctx: BlockContext, txs: Uint8Array[], opts: ExecuteOptions) => Promise<ExecutionResult>

export function executorFor (bug: LedgerBug | undefined, replica: number): Executor {
  if (bug === undefined || (bug === 'diverge' && replica % 2 === 0)) return executeBlock
  return async (reader, ctx, txs, opts) => {
    const r = await executeBlock(reader, ctx, txs, opts)
    const acct = new TextEncoder().encode('acct/')
    const i = r.writes.findIndex(w => w.value !== null && Buffer.compare(w.key.subarray(0, acct.length), acct) === 0)
    if (i < 0) return r
    const w = r.writes[i]!
    const writes = [...r.writes]
    const a = decodeAccount(w.value)
    writes[i] = { key: w.key, value: encodeAccount({ ...a, balance: a.balance + 1n }) }
    return { receipts: r.receipts, writes }
  }
}
