import { Prng } from '../../src/sim/prng.js'

/**
 * A seeded float stream for tests, from the simulator's PRNG so every test replays the same
 * way from a printed seed on every platform.
 */
export function rng (seed: number): () => number {
  const p = new Prng(seed >>> 0)
  return () => p.float()
}
