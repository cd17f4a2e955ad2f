export type Invariant = 'agreement' | 'validity' | 'liveness' | 'certificate' | 'replica-error' | 'conservation' | 'exactly-once'

/** One broken invariant, precise enough to start debugging from: what, where, when. */
export interface Violation {
  invariant: Invariant
  /** Virtual time in ms. */
  time: number
  replica?: number
  seq?: number
  message: string
}

export function shortHex (b: Uint8Array | string): string {
  const h = typeof b === 'string' ? b : Buffer.from(b).toString('hex')
  return h.slice(0, 12)
}
