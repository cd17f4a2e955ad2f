import type { HeadCheck, StepResult } from './step.js'
import { round } from './stats.js'

export interface VerifyBound {
  /** node:crypto ed25519 verifies/s on one core, including the validity pre-check. */
  perCore: number
  cores: number
  validators: number
  /** perCore x cores / validators: every validator verifies every tx. The issue's yardstick. */
  bound: number
  /** The library that runs the validators' verify equation (src/crypto/sodium.ts). */
  validatorVerifier: 'libsodium' | 'node:crypto'
  /** Verifies/s on one core on the validators' own path, and the bound it gives. */
  validatorPerCore: number
  validatorBound: number
  /**
   * The validators' batch verifier (src/crypto/batch.ts; null: not built), its verifies/s on one
   * core in batches of 64, and the bound that gives. Validators check most signatures in batches.
   */
  validatorBatchVerifier: 'ed25519-donna' | null
  validatorBatchPerCore: number | null
  validatorBatchBound: number | null
}

export type TimelineSecond = StepResult['timeline'][number]

/**
 * Where a run's tail came from, from its per-second timeline: the `top` seconds of the window
 * with the highest p99, and the window's seconds in which nothing committed (a stall, e.g. a
 * view change). Seconds past the window (the drain) are left out.
 */
export function timelineSummary (timeline: readonly TimelineSecond[], windowS: number, top = 3): string {
  const inWindow = timeline.filter(x => x.s < Math.floor(windowS))
  const seen = new Set(inWindow.map(x => x.s))
  let stalls = 0
  for (let s = 0; s < Math.floor(windowS); s++) if (!seen.has(s)) stalls++
  const worst = [...inWindow].sort((a, b) => b.p99 - a.p99 || a.s - b.s).slice(0, top)
    .map(x => `s=${x.s} p99 ${Math.round(x.p99)} (p50 ${Math.round(x.p50)}, ${x.committed} txs)`)
  return `${worst.length === 0 ? 'no commits in the window' : `slowest ${worst.join(', ')}`}; seconds without a commit: ${stalls}`
}

/** AGREE (with the catch-up wait when one was needed), or DISAGREE: behind (same chain) or forked. */
export function headsVerdict (h: HeadCheck): string {
  const waited = h.waitedS !== undefined && h.waitedS >= 1 ? ` after ${round(h.waitedS)} s` : ''
  if (h.agreed) return `AGREE${waited}`
  const forked = h.forked ?? []
  return `DISAGREE${waited} (${forked.length > 0 ? `FORKED: node ${forked.join(', ')}` : 'lagging nodes on the same chain, not caught up'})`
}

/** One line per node of a run whose heads disagree: where each replica stands. */
export function nodePositions (nodes: NonNullable<HeadCheck['nodes']>): string[] {
  return nodes.map((n, i) => {
    if (n === null) return `  node ${i}         unreachable`
    const c = n.consensus
    return `  node ${i}         view ${c.view}${c.inViewChange ? ` (changing to ${c.targetView})` : ''}, executed ${c.lastExecuted}, decided ${c.decided}, executing ${c.executing ?? '-'}, low ${c.lowWatermark}, next seq ${c.nextSeq}, pending ${c.pendingRequests}, peers ${n.peersConnected}`
  })
}

