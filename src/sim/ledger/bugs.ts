import { decodeBalance, executeBlock, type BlockContext, type ExecuteOptions, type ExecutionResult, type StateReader } from '../../state/index.js'
import { encode } from '../../codec/index.js'

/**
 * Deliberately broken executors the ledger checkers must catch:
 *   `mint` — every replica adds 1 to the first balance a block writes: the replicas agree with
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
    const bank = new TextEncoder().encode('bank/')
    const i = r.writes.findIndex(w => w.value !== null && Buffer.compare(w.key.subarray(0, bank.length), bank) === 0)
    if (i < 0) return r
    const w = r.writes[i]!
    const writes = [...r.writes]
    writes[i] = { key: w.key, value: encode(Number(decodeBalance(w.value!) + 1n)) }
    return { receipts: r.receipts, writes }
  }
}
