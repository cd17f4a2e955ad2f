/** One point of the latency-vs-throughput curve. */
export interface CurvePoint {
  label: string
  tps: number
  p50: number
  p99: number
}

/**
 * A latency-vs-throughput chart as standalone SVG (no plotting dependency): committed tx/s on
 * x, submit-to-commit latency (ms, log scale) on y, p50 and p99 series.
 */
export function latencySvg (points: CurvePoint[], title: string): string {
  const W = 720
  const H = 440
  const L = 70
  const R = 20
  const T = 40
  const B = 60
  const pts = points.filter(p => Number.isFinite(p.tps) && Number.isFinite(p.p50) && Number.isFinite(p.p99))
  const xMax = niceCeil(Math.max(1, ...pts.map(p => p.tps)))
  const yMin = Math.max(1, 10 ** Math.floor(Math.log10(Math.max(1, Math.min(...pts.map(p => p.p50), 1e9)))))
  const yMax = 10 ** Math.ceil(Math.log10(Math.max(10, ...pts.map(p => p.p99))))
  const x = (v: number): number => L + (W - L - R) * v / xMax
  const y = (v: number): number => T + (H - T - B) * (1 - (Math.log10(Math.max(v, yMin)) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin)))
  const out: string[] = []
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`)
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`)
  out.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="14">${esc(title)}</text>`)
  for (let i = 0; i <= 5; i++) {
    const v = xMax * i / 5
    out.push(`<line x1="${x(v)}" y1="${T}" x2="${x(v)}" y2="${H - B}" stroke="#eee"/>`)
    out.push(`<text x="${x(v)}" y="${H - B + 16}" text-anchor="middle">${Math.round(v)}</text>`)
  }
  for (let e = Math.log10(yMin); e <= Math.log10(yMax); e++) {
    const v = 10 ** e
    out.push(`<line x1="${L}" y1="${y(v)}" x2="${W - R}" y2="${y(v)}" stroke="#eee"/>`)
    out.push(`<text x="${L - 6}" y="${y(v) + 4}" text-anchor="end">${v >= 1000 ? `${v / 1000}s` : `${v}ms`}</text>`)
  }
  out.push(`<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="black"/><line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="black"/>`)
  out.push(`<text x="${(L + W - R) / 2}" y="${H - 20}" text-anchor="middle">committed tx/s</text>`)
  out.push(`<text x="16" y="${(T + H - B) / 2}" text-anchor="middle" transform="rotate(-90 16 ${(T + H - B) / 2})">submit-to-commit latency</text>`)
  const sorted = [...pts].sort((a, b) => a.tps - b.tps)
  for (const [key, color] of [['p50', '#1f77b4'], ['p99', '#d62728']] as const) {
    const path = sorted.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.tps).toFixed(1)},${y(p[key]).toFixed(1)}`).join(' ')
    out.push(`<path d="${path}" fill="none" stroke="${color}" stroke-width="2"/>`)
    for (const p of sorted) out.push(`<circle cx="${x(p.tps).toFixed(1)}" cy="${y(p[key]).toFixed(1)}" r="3.5" fill="${color}"><title>${esc(p.label)}: ${Math.round(p.tps)} tx/s, ${key} ${Math.round(p[key])} ms</title></circle>`)
  }
  for (const p of sorted) out.push(`<text x="${x(p.tps).toFixed(1)}" y="${(y(p.p99) - 8).toFixed(1)}" text-anchor="middle" font-size="10" fill="#555">${esc(p.label)}</text>`)
  out.push(`<rect x="${L + 10}" y="${T + 6}" width="12" height="3" fill="#1f77b4"/><text x="${L + 26}" y="${T + 11}">p50</text>`)
  out.push(`<rect x="${L + 60}" y="${T + 6}" width="12" height="3" fill="#d62728"/><text x="${L + 76}" y="${T + 11}">p99</text>`)
  out.push('</svg>')
  return out.join('\n') + '\n'
}

function niceCeil (v: number): number {
  const p = 10 ** Math.floor(Math.log10(v))
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p) return m * p
  return 10 * p
}

function esc (s: string): string {
  return s.replace(/[<>&"]/g, c => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!)
}
