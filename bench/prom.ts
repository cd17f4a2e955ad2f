/** Sums every sample of a Prometheus metric (all label sets) in a text exposition. */
export function promSum (text: string, name: string): number {
  let sum = 0
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue
    const next = line.charAt(name.length)
    if (next !== ' ' && next !== '{') continue
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
}

export function countersOf (text: string): NodeCounters {
  return {
    committedTxs: promSum(text, 'bft_committed_txs_total'),
    blocks: promSum(text, 'bft_blocks_total'),
    viewChanges: promSum(text, 'bft_view_changes_total'),
    rejectedTxs: promSum(text, 'bft_rejected_txs_total')
  }
}

export async function scrapeCounters (url: string): Promise<NodeCounters | null> {
  try {
    const r = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) })
    if (!r.ok) return null
    return countersOf(await r.text())
  } catch {
    return null
  }
}
