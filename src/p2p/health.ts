export interface HealthInit {
  suspectAfterMs: number
  now: () => number
  onSuspect: (peerId: string) => void
  onAlive: (peerId: string) => void
}

interface PeerHealth {
  lastSeenMs: number | null
  rttMs: number | null
  suspected: boolean
  pinging: boolean
}

export interface HealthView {
  lastSeenMs: number | null
  rttMs: number | null
  suspected: boolean
}

/**
 * Failure detector fed by pings and by any traffic from a peer: a peer is suspected when
 * nothing was heard from it for suspectAfterMs (counted from our start if never heard).
 * Pure bookkeeping; node.ts runs the pings.
 */
export class FailureDetector {
  private readonly peers = new Map<string, PeerHealth>()
  private readonly startedAt: number

  constructor (private readonly init: HealthInit) {
    this.startedAt = init.now()
  }

  /** Anything arrived from the peer. */
  seen (peerId: string, rttMs?: number): void {
    const p = this.entry(peerId)
    p.lastSeenMs = this.init.now()
    if (rttMs !== undefined) p.rttMs = rttMs
    if (p.suspected) {
      p.suspected = false
      this.init.onAlive(peerId)
    }
  }

  /** Returns false if a ping to this peer is still outstanding. */
  beginPing (peerId: string): boolean {
    const p = this.entry(peerId)
    if (p.pinging) return false
    p.pinging = true
    return true
  }

  endPing (peerId: string): void {
    this.entry(peerId).pinging = false
  }

  /** Re-evaluates every tracked peer against the clock. */
  check (peerIds: Iterable<string>): void {
    const t = this.init.now()
    for (const id of peerIds) {
      const p = this.entry(id)
      const since = p.lastSeenMs ?? this.startedAt
      if (!p.suspected && t - since > this.init.suspectAfterMs) {
        p.suspected = true
        this.init.onSuspect(id)
      }
    }
  }

  view (peerId: string): HealthView {
    const p = this.entry(peerId)
    return { lastSeenMs: p.lastSeenMs, rttMs: p.rttMs, suspected: p.suspected }
  }

  private entry (peerId: string): PeerHealth {
    let p = this.peers.get(peerId)
    if (p === undefined) {
      p = { lastSeenMs: null, rttMs: null, suspected: false, pinging: false }
      this.peers.set(peerId, p)
    }
    return p
  }
}
