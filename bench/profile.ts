import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

interface ProfileNode {
  id: number
  callFrame: { functionName: string, url: string, lineNumber: number }
  children?: number[]
}
interface CpuProfile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
  startTime: number
  endTime: number
}

export interface FrameShare {
  frame: string
  selfMs: number
  pct: number
}

/** The newest *.cpuprofile in dir, if any. */
export function newestProfile (dir: string): string | undefined {
  let best: { path: string, mtime: number } | undefined
  try {
    for (const f of readdirSync(dir)) {
      if (!f.endsWith('.cpuprofile')) continue
      const path = join(dir, f)
      const mtime = statSync(path).mtimeMs
      if (best === undefined || mtime > best.mtime) best = { path, mtime }
    }
  } catch { /* no dir */ }
  return best?.path
}

/**
 * Self time per function and per source area (node_modules package or src/ folder) of a V8
 * CPU profile, largest first.
 */
export function summarizeProfile (path: string, top = 25): { totalMs: number, frames: FrameShare[], areas: FrameShare[] } {
  const p = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile
  const byId = new Map(p.nodes.map(n => [n.id, n]))
  const self = new Map<number, number>()
  for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0))
  const frames = new Map<string, number>()
  const areas = new Map<string, number>()
  let total = 0
  for (const [id, us] of self) {
    const cf = byId.get(id)!.callFrame
    const file = cf.url.replace(/^file:\/\//, '')
    const frame = `${cf.functionName === '' ? '(anonymous)' : cf.functionName} ${shortFile(file)}${file === '' ? '' : `:${cf.lineNumber + 1}`}`
    frames.set(frame, (frames.get(frame) ?? 0) + us)
    const area = areaOf(file, cf.functionName)
    areas.set(area, (areas.get(area) ?? 0) + us)
    total += us
  }
  const rank = (m: Map<string, number>, k: number): FrameShare[] => [...m].sort((a, b) => b[1] - a[1]).slice(0, k)
    .map(([frame, us]) => ({ frame, selfMs: Math.round(us / 1000), pct: Math.round(1000 * us / Math.max(total, 1)) / 10 }))
  return { totalMs: Math.round(total / 1000), frames: rank(frames, top), areas: rank(areas, 20) }
}

function shortFile (file: string): string {
  const nm = file.lastIndexOf('node_modules/')
  if (nm >= 0) return file.slice(nm + 'node_modules/'.length)
  const d = file.indexOf('/dist/')
  return d >= 0 ? file.slice(d + 6) : file
}

function areaOf (file: string, fn: string): string {
  if (file === '') return fn.startsWith('(') ? fn : '(native)'
  const nm = file.lastIndexOf('node_modules/')
  if (nm >= 0) {
    const rest = file.slice(nm + 'node_modules/'.length).split('/')
    return rest[0]!.startsWith('@') ? `${rest[0]!}/${rest[1]!}` : rest[0]!
  }
  if (file.startsWith('node:')) return file
  const m = /\/dist\/src\/([^/]+)/.exec(file)
  return m !== null ? `src/${m[1]!}` : file
}
