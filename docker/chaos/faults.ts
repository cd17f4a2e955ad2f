import type { Cluster, NodeRef } from './cluster.js'
import type { Podman } from './podman.js'

/** What a fault needs: the fault tools, the nodes, and how to recreate one container with extra env. */
export interface FaultContext {
  podman: Podman
  cluster: Cluster
  /** The compose network as podman names it (project-prefixed). */
  network: string
  viewChangeTimeoutMs: number
  maxClockSkewMs: number
  /** Removes a validator's container and brings it back from compose with this extra env. */
  recreate: (node: NodeRef, env: Record<string, string>) => Promise<void>
}

/** One planned fault: inject, keep it for holdMs, heal. */
export interface FaultRun {
  name: string
  target: string
  note: string
  holdMs: number
  /** Containers this fault starts afresh: each must log that its stored chain verified. */
  restarts: string[]
  inject: () => Promise<void>
  heal: () => Promise<void>
}

export interface FaultSpec {
  name: string
  plan: (ctx: FaultContext, primary: number) => FaultRun
}

function node (ctx: FaultContext, i: number): NodeRef {
  const n = ctx.cluster.nodes
  return n[((i % n.length) + n.length) % n.length]!
}

/** A view change needs at least one timer expiry; the timer backs off, so hold for three. */
const pastViewChange = (ctx: FaultContext): number => 3 * ctx.viewChangeTimeoutMs + 1000

export const FAULTS: FaultSpec[] = [
  {
    name: 'kill-restart',
    plan: (ctx, primary) => {
      const t = node(ctx, primary + 1)
      return {
        name: 'kill-restart',
        target: t.name,
        restarts: [t.name],
        note: 'SIGKILL a backup, start it 3 s later (WAL + block sync recovery)',
        holdMs: 3000,
        inject: async () => { await ctx.podman.kill(t.name, 'KILL') },
        heal: async () => { await ctx.podman.start(t.name) }
      }
    }
  },
  {
    name: 'kill-primary',
    plan: (ctx, primary) => {
      const t = node(ctx, primary)
      return {
        name: 'kill-primary',
        target: t.name,
        restarts: [t.name],
        note: 'SIGKILL the primary past the view-change timeout, then start it',
        holdMs: pastViewChange(ctx),
        inject: async () => { await ctx.podman.kill(t.name, 'KILL') },
        heal: async () => { await ctx.podman.start(t.name) }
      }
    }
  },
  {
    name: 'partition',
    plan: (ctx, primary) => {
      const t = node(ctx, primary + 2)
      return {
        name: 'partition',
        target: t.name,
        restarts: [],
        note: 'network disconnect a backup for 10 s, reconnect (it must catch up)',
        holdMs: 10_000,
        inject: async () => { await ctx.podman.disconnect(ctx.network, t.name) },
        heal: async () => { await ctx.podman.connect(ctx.network, t.name) }
      }
    }
  },
  {
    name: 'pause-primary',
    plan: (ctx, primary) => {
      const t = node(ctx, primary)
      return {
        name: 'pause-primary',
        target: t.name,
        restarts: [],
        note: 'freeze the primary (SIGSTOP via cgroup freezer) past the view-change timeout',
        holdMs: pastViewChange(ctx),
        inject: async () => { await ctx.podman.pause(t.name) },
        heal: async () => { await ctx.podman.unpause(t.name) }
      }
    }
  },
  {
    name: 'clock-skew',
    plan: (ctx, primary) => {
      const t = node(ctx, primary)
      const offset = Math.floor(ctx.maxClockSkewMs / 2)
      return {
        name: 'clock-skew',
        target: t.name,
        restarts: [t.name],
        note: `simulated: containers share the host kernel clock, so the primary restarts with BFT_CLOCK_OFFSET_MS=${offset} (half the allowed skew) for 10 s, then restarts without it`,
        holdMs: 10_000,
        inject: async () => { await ctx.recreate(t, { BFT_CLOCK_OFFSET_MS: String(offset) }) },
        heal: async () => { await ctx.recreate(t, {}) }
      }
    }
  },
  {
    name: 'restart-all',
    plan: (ctx) => ({
      name: 'restart-all',
      target: 'all',
      restarts: ctx.cluster.nodes.map(n => n.name),
      note: 'SIGTERM every validator at once, start them again: the ledger must reload and verify',
      holdMs: 1000,
      inject: async () => { await Promise.all(ctx.cluster.nodes.map(async n => { await ctx.podman.stop(n.name, 10) })) },
      heal: async () => { for (const n of ctx.cluster.nodes) await ctx.podman.start(n.name) }
    })
  }
]
