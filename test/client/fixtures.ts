import { createHash } from 'node:crypto'
import { encode, toHex } from '../../src/codec/index.js'
import { keyPairFromSeed, sign, type KeyPair } from '../../src/crypto/index.js'
import { checkpointSignBytes } from '../../src/consensus/types.js'
import { buildBlock } from '../../src/ledger/block.js'
import type { BlockView, StateView } from '../../src/node/service.js'
import { createTx, txIdHex, address } from '../../src/state/tx.js'
import { stateKey } from '../../src/state/keys.js'
import { isEmpty, makeLeaf, sha256, type LeafNode } from '../../src/state/merkle.js'
import { pathProof, StateTree } from '../../src/state/tree.js'
import { toJson } from '../../src/api/json.js'

export const CHAIN = 'lc-test'

/** Deterministic keys from a seed string, so failures replay exactly. */
export function keyFromSeed (seed: string): KeyPair {
  return keyPairFromSeed(new Uint8Array(createHash('sha256').update(seed).digest()))
}

export interface Fixture {
  validators: KeyPair[]
  trust: { chainId: string, validators: Array<{ publicKey: Uint8Array }> }
  block: BlockView
  state: (contract: string, key: string) => Promise<StateView>
  user: KeyPair
}

/** A 4-validator chain with one certified block holding two txs and a small state tree. */
export async function makeFixture (seed: string): Promise<Fixture> {
  const validators = [0, 1, 2, 3].map(i => keyFromSeed(`${seed}/validator/${i}`))
  const user = keyFromSeed(`${seed}/user`)
  const userAddr = address(user.publicKey)
  const txs = [0, 1].map(nonce => createTx({
    chainId: CHAIN, sender: user.publicKey, nonce, contract: 'bank', method: 'transfer', args: { to: 'ab'.repeat(20), amount: 5 }
  }, user.secretKey))

  const entries: Array<[string, string, unknown]> = [
    ['acct', userAddr, [990, 2]],
    ['acct', 'ab'.repeat(20), [10, 0]],
    // Provable but not an account record: a client must refuse it after the proof checks out.
    ['acct', 'ef'.repeat(20), [10]],
    ['kv', `${userAddr}/greeting`, { value: 'hello', owner: userAddr }]
  ]
  // The tree a validator rebuilds at start: leaves sorted by key hash, built bottom-up.
  const leaves = new Map<string, LeafNode>()
  for (const [c, k, v] of entries) {
    const leaf = makeLeaf(sha256(stateKey(c, k)), encode(v))
    leaves.set(toHex(leaf.hash), leaf)
  }
  const sorted = [...leaves.values()].sort((a, b) => Buffer.compare(a.keyHash, b.keyHash))
  const tree = new StateTree(64)
  tree.build(Buffer.concat(sorted.map(l => l.keyHash)), Buffer.concat(sorted.map(l => l.hash)), sorted.length)
  const root = tree.root

  const { block, hash } = buildBlock({
    prev: { chainId: CHAIN, height: 0, hash: new Uint8Array(32), timestamp: 1_000 },
    view: 0,
    proposer: 0,
    timestamp: 2_000,
    txs
  })
  const msg = checkpointSignBytes(CHAIN, 1, hash, root)
  const view: BlockView = JSON.parse(toJson({
    height: 1,
    hash,
    header: block.header,
    txs,
    txIds: txs.map(t => txIdHex(t)),
    stateRoot: root,
    certificate: { signatures: [0, 1, 2].map(i => ({ validator: i, signature: sign(msg, validators[i]!.secretKey) })) }
  })) as BlockView

  const state = async (contract: string, key: string): Promise<StateView> => {
    const keyHash = sha256(stateKey(contract, key))
    const { steps, end } = tree.read(keyHash)
    const p = pathProof(keyHash, steps, isEmpty(end.hash) ? null : leaves.get(toHex(end.hash)) ?? null)
    return JSON.parse(toJson({
      contract, key, value: p.value, decoded: null, height: 1, stateRoot: root, proof: p.proof, block: view
    })) as StateView
  }
  return { validators, trust: { chainId: CHAIN, validators: validators.map(v => ({ publicKey: v.publicKey })) }, block: view, state, user }
}