/** Human-readable block for one run. */
export function formatStep (r: StepResult & { ratioOfBound: number }, v: VerifyBound): string {
  const l = r.latencyMs
  const rej = Object.entries(r.rejected).map(([k, n]) => `${k}=${n}`).join(' ') || '0'
  const lines = [
    `-- ${r.label} (${r.rate === 'max' ? 'closed loop' : 'open loop'}, ${round(r.durationS)} s) --`,
    ...(r.warmLoad === undefined ? [] : [`warm-up load     ${round(r.warmLoad.durationS)} s before the clock, not measured: ${r.warmLoad.committed} of ${r.warmLoad.sent} committed, lost ${r.warmLoad.lost}, duplicates ${r.warmLoad.duplicates}, p99 ${round(r.warmLoad.p99Ms)} ms`]),
    `committed        ${round(r.committedTps)} tx/s  (${r.committedInWindow} in window, ${r.committedTotal} total; sent ${r.sent}, accepted ${r.accepted})`,
    `verify bound     ${Math.round(v.bound)} tx/s  -> ratio ${round(r.ratioOfBound, 3)}${v.validatorVerifier === 'node:crypto' ? '' : `  (${v.validatorVerifier} bound ${Math.round(v.validatorBound)} tx/s -> ${round(r.committedTps / v.validatorBound, 3)})`}${v.validatorBatchBound === null || v.validatorBatchBound === undefined ? '' : `  (batches of 64 bound ${Math.round(v.validatorBatchBound)} tx/s -> ${round(r.committedTps / v.validatorBatchBound, 3)})`}`,
    `latency ms       p50 ${round(l.p50)}  p95 ${round(l.p95)}  p99 ${round(l.p99)}  max ${round(l.max)}  (n=${l.count})`,
    `timeline (ms)    ${timelineSummary(r.timeline, r.durationS)}`,
    `blocks           ${round(r.blocksPerS, 2)} /s, avg batch ${round(r.avgBatch)} txs`,
    `view changes     ${r.viewChanges}`,
    `block stages     execute ${round(r.blockStagesMs.execute)} ms, state tree ${round(r.blockStagesMs.state)} ms, write ${round(r.blockStagesMs.write)} ms (mean per block, all validators)`,
    `rejected         client: ${rej}; node admission counter: ${r.nodeRejectedTxs}`,
    `lost/duplicate   ${r.lost} / ${r.duplicates}${r.retried > 0 ? `   (${r.retried} inclusions refused for a nonce gap, committed later)` : ''}${r.reincluded > 0 ? `   (${r.reincluded} re-inclusions of applied txs, refused without effect)` : ''}${r.clientStalls > 0 ? `   (client stalls: ${r.clientStalls})` : ''}`,
    ...r.validators.map((x, i) => `validator ${i}      cpu ${round(x.cpuPct)}% (main thread ${round(x.mainCpuPct)}%, other threads ${round(x.cpuPct - x.mainCpuPct)}%)  rss max ${round(x.rssMaxMB)} MB, end ${round(x.rssEndMB)} MB${x.dataMB === undefined || x.dataMB === null ? '' : `, data ${round(x.dataMB)} MB`}${x.malloc === undefined ? '' : `, malloc ${x.malloc}`}  (pid ${x.pid})`),
    `efficiency       ${round(r.txPerValidatorCpuSecond)} committed tx per CPU-second of all ${v.validators} validators together (x ${v.cores} cores = ${Math.round(r.txPerValidatorCpuSecond * v.cores)} tx/s if the validators had every core to themselves; meaningful only at saturation)`,
    `load generator   cpu ${round(r.benchCpuPct)}%; machine load average ${round(r.loadAvg[0], 2)} -> ${round(r.loadAvg[1], 2)} (cores are shared with everything else running)`,
    `heads            ${headsVerdict(r.heads)} height ${r.heads.heights.join(',')} head ${[...new Set(r.heads.headHashes.map(h => h.slice(0, 16)))].join(',')}`,
    `node commits     ${r.nodeCommittedTxs.join(', ')}${r.startHeads.agreed ? '' : '   (a validator was still behind when the clock started: its count includes earlier blocks)'}`
  ]
  if (r.startHeads.waitedS >= 1) lines.push(`start            waited ${round(r.startHeads.waitedS, 1)} s for every validator to reach the same head before the clock started`)
  if (r.heads.nodes !== undefined) lines.push(...nodePositions(r.heads.nodes))
  if (r.submitErrors.length > 0) lines.push(`submit errors    ${r.submitErrors.join(' | ')}`)
  if (r.watchError !== undefined) lines.push(`events           ${r.watchError}`)
  return lines.join('\n')
}
