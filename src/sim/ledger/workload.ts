import { toHex, utf8 } from '../../codec/index.js'
import { address, keyPairFromSeed, sha256, type KeyPair } from '../../crypto/index.js'
import type { ClientRequest } from '../../consensus/types.js'
import { createTx, txId, type TxBody } from '../../state/index.js'
import { Prng } from '../prng.js'

/** One client request of a run and whether a correct cluster must commit it. */
export interface WorkloadItem {
  request: ClientRequest
  /**
   * True for transactions the ledger must apply exactly once (their nonce is consumed, whatever
   * the receipt says); false for ones the mempool must refuse or hold forever (bad signature,
   * wrong chain, nonce gap). A replay repeats an earlier item's request and its expectation.
   */
  expectCommit: boolean
  kind: WorkloadKind
}

export type WorkloadKind =
  /** HashChainApp's MAC'd stand-in requests (requests.ts). */
  | 'request'
  | 'transfer' | 'overdraft' | 'kv' | 'lock' | 'atomic' | 'atomic-failing'
  | 'replay' | 'bad-signature' | 'wrong-chain' | 'nonce-gap'

/** What the simulator's clients submit: the hash-chain requests or the ledger's signed transactions. */
export interface Workload {
  next: () => WorkloadItem
  /** isValidRequest for replicas that have no mempool of their own (Byzantine hosts). */
  isValid: (request: ClientRequest) => boolean
}

interface Account {
  keys: KeyPair
  address: string
  /** Next nonce this client will sign with (it only counts transactions meant to commit). */
  nonce: number
}

/** More than the whole supply: a transfer of this always overdraws. */
const OVERDRAFT = 10n ** 15n

/**
 * Seeded clients of the full ledger: `accounts` funded genesis accounts with ed25519 keys
 * derived from the seed, sending real signed transactions (bank transfers, kv, lock, atomic)
 * plus deliberately bad ones: replays of earlier transactions, nonce gaps (from an extra funded
 * account whose nonce 0 never comes), overdrafts, bad signatures and a wrong chain id. Senders
 * are picked least-recently-used so one account's transactions are spread out in time.
 */
export class LedgerWorkload implements Workload {
  readonly accounts: Account[] = []
  /** Funded, but only ever sends nonces 1, 2, ...: every one of them waits for nonce 0 forever. */
  readonly gapAccount: Account
  readonly balances: Array<{ address: string, amount: bigint }>
  private readonly prng: Prng
  private readonly valid = new Map<string, Uint8Array>()
  private readonly sent: WorkloadItem[] = []
  private readonly lastUse: number[] = []
  private gapNonce = 1
  private count = 0

  constructor (seed: number, private readonly chainId: string, accounts = 8) {
    this.prng = new Prng(seed, 'bft-ledger/sim/ledger-workload')
    const account = (label: string): Account => {
      const keys = keyPairFromSeed(sha256(utf8(`bft-ledger/sim/account/${seed}/${label}`)))
      return { keys, address: address(keys.publicKey), nonce: 0 }
    }
    for (let i = 0; i < accounts; i++) { this.accounts.push(account(String(i))); this.lastUse.push(-1) }
    this.gapAccount = account('gap')
    this.balances = [...this.accounts, this.gapAccount].map(a => ({ address: a.address, amount: BigInt(this.prng.int(1_000, 1_000_000)) }))
  }

  get totalSupply (): bigint {
    return this.balances.reduce((a, b) => a + b.amount, 0n)
  }

  isValid (request: ClientRequest): boolean {
    const bytes = this.valid.get(toHex(request.id))
    return bytes !== undefined && Buffer.compare(bytes, request.bytes) === 0
  }

