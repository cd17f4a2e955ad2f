import { bytesEqual, toHex } from '../codec/index.js'
import {
  batchDigest, openMessage, type MessageBody, type PrePrepare, type PrePrepareBody, type StableProof
} from './messages.js'
import { checkpointSignBytes, type ClientRequest, type ConsensusCrypto, type ReplicaConfig, type ReplicaId } from './types.js'

/**
 * Checks of signed evidence that travels inside other messages: stable checkpoint proofs,
 * prepared certificates and view changes. Pure functions; each returns an error string
 * saying exactly what is wrong, or the checked value.
 */

export interface Quorums {
  n: number
  f: number
  /** 2f+1: checkpoint certificates, view changes in a NEW-VIEW. */
  quorum: number
  /** Prepares needed besides the pre-prepare: 2f (f under the weak-quorum bug). */
  prepares: number
  /** Matching commits for committed-local: 2f+1 (f+1 under the weak-quorum bug). */
  commits: number
}

export interface Ctx {
  config: ReplicaConfig
  crypto: ConsensusCrypto
  q: Quorums
}

/** An accepted (or verified) pre-prepare with its original signed bytes. */
export interface Batch {
  view: number
  seq: number
  timestamp: number
  originView: number
  proposer: ReplicaId
  digest: Uint8Array
  requests: ClientRequest[]
  wire: Uint8Array
}

export interface PreparedProof {
  batch: Batch
  /** 2f signed PREPARE wires from distinct backups. */
  prepares: Uint8Array[]
}

export interface ViewChangeInfo {
  from: ReplicaId
  newView: number
  stable: StableProof
  prepared: Map<number, PreparedProof>
  wire: Uint8Array
}

export type Result<T> = { ok: T } | { error: string }

export function primaryOf (view: number, n: number): ReplicaId {
  return view % n
}

export function batchOf (body: PrePrepareBody, wire: Uint8Array): Batch {
  const p = body.payload
  return {
    view: p.view,
    seq: p.seq,
    timestamp: p.timestamp,
    originView: p.originView,
    proposer: p.proposer,
    digest: p.digest,
    requests: p.requests.map(r => ({ id: r.id, bytes: r.bytes })),
    wire
  }
}

export function digestMatches (crypto: ConsensusCrypto, p: PrePrepare): boolean {
  return bytesEqual(p.digest, batchDigest(crypto, p.timestamp, p.originView, p.proposer, p.requests.map(r => r.id)))
}

function openKind<K extends MessageBody['kind']> (ctx: Ctx, wire: Uint8Array, kind: K, what: string): Result<Extract<MessageBody, { kind: K }>> {
  const opened = openMessage(wire, ctx.config, ctx.crypto)
  if ('error' in opened) return { error: `${what}: ${opened.error}` }
  if (opened.body.kind !== kind) return { error: `${what}: expected ${kind}, got ${opened.body.kind}` }
  return { ok: opened.body as Extract<MessageBody, { kind: K }> }
}

/** Seq 0 is genesis and needs no signatures; any other seq needs a quorum of valid distinct ones. */
export function checkStableProof (ctx: Ctx, proof: StableProof): string | null {
  if (proof.seq === 0) return proof.signatures.length === 0 ? null : 'genesis checkpoint proof must carry no signatures'
  const seen = new Set<number>()
  for (const s of proof.signatures) {
    const v = ctx.config.validators[s.replica]
    if (v === undefined) return `checkpoint proof for seq ${proof.seq}: signer ${s.replica} is not a validator`
    if (seen.has(s.replica)) return `checkpoint proof for seq ${proof.seq}: signer ${s.replica} appears twice`
    seen.add(s.replica)
    const msg = checkpointSignBytes(ctx.config.chainId, proof.seq, proof.blockHash, proof.stateRoot)
    if (!ctx.crypto.verify(s.signature, msg, v.publicKey)) return `checkpoint proof for seq ${proof.seq}: bad signature from ${s.replica}`
  }
  if (seen.size < ctx.q.quorum) return `checkpoint proof for seq ${proof.seq} has ${seen.size} signatures, needs ${ctx.q.quorum}`
  return null
}

/** A signed pre-prepare from its view's primary plus enough matching prepares from distinct backups. */
export function checkPreparedCert (ctx: Ctx, cert: { prePrepare: Uint8Array, prepares: Uint8Array[] }): Result<PreparedProof> {
  const pp = openKind(ctx, cert.prePrepare, 'pre-prepare', 'prepared certificate pre-prepare')
  if ('error' in pp) return pp
  const p = pp.ok.payload
  const where = `prepared certificate (view ${p.view}, seq ${p.seq})`
  const primary = primaryOf(p.view, ctx.q.n)
  if (pp.ok.from !== primary) return { error: `${where}: pre-prepare signed by ${pp.ok.from}, not primary ${primary}` }
  if (!digestMatches(ctx.crypto, p)) return { error: `${where}: digest does not match the batch` }
  const signers = new Set<number>()
  for (const w of cert.prepares) {
    const v = openKind(ctx, w, 'prepare', `${where} prepare`)
    if ('error' in v) return v
    const vp = v.ok.payload
    if (vp.view !== p.view || vp.seq !== p.seq || !bytesEqual(vp.digest, p.digest)) return { error: `${where}: prepare from ${v.ok.from} does not match` }
    if (v.ok.from === primary) return { error: `${where}: prepare from the primary` }
    if (signers.has(v.ok.from)) return { error: `${where}: two prepares from ${v.ok.from}` }
    signers.add(v.ok.from)
  }
  if (signers.size < ctx.q.prepares) return { error: `${where}: ${signers.size} prepares, needs ${ctx.q.prepares}` }
  return { ok: { batch: batchOf(pp.ok, cert.prePrepare), prepares: cert.prepares } }
}

