import type { BlockView } from '../../src/node/service.js'
import { blockHash } from '../../src/ledger/block.js'
import { verifyCertificate } from '../../src/ledger/certificate.js'
import { fromHex, toHex } from '../../src/codec/hex.js'
import { errorMessage } from '../../src/errors.js'
import type { Cluster } from './cluster.js'
import type { Ack } from './load.js'
import { mapLimit, requestJson } from './http.js'

export interface TxCheck {
  checked: number
  /** "<node> <txId>" for every acknowledged tx a node does not have, or has at another height. */
  lost: string[]
}

/** Every acknowledged commit must be on every node, at the height it was acknowledged at. */
export async function checkAckedTxs (cluster: Cluster, acks: readonly Ack[], concurrency = 16): Promise<TxCheck> {
  const lost: string[] = []
  for (const n of cluster.nodes) {
    await mapLimit(acks, concurrency, async (a) => {
      let problem: string | null = null
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          const r = await requestJson<{ height: number }>(`${n.apiUrl}/txs/${a.txId}`, { timeoutMs: 5000 })
          if (r.status === 404) problem = 'missing'
          else if (r.status !== 200) problem = `HTTP ${r.status}`
          else if (a.height >= 0 && r.body.height !== a.height) problem = `at height ${r.body.height}, acknowledged at ${a.height}`
          else problem = null
          if (r.status === 200 || r.status === 404) break
        } catch (err) {
          problem = errorMessage(err)
        }
      }
      if (problem !== null) lost.push(`${n.name} ${a.txId.slice(0, 16)} ${problem}`)
    })
  }
  return { checked: acks.length * cluster.nodes.length, lost }
}

export interface ChainCheck {
  heights: number
  certified: number
  problems: string[]
}

/**
 * Walks heights from..to on every node: all nodes hold the identical block; on the first node
 * each block's hash is recomputed from its header, links to the previous one, and its
 * certificate (when present) carries 2f+1 valid validator signatures.
 */
export async function checkChain (cluster: Cluster, validators: Array<{ publicKey: string }>, chainId: string, from: number, to: number): Promise<ChainCheck> {
  const problems: string[] = []
  const keys = validators.map(v => ({ publicKey: fromHex(v.publicKey) }))
  let certified = 0
  let prev: BlockView | null = from > 1 ? await cluster.block(cluster.nodes[0]!, from - 1) : null
  const heights = Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i)
  // Fetch in windows so memory stays flat on long chains.
  for (let i = 0; i < heights.length && problems.length < 20; i += 64) {
    const window = heights.slice(i, i + 64)
    const perNode = await Promise.all(cluster.nodes.map(async n => await mapLimit(window, 8, async h => await cluster.block(n, h))))
    for (const [j, h] of window.entries()) {
      const ref = perNode[0]![j]
      if (ref === null || ref === undefined) { problems.push(`${cluster.nodes[0]!.name} has no block ${h}`); continue }
      for (const [k, blocks] of perNode.entries()) {
        const b = blocks[j]
        if (b === null || b === undefined) problems.push(`${cluster.nodes[k]!.name} has no block ${h}`)
        else if (b.hash !== ref.hash) problems.push(`height ${h}: ${cluster.nodes[k]!.name} has ${b.hash.slice(0, 16)}, ${cluster.nodes[0]!.name} has ${ref.hash.slice(0, 16)}`)
      }
      const recomputed = toHex(blockHash({
        chainId: ref.header.chainId,
        height: ref.header.height,
        prevHash: fromHex(ref.header.prevHash),
        txRoot: fromHex(ref.header.txRoot),
        view: ref.header.view,
        proposer: ref.header.proposer,
        timestamp: ref.header.timestamp
      }))
      if (recomputed !== ref.hash) problems.push(`height ${h}: header hashes to ${recomputed.slice(0, 16)}, block says ${ref.hash.slice(0, 16)}`)
      if (ref.header.height !== h) problems.push(`height ${h}: header says height ${ref.header.height}`)
      if (prev !== null && ref.header.prevHash !== prev.hash) problems.push(`height ${h}: prevHash ${ref.header.prevHash.slice(0, 16)} != hash of ${h - 1} ${prev.hash.slice(0, 16)}`)
      if (prev !== null && ref.header.timestamp < prev.header.timestamp) problems.push(`height ${h}: timestamp ${ref.header.timestamp} goes back from ${prev.header.timestamp}`)
      if (ref.certificate !== null) {
        try {
          verifyCertificate(keys, chainId, {
            height: h,
            blockHash: fromHex(ref.hash),
            stateRoot: fromHex(ref.stateRoot),
            signatures: ref.certificate.signatures.map(s => ({ validator: s.validator, signature: fromHex(s.signature) }))
          })
          certified++
        } catch (err) {
          problems.push(`height ${h}: certificate does not verify: ${errorMessage(err)}`)
        }
      }
      prev = ref
    }
  }
  return { heights: heights.length, certified, problems }
}
