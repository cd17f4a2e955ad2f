import { toHex } from '../../src/codec/index.js'
import { keyPairFromSeed, type KeyPair } from '../../src/crypto/index.js'
import type { BlockContext, ExecutionResult, StateWrite } from '../../src/state/api.js'
import { executeBlock } from '../../src/state/executor.js'
import { address, createTx } from '../../src/state/tx.js'

export const CHAIN = 'test-chain'

export interface Account extends KeyPair { addr: string, nonce: number }

export function account (seed: number): Account {
  const kp = keyPairFromSeed(new Uint8Array(32).fill(seed))
  return { ...kp, addr: address(kp.publicKey), nonce: 0 }
}

/** Signs a call with the account's next nonce (and advances it). */
export function call (a: Account, contract: string, method: string, args: unknown, nonce?: number): Uint8Array {
  const n = nonce ?? a.nonce++
  return createTx({ chainId: CHAIN, sender: a.publicKey, nonce: n, contract, method, args }, a.secretKey)
}

/** An in-memory committed state that applies each block's writes, like the ledger does. */
export class MemState {
  readonly map = new Map<string, Uint8Array>()
  height = 0

  async get (key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.map.get(toHex(key))
  }

  apply (writes: StateWrite[]): void {
    for (const w of writes) {
      if (w.value === null) this.map.delete(toHex(w.key))
      else this.map.set(toHex(w.key), w.value)
    }
  }

  ctx (height: number): BlockContext {
    return { chainId: CHAIN, height, timestamp: 1_700_000_000_000 + height, proposer: 0 }
  }

  /** Executes txs as block height+1 (or `height`) and commits the writes. */
  async block (txs: Uint8Array[], height?: number): Promise<ExecutionResult> {
    this.height = height ?? this.height + 1
    const r = await executeBlock(this, this.ctx(this.height), txs)
    this.apply(r.writes)
    return r
  }
}
