export interface Row {
  fault: string
  target: string
  recoverS: number | null
  tpsDuring: number | null
  tpsAfter: number | null
  acked: number | null
  lost: number | null
  result: string
}

const fmt = (v: number | null, digits: number): string => v === null ? 'n/a' : v.toFixed(digits)

/** A fixed-width text table: one row per fault. */
export function renderTable (rows: readonly Row[]): string {
  const head = ['fault', 'target', 'recover s', 'tx/s during', 'tx/s after', 'acked', 'lost', 'result']
  const body = rows.map(r => [r.fault, r.target, fmt(r.recoverS, 1), fmt(r.tpsDuring, 1), fmt(r.tpsAfter, 1), fmt(r.acked, 0), fmt(r.lost, 0), r.result])
  const widths = head.map((h, i) => Math.max(h.length, ...body.map(b => b[i]!.length)))
  const line = (cells: string[]): string => '| ' + cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |'
  return [line(head), '|' + widths.map(w => '-'.repeat(w + 2)).join('|') + '|', ...body.map(line)].join('\n')
}
