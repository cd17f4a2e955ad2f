import { faultTolerance } from '../consensus/types.js'
import type { NetworkFaults, Partition } from './network.js'
import type { Prng } from './prng.js'

export type ByzantineBehaviour =
  /** Sends nothing at all. */
  | 'silent'
  /** As primary, sends different batches to different replicas. */
  | 'equivocate'
  /** Sends votes for a different digest to some replicas than to others. */
  | 'conflicting-votes'
  /** Sends messages with random signatures or claiming another sender. */
  | 'forge'
  /** Re-sends old messages (its own and others') at random later times. */
  | 'replay'
  /** Sends messages for views far ahead of the current one. */
  | 'future-view'

export const BYZANTINE_BEHAVIOURS: readonly ByzantineBehaviour[] = ['silent', 'equivocate', 'conflicting-votes', 'forge', 'replay', 'future-view']

export interface Crash {
  replica: number
  at: number
  restartAt: number
  /** Crash part-way through carrying out one step's effects (after some persists/sends, before the rest). */
  midStep: boolean
}

/** Everything that goes wrong in one run, drawn from the seed before the run starts. */
export interface FaultPlan {
  n: number
  f: number
  byzantine: Map<number, Set<ByzantineBehaviour>>
  crashes: Crash[]
  partitions: Partition[]
  network: NetworkFaults
  /** Per-replica clock offset in ms. */
  skews: number[]
  /** Submission times of the client requests. */
  requestTimes: number[]
  /** When the last fault heals: partitions gone, crashed replicas restarted, network calm. */
  healAt: number
}

export interface FaultMix {
  /** Number of Byzantine replicas; default: f in most runs, fewer in some. */
  byzantine?: number
  behaviours?: readonly ByzantineBehaviour[]
  crashes?: boolean
  partitions?: boolean
  networkFaults?: boolean
  requests?: number
  /** Length of the window in which faults happen (ms). */
  windowMs?: number
  maxSkewMs?: number
}

export function describePlan (p: FaultPlan): string {
  const byz = [...p.byzantine].map(([r, b]) => `${r}:${[...b].join('+') || 'honest-ish'}`).join(' ') || 'none'
  const crashes = p.crashes.map(c => `${c.replica}@${c.at}-${c.restartAt}${c.midStep ? '*' : ''}`).join(' ') || 'none'
  const parts = p.partitions.map(x => `${x.groups.map(g => g.join('')).join('|')}${x.oneWay ? '>' : ''}@${x.at}-${x.healAt}`).join(' ') || 'none'
  const net = p.network
  return `byzantine=[${byz}] crashes=[${crashes}] partitions=[${parts}] net=[delay ${net.minDelayMs}-${net.maxDelayMs} drop ${net.dropRate.toFixed(3)} dup ${net.duplicateRate.toFixed(3)} tail ${net.tailRate.toFixed(3)}/${net.tailDelayMs}] requests=${p.requestTimes.length} healAt=${p.healAt}`
}

export function generateFaultPlan (n: number, prng: Prng, mix: FaultMix = {}): FaultPlan {
  const { f } = faultTolerance(n)
  const window = mix.windowMs ?? prng.int(1000, 4000)

  const byzCount = mix.byzantine ?? (prng.chance(0.85) ? f : prng.int(0, f))
  const ids = prng.shuffle(Array.from({ length: n }, (_, i) => i))
  const byzantine = new Map<number, Set<ByzantineBehaviour>>()
  const allowed = mix.behaviours ?? BYZANTINE_BEHAVIOURS
  for (const r of ids.slice(0, byzCount)) {
    const b = new Set<ByzantineBehaviour>()
    if (allowed.includes('silent') && prng.chance(0.2)) b.add('silent')
    else for (const x of allowed) if (x !== 'silent' && prng.chance(0.5)) b.add(x)
    byzantine.set(r, b)
  }

  const crashes: Crash[] = []
  if (mix.crashes ?? true) {
    const count = prng.int(0, f + 1)
    for (let i = 0; i < count; i++) {
      const at = prng.int(0, Math.max(0, window - 200))
      crashes.push({ replica: prng.int(0, n - 1), at, restartAt: Math.min(window, at + prng.int(50, 2500)), midStep: prng.chance(0.5) })
    }
  }

  const partitions: Partition[] = []
  if (mix.partitions ?? true) {
    const count = prng.int(0, 3)
    for (let i = 0; i < count; i++) {
      const at = prng.int(0, Math.max(0, window - 100))
      const healAt = Math.min(window, at + prng.int(100, 3000))
      const shuffled = prng.shuffle(Array.from({ length: n }, (_, k) => k))
      const kind = prng.int(0, 2)
      const cut = kind === 0 ? 1 : prng.int(1, n - 1)
      partitions.push({ at, healAt, groups: [shuffled.slice(0, cut).sort(), shuffled.slice(cut).sort()], oneWay: kind === 2 })
    }
  }

  const faulty = mix.networkFaults ?? true
  const minDelayMs = prng.int(1, 10)
  const network: NetworkFaults = {
    minDelayMs,
    maxDelayMs: minDelayMs + prng.int(2, 60),
    dropRate: faulty ? prng.pick([0, 0.01, 0.05, 0.15]) : 0,
    duplicateRate: faulty ? prng.pick([0, 0.01, 0.05]) : 0,
    tailRate: faulty ? prng.pick([0, 0.01, 0.05]) : 0,
    tailDelayMs: prng.int(100, 1500)
  }

  const maxSkew = mix.maxSkewMs ?? 200
  const skews = Array.from({ length: n }, () => prng.int(-maxSkew, maxSkew))

  const requests = mix.requests ?? prng.int(3, 15)
  const requestTimes = Array.from({ length: requests }, () => prng.int(0, window)).sort((a, b) => a - b)

  let healAt = window
  for (const c of crashes) healAt = Math.max(healAt, c.restartAt)
  for (const p of partitions) healAt = Math.max(healAt, p.healAt)
  return { n, f, byzantine, crashes, partitions, network, skews, requestTimes, healAt }
}