/** Full check of a VIEW-CHANGE: stable proof, and every prepared certificate above it inside the window. */
export function checkViewChange (ctx: Ctx, wire: Uint8Array): Result<ViewChangeInfo> {
  const vc = openKind(ctx, wire, 'view-change', 'view-change')
  if ('error' in vc) return vc
  const p = vc.ok.payload
  const where = `view-change to ${p.newView} from ${vc.ok.from}`
  // Cheap bounds first: each certificate costs 2f+1 signature checks.
  if (p.prepared.length > ctx.config.windowSize) return { error: `${where}: ${p.prepared.length} certificates exceed the window ${ctx.config.windowSize}` }
  if (p.stable.signatures.length > ctx.q.n) return { error: `${where}: ${p.stable.signatures.length} checkpoint signatures for ${ctx.q.n} validators` }
  for (const c of p.prepared) if (c.prepares.length > ctx.q.n) return { error: `${where}: a certificate carries ${c.prepares.length} prepares for ${ctx.q.n} validators` }
  const stableError = checkStableProof(ctx, p.stable)
  if (stableError !== null) return { error: `${where}: ${stableError}` }
  const prepared = new Map<number, PreparedProof>()
  for (const c of p.prepared) {
    const r = checkPreparedCert(ctx, c)
    if ('error' in r) return { error: `${where}: ${r.error}` }
    const b = r.ok.batch
    if (b.view >= p.newView) return { error: `${where}: certificate for view ${b.view} is not below the new view` }
    if (b.seq <= p.stable.seq || b.seq > p.stable.seq + ctx.config.windowSize) {
      return { error: `${where}: certificate for seq ${b.seq} outside (${p.stable.seq}, ${p.stable.seq + ctx.config.windowSize}]` }
    }
    if (prepared.has(b.seq)) return { error: `${where}: two certificates for seq ${b.seq}` }
    prepared.set(b.seq, r.ok)
  }
  return { ok: { from: vc.ok.from, newView: p.newView, stable: p.stable, prepared, wire } }
}

/** One slot of the NEW-VIEW plan: a re-issued prepared batch or a null batch. */
export interface PlanEntry {
  seq: number
  timestamp: number
  originView: number
  proposer: ReplicaId
  requests: ClientRequest[]
}

export interface NewViewPlan {
  stable: StableProof
  minS: number
  maxS: number
  entries: PlanEntry[]
}

/**
 * What the new primary must re-propose, computed the same way by the primary and by every
 * backup that checks a NEW-VIEW: for each seq in (min-s, max-s] the prepared batch with the
 * highest view (ties broken by digest so the choice is deterministic), or a null batch.
 * A null batch takes the timestamp of the nearest prepared batch above it (one always exists,
 * max-s is prepared), so block timestamps never go down across the gap.
 */
export function planNewView (view: number, n: number, vcs: ViewChangeInfo[]): NewViewPlan {
  let stable = vcs[0]!.stable
  for (const vc of vcs) if (vc.stable.seq > stable.seq) stable = vc.stable
  const minS = stable.seq
  const best = new Map<number, Batch>()
  let maxS = minS
  for (const vc of vcs) {
    for (const [seq, proof] of vc.prepared) {
      if (seq <= minS) continue
      const cur = best.get(seq)
      const b = proof.batch
      if (cur === undefined || b.view > cur.view || (b.view === cur.view && toHex(b.digest) > toHex(cur.digest))) best.set(seq, b)
      if (seq > maxS) maxS = seq
    }
  }
  const entries: PlanEntry[] = []
  let nextTimestamp = 0
  for (let seq = maxS; seq > minS; seq--) {
    const b = best.get(seq)
    if (b !== undefined) {
      entries.push({ seq, timestamp: b.timestamp, originView: b.originView, proposer: b.proposer, requests: b.requests })
      nextTimestamp = b.timestamp
    } else {
      entries.push({ seq, timestamp: nextTimestamp, originView: view, proposer: primaryOf(view, n), requests: [] })
    }
  }
  entries.reverse()
  return { stable, minS, maxS, entries }
}

/** Does a re-issued pre-prepare match its plan entry exactly (timestamp, origin, every request)? */
export function matchesPlan (b: Batch, e: PlanEntry): boolean {
  if (b.seq !== e.seq || b.timestamp !== e.timestamp || b.originView !== e.originView || b.proposer !== e.proposer) return false
  if (b.requests.length !== e.requests.length) return false
  for (let i = 0; i < e.requests.length; i++) {
    if (!bytesEqual(b.requests[i]!.id, e.requests[i]!.id) || !bytesEqual(b.requests[i]!.bytes, e.requests[i]!.bytes)) return false
  }
  return true
}
