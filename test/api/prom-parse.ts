/** A strict-enough parser of the Prometheus text exposition format (0.0.4) for tests. */
export interface Sample { name: string, labels: Record<string, string>, value: number }

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+-?\d+)?$/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*/y

export function parseProm (text: string): { samples: Sample[], types: Map<string, string> } {
  const samples: Sample[] = []
  const types = new Map<string, string>()
  const lines = text.split('\n')
  lines.forEach((line, i) => {
    if (line.trim() === '') return
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*)(?: (.*))?$/.exec(line)
      if (m === null) {
        if (line.startsWith('# HELP') || line.startsWith('# TYPE')) throw new Error(`line ${i + 1}: bad comment: ${line}`)
        return
      }
      if (m[1] === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(m[3] ?? '')) throw new Error(`line ${i + 1}: bad type ${m[3]}`)
        if (types.has(m[2]!)) throw new Error(`line ${i + 1}: duplicate TYPE for ${m[2]}`)
        types.set(m[2]!, m[3]!)
      }
      return
    }
    const m = SAMPLE.exec(line)
    if (m === null) throw new Error(`line ${i + 1}: not a sample: ${line}`)
    const labels: Record<string, string> = {}
    const body = m[3] ?? ''
    LABEL.lastIndex = 0
    while (LABEL.lastIndex < body.length) {
      const at = LABEL.lastIndex
      const l = LABEL.exec(body)
      if (l === null || l.index !== at) throw new Error(`line ${i + 1}: bad labels: ${body}`)
      labels[l[1]!] = l[2]!
    }
    const v = m[4]!
    const value = v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : v === 'NaN' ? NaN : Number(v)
    if (Number.isNaN(value) && v !== 'NaN') throw new Error(`line ${i + 1}: bad value ${v}`)
    samples.push({ name: m[1]!, labels, value })
  })
  return { samples, types }
}
