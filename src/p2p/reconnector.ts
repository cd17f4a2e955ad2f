import type { Logger } from '../log.js'
import { errorMessage } from '../errors.js'
import { backoffDelay, type BackoffOptions } from './backoff.js'

export interface StaticPeer {
  peerId: string
  addrs: string[]
}

export interface ReconnectorInit {
  peers: StaticPeer[]
  dial: (peerId: string, addr: string, timeoutMs: number) => Promise<unknown>
  connected: (peerId: string) => boolean
  /** ms until a ban on the peer ends, 0 when not banned. */
  banRemainingMs: (peerId: string) => number
  backoff: BackoffOptions
  random: () => number
  /**
   * True for peers we should dial first. Both ends of a pair usually list each other; if both
   * dial at once the pair ends up with two connections and one must be closed, losing what
   * was buffered on it. So the other end waits `yieldMs` before its first dial and only dials
   * if the connection has not come in by then.
   */
  dialsFirst: (peerId: string) => boolean
  yieldMs: number
  dialTimeoutMs: number
  logger: Logger
}

interface PeerDialState {
  attempt: number
  timer: NodeJS.Timeout | undefined
  dialing: boolean
}

/**
 * Keeps dialing every configured peer forever: after start, after a disconnect (peer restart,
 * partition) and after failed dials, with exponential backoff and jitter. A successful
 * connection resets the backoff.
 */
export class Reconnector {
  private readonly state = new Map<string, PeerDialState>()
  private running = false

  constructor (private readonly init: ReconnectorInit) {
    for (const p of init.peers) this.state.set(p.peerId, { attempt: 0, timer: undefined, dialing: false })
  }

  start (): void {
    this.running = true
    // Spread the first dials a little so a whole testnet started at once does not dial in lockstep.
    for (const id of this.state.keys()) {
      const wait = this.init.dialsFirst(id) ? 0 : this.init.yieldMs
      this.schedule(id, wait + Math.round(this.init.random() * this.init.backoff.baseMs / 2))
    }
  }

  stop (): void {
    this.running = false
    for (const s of this.state.values()) {
      clearTimeout(s.timer)
      s.timer = undefined
    }
  }

  onConnect (peerId: string): void {
    const s = this.state.get(peerId)
    if (s === undefined) return
    s.attempt = 0
    clearTimeout(s.timer)
    s.timer = undefined
  }

  onDisconnect (peerId: string): void {
    const s = this.state.get(peerId)
    if (s === undefined) return
    const wait = this.init.dialsFirst(peerId) ? 0 : this.init.yieldMs
    this.schedule(peerId, wait + backoffDelay(s.attempt, this.init.backoff, this.init.random))
  }

  /** Safety net, called periodically: any configured peer that is down and not scheduled gets scheduled. */
  ensure (): void {
    for (const [id, s] of this.state) {
      if (!this.init.connected(id) && s.timer === undefined && !s.dialing) {
        this.schedule(id, backoffDelay(s.attempt, this.init.backoff, this.init.random))
      }
    }
  }

  private schedule (peerId: string, delayMs: number): void {
    const s = this.state.get(peerId)
    if (s === undefined || !this.running || s.timer !== undefined || s.dialing) return
    const wait = Math.max(delayMs, this.init.banRemainingMs(peerId))
    s.timer = setTimeout(() => {
      s.timer = undefined
      void this.run(peerId, s)
    }, wait)
  }

  private async run (peerId: string, s: PeerDialState): Promise<void> {
    if (!this.running || this.init.connected(peerId)) return
    const peer = this.init.peers.find(p => p.peerId === peerId)
    if (peer === undefined) return
    s.dialing = true
    try {
      for (const addr of peer.addrs) {
        if (!this.running || this.init.connected(peerId)) break
        try {
          await this.init.dial(peerId, addr, this.init.dialTimeoutMs)
          break
        } catch (err) {
          this.init.logger.debug({ peer: peerId, addr, attempt: s.attempt, err: errorMessage(err) }, 'dial failed')
        }
      }
    } finally {
      s.dialing = false
    }
    if (this.running && !this.init.connected(peerId)) {
      s.attempt++
      this.schedule(peerId, backoffDelay(s.attempt, this.init.backoff, this.init.random))
    }
  }
}
