/**
 * Sums every sample of a Prometheus metric in a text exposition: all label sets, or only those
 * with the label `label` (e.g. `stage="write"`).
 */
export function promSum (text: string, name: string, label?: string): number {
  let sum = 0
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue
    const next = line.charAt(name.length)
    if (next !== ' ' && next !== '{') continue
    if (label !== undefined && !line.slice(name.length, line.lastIndexOf(' ')).includes(label)) continue
    const v = Number(line.slice(line.lastIndexOf(' ') + 1))
    if (Number.isFinite(v)) sum += v
  }
  return sum
}

export interface NodeCounters {
  committedTxs: number
  blocks: number
  viewChanges: number
  rejectedTxs: number
  /** Seconds spent by all committed blocks in each pipeline stage (bft_block_stage_seconds_sum). */
  executeS: number
  stateS: number
  writeS: number
}

export function countersOf (text: string): NodeCounters {
  return {
    committedTxs: promSum(text, 'bft_committed_txs_total'),
    blocks: promSum(text, 'bft_blocks_total'),
    viewChanges: promSum(text, 'bft_view_changes_total'),
    rejectedTxs: promSum(text, 'bft_rejected_txs_total'),
    executeS: promSum(text, 'bft_block_stage_seconds_sum', 'stage="execute"'),
    stateS: promSum(text, 'bft_block_stage_seconds_sum', 'stage="state"'),
    writeS: promSum(text, 'bft_block_stage_seconds_sum', 'stage="write"')
  }
}

/** Null if the node does not answer (twice, 15 s each: a busy node can be slow to render metrics). */
export async function scrapeCounters (url: string): Promise<NodeCounters | null> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const r = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(15_000) })
      if (r.ok) return countersOf(await r.text())
    } catch { /* retry once */ }
  }
  return null
}