  next (): WorkloadItem {
    const p = this.prng
    const roll = p.float()
    let item: WorkloadItem
    if (roll < 0.08 && this.sent.some(x => x.expectCommit)) {
      const earlier = p.pick(this.sent.filter(x => x.expectCommit))
      item = { ...earlier, kind: 'replay' }
    } else if (roll < 0.13) {
      item = this.badSignature()
    } else if (roll < 0.16) {
      item = this.signed(this.sender(), 'bank', 'transfer', { to: this.other().address, amount: 1 }, 'wrong-chain', { chainId: this.chainId + '-other' })
    } else if (roll < 0.22) {
      item = this.signedFrom(this.gapAccount, this.gapNonce++, 'bank', 'transfer', { to: this.other().address, amount: 1 }, 'nonce-gap', false)
    } else if (roll < 0.30) {
      item = this.signed(this.sender(), 'bank', 'transfer', { to: this.other().address, amount: OVERDRAFT }, 'overdraft')
    } else if (roll < 0.42) {
      const s = this.sender()
      item = p.chance(0.7)
        ? this.signed(s, 'kv', 'set', { key: `k${p.int(0, 3)}`, value: `v${this.count}` }, 'kv')
        : this.signed(s, 'kv', 'delete', { key: `k${p.int(0, 3)}` }, 'kv')
    } else if (roll < 0.52) {
      const s = this.sender()
      const name = `lock${p.int(0, 1)}`
      item = p.chance(0.6)
        ? this.signed(s, 'lock', 'acquire', { name, leaseBlocks: p.int(1, 20) }, 'lock')
        : this.signed(s, 'lock', 'release', { name }, 'lock')
    } else if (roll < 0.62) {
      const s = this.sender()
      const small = { contract: 'bank', method: 'transfer', args: { to: this.other().address, amount: p.int(1, 500) } }
      item = p.chance(0.5)
        // The second call overdraws: the first transfer must not happen either.
        ? this.signed(s, 'atomic', 'exec', { calls: [small, { contract: 'bank', method: 'transfer', args: { to: this.other().address, amount: OVERDRAFT } }] }, 'atomic-failing')
        : this.signed(s, 'atomic', 'exec', { calls: [small, { contract: 'kv', method: 'set', args: { key: 'atomic', value: `a${this.count}` } }] }, 'atomic')
    } else {
      // Now and then to an address that holds nothing yet, so money reaches new accounts.
      const to = p.chance(0.1) ? address(sha256(utf8(`bft-ledger/sim/fresh/${this.count}`))) : this.other().address
      item = this.signed(this.sender(), 'bank', 'transfer', { to, amount: p.int(1, 2_000) }, 'transfer')
    }
    this.count++
    this.sent.push(item)
    return item
  }

  private sender (): Account {
    let best = 0
    for (let i = 1; i < this.accounts.length; i++) if (this.lastUse[i]! < this.lastUse[best]!) best = i
    this.lastUse[best] = this.count
    return this.accounts[best]!
  }

  private other (): Account {
    return this.prng.pick(this.accounts)
  }

  private signed (from: Account, contract: string, method: string, args: unknown, kind: WorkloadKind, o: { chainId?: string } = {}): WorkloadItem {
    const expect = o.chainId === undefined
    const item = this.signedFrom(from, from.nonce, contract, method, args, kind, expect, o.chainId)
    if (expect) from.nonce++
    return item
  }

  private signedFrom (from: Account, nonce: number, contract: string, method: string, args: unknown, kind: WorkloadKind, expect: boolean, chainId = this.chainId): WorkloadItem {
    const body: TxBody = { chainId, sender: from.keys.publicKey, nonce, contract, method, args }
    return this.item(createTx(body, from.keys.secretKey), kind, expect, chainId === this.chainId)
  }

  /** Signed by another account's key: the mempool must refuse it; the sender's nonce does not move. */
  private badSignature (): WorkloadItem {
    const from = this.sender()
    const signer = this.accounts[(this.accounts.indexOf(from) + 1) % this.accounts.length]!
    const body: TxBody = { chainId: this.chainId, sender: from.keys.publicKey, nonce: from.nonce, contract: 'bank', method: 'transfer', args: { to: signer.address, amount: 999_999_999 } }
    return this.item(createTx(body, signer.keys.secretKey), 'bad-signature', false, false)
  }

  private item (bytes: Uint8Array, kind: WorkloadKind, expectCommit: boolean, statelessValid: boolean): WorkloadItem {
    // The request id is the txId: what the node hands consensus for a mempool tx.
    const id = txId(bytes)
    if (statelessValid) this.valid.set(toHex(id), bytes)
    return { request: { id, bytes }, expectCommit, kind }
  }
}
