export interface BackoffOptions {
  baseMs: number
  maxMs: number
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 200, maxMs: 10_000 }

/**
 * Delay before redial number `attempt` (0-based): exponential, capped, with "equal jitter"
 * (half fixed, half random) so peers that lost each other at the same moment do not redial
 * in lockstep. `random` returns [0, 1) and is injectable for replayable tests.
 */
export function backoffDelay (attempt: number, opts: BackoffOptions, random: () => number): number {
  const exp = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.min(attempt, 30))
  return Math.round(exp / 2 + (exp / 2) * random())
}
