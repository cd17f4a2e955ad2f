import { existsSync, readFileSync } from 'node:fs'
import { ConfigError } from '../errors.js'

/**
 * Which malloc the validators run on.
 *
 * Why it matters: a saturated validator spends a large share of its CPU in malloc and free.
 * Every hash node:crypto returns, every value LevelDB hands back and every tree node's child
 * array is its own off-heap ArrayBuffer, allocated on the main thread and mostly freed by V8's
 * GC helper threads. glibc's malloc does that cross-thread pattern badly (unlink_chunk,
 * malloc_consolidate and _int_malloc were ~10 % of a validator's samples under perf). jemalloc,
 * preloaded, raised the benchmark's closed-loop rate by ~5 % at 10k accounts and ~12 % at 1M
 * (docs/performance.md, twelfth session). glibc's own tunables (trim threshold, top pad, mmap
 * threshold) did not.
 *
 * A process cannot change its allocator once started, so the choice is made where validators
 * are spawned (`npm start`, the benchmark) through LD_PRELOAD, and an operator starting
 * `bft-ledger start` by hand sets LD_PRELOAD=libjemalloc.so.2 (docs/operations.md); the
 * container image does so. BFT_LEDGER_MALLOC picks: unset or "auto" (jemalloc when installed),
 * "jemalloc" (required: refuse to spawn without it), "system" (glibc's malloc).
 */
export type MallocChoice = 'auto' | 'jemalloc' | 'system'

/** Where Debian/Ubuntu (libjemalloc2), Fedora/RHEL (jemalloc) and source builds install it. */
const JEMALLOC_PATHS = [
  '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2',
  '/usr/lib/aarch64-linux-gnu/libjemalloc.so.2',
  '/usr/lib64/libjemalloc.so.2',
  '/usr/lib/libjemalloc.so.2',
  '/usr/local/lib/libjemalloc.so.2'
]

export function parseMallocChoice (value: string | undefined): MallocChoice {
  if (value === undefined || value === '' || value === 'auto') return 'auto'
  if (value === 'jemalloc' || value === 'system') return value
  throw new ConfigError(`BFT_LEDGER_MALLOC must be "auto", "jemalloc" or "system", got "${value}"`)
}

/** The first installed jemalloc library, or null. `exists` is injectable for tests. */
export function findJemalloc (exists: (path: string) => boolean = existsSync): string | null {
  return JEMALLOC_PATHS.find(p => exists(p)) ?? null
}

/**
 * Environment additions for a validator child process: LD_PRELOAD of jemalloc when the choice
 * allows it and it is installed. An LD_PRELOAD the user already set is left alone (they chose).
 * Throws ConfigError for a bad BFT_LEDGER_MALLOC, or "jemalloc" where none is installed.
 */
export function validatorMallocEnv (env: NodeJS.ProcessEnv = process.env, find: () => string | null = findJemalloc): Record<string, string> {
  const choice = parseMallocChoice(env.BFT_LEDGER_MALLOC)
  if (choice === 'system' || (env.LD_PRELOAD !== undefined && env.LD_PRELOAD !== '')) return {}
  const lib = find()
  if (lib === null) {
    if (choice === 'jemalloc') throw new ConfigError(`BFT_LEDGER_MALLOC is "jemalloc", but no libjemalloc.so.2 was found (looked in ${JEMALLOC_PATHS.join(', ')}); install it (Debian: apt-get install libjemalloc2) or unset the variable`)
    return {}
  }
  return { LD_PRELOAD: lib }
}

/**
 * The malloc this process runs on: "jemalloc" when a libjemalloc is mapped into it (preloaded or
 * linked), else "system". Read from /proc/self/maps; "system" where /proc is missing.
 */
export function runningMalloc (maps: () => string = () => readFileSync('/proc/self/maps', 'utf8')): 'jemalloc' | 'system' {
  try {
    return /libjemalloc[^/\s]*\.so/.test(maps()) ? 'jemalloc' : 'system'
  } catch {
    return 'system'
  }
}
