import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { execFileSync } from 'node:child_process'

/** CPU time (user + system, seconds) and resident memory (bytes) of one process, from /proc. */
export interface ProcSample {
  /** All threads of the process. */
  cpuSeconds: number
  /**
   * The main thread alone (/proc/<pid>/task/<pid>/stat): JavaScript, consensus, execution.
   * The rest is LevelDB's compaction thread, the libuv pool (LevelDB reads and writes, fsync)
   * and V8's GC helpers, which the main-thread profile does not see.
   */
  mainCpuSeconds: number
  rssBytes: number
}

let ticks: number | undefined
/** Clock ticks per second of /proc/<pid>/stat times (almost always 100; asked once). */
export function clockTicks (): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim())
    } catch { /* getconf missing: use the Linux default */ }
    if (ticks === undefined || !(ticks > 0)) ticks = 100
  }
  return ticks
}

/**
 * Parses /proc/<pid>/stat: the command name (field 2) may contain spaces and parentheses, so
 * fields are counted from the LAST ')'. utime and stime are fields 14 and 15.
 */
export function parseStatCpuTicks (stat: string): number {
  const close = stat.lastIndexOf(')')
  if (close < 0) throw new Error(`not a /proc/<pid>/stat line: ${stat.slice(0, 60)}`)
  const rest = stat.slice(close + 2).split(' ')
  // rest[0] is field 3 (state), so field k is rest[k - 3].
  const utime = Number(rest[11])
  const stime = Number(rest[12])
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error('unparsable utime/stime in /proc/<pid>/stat')
  return utime + stime
}

/** VmRSS from /proc/<pid>/status in bytes (the kernel writes it in kB). */
export function parseStatusRss (status: string): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)
  return m === null ? 0 : Number(m[1]) * 1024
}

/** Null when the process is gone (or /proc is not there). */
export function sampleProc (pid: number): ProcSample | null {
  try {
    // The main thread first: read before the total, it can never exceed it.
    const main = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8')
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    return {
      cpuSeconds: parseStatCpuTicks(stat) / clockTicks(),
      mainCpuSeconds: parseStatCpuTicks(main) / clockTicks(),
      rssBytes: parseStatusRss(status)
    }
  } catch {
    return null
  }
}

/**
 * Bytes of every file under `dir` (a validator's data directory: LevelDB files and the WAL),
 * or null if it cannot be read. Files LevelDB deletes while we walk are skipped.
 */
export function dirBytes (dir: string): number | null {
  let total = 0
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name)
      if (e.isDirectory()) walk(p)
      else if (e.isFile()) {
        try { total += statSync(p).size } catch { /* deleted by a compaction meanwhile */ }
      }
    }
  }
  try {
    walk(dir)
  } catch {
    return null
  }
  return total
}
