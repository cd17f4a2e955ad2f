import { Registry, Counter, Gauge, Histogram, collectDefaultMetrics } from 'prom-client'

/**
 * Every Prometheus metric the node exports, in one registry per node (several nodes may share
 * a process in tests, so nothing goes into prom-client's global registry).
 */
export class NodeMetrics {
  readonly registry = new Registry()
  readonly committedTxs = new Counter({ name: 'bft_committed_txs_total', help: 'Transactions committed in blocks, by receipt status', labelNames: ['status'] as const, registers: [this.registry] })
  readonly blocks = new Counter({ name: 'bft_blocks_total', help: 'Blocks committed to the local log', registers: [this.registry] })
  readonly height = new Gauge({ name: 'bft_height', help: 'Height of the last committed block', registers: [this.registry] })
  readonly certifiedHeight = new Gauge({ name: 'bft_certified_height', help: 'Height of the last block with a 2f+1 commit certificate', registers: [this.registry] })
  readonly submitToCommit = new Histogram({
    name: 'bft_submit_to_commit_seconds',
    help: 'Latency from admission on this node to execution of the committed block',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry]
  })
  readonly phase = this.stageHistogram('bft_consensus_phase_seconds', 'phase',
    'Duration of consensus phases: propose (admission to batch proposal), order (proposal to commit), execute (execution and durable write)')

  readonly blockStage = this.stageHistogram('bft_block_stage_seconds', 'stage',
    'Time a committed block spent in each stage of the pipeline: execute (its txs), state (the state tree update), write (the durable batch)')

  readonly viewChanges = new Counter({ name: 'bft_view_changes_total', help: 'View changes completed', registers: [this.registry] })
  readonly viewChangeVotes = new Counter({ name: 'bft_view_change_votes_total', help: 'VIEW-CHANGEs this node sent, by reason: timeout (its timer expired), escalated (2f+1 gave up on the previous target), joined (f+1 others asked for a higher view)', labelNames: ['reason'] as const, registers: [this.registry] })
  readonly refeeds = new Counter({ name: 'bft_request_refeeds_total', help: 'Times pending transactions sat a view-change timeout without a block applying one and were handed to consensus again', registers: [this.registry] })
  readonly view = new Gauge({ name: 'bft_view', help: 'Current PBFT view', registers: [this.registry] })
  readonly mempoolSize = new Gauge({ name: 'bft_mempool_size', help: 'Transactions waiting in the mempool', registers: [this.registry] })
  readonly mempoolBatched = new Gauge({ name: 'bft_mempool_batched_txs', help: 'Transactions met first in a valid batch and remembered for their gossiped copy (Mempool.absorbGossip); bounded, 16,384 by default', registers: [this.registry] })
  readonly staleGossip = new Counter({ name: 'bft_gossip_stale_txs_total', help: 'Gossiped transactions whose nonce a block had already used: late copies of applied transactions (or replays), dropped without counting as rejections', registers: [this.registry] })
  readonly batchedGossip = new Counter({ name: 'bft_gossip_batched_txs_total', help: 'Gossiped transactions that had already reached this node in a valid batch: not admitted again (held after a view change, see Mempool.absorbGossip)', registers: [this.registry] })
  readonly rejectedTxs = new Counter({ name: 'bft_rejected_txs_total', help: 'Transactions refused at admission, by error code', labelNames: ['reason'] as const, registers: [this.registry] })
  readonly rejectedMessages = new Counter({ name: 'bft_rejected_messages_total', help: 'Consensus messages refused, by reason', labelNames: ['reason'] as const, registers: [this.registry] })
  readonly peers = new Gauge({ name: 'bft_peers_connected', help: 'Connected peers', registers: [this.registry] })
  readonly suspectedPeers = new Gauge({ name: 'bft_peers_suspected', help: 'Peers the failure detector suspects', registers: [this.registry] })
  readonly syncedBlocks = new Counter({ name: 'bft_synced_blocks_total', help: 'Blocks fetched by block sync and verified', registers: [this.registry] })
  readonly uptime = new Gauge({ name: 'bft_uptime_seconds', help: 'Seconds since the node started', registers: [this.registry] })
  readonly availability = new Gauge({ name: 'bft_availability_ratio', help: 'Fraction of health probes (1/s) since start in which the node was committing or idle with a quorum reachable', registers: [this.registry] })
  readonly apiErrors = new Counter({ name: 'bft_api_errors_total', help: 'API requests answered with an error, by code', labelNames: ['code'] as const, registers: [this.registry] })

  constructor () {
    collectDefaultMetrics({ register: this.registry, prefix: 'bft_process_' })
  }

  /** A histogram of durations from 1 ms to 2.5 s, split by one label. */
  private stageHistogram<L extends string> (name: string, label: L, help: string): Histogram<L> {
    return new Histogram({ name, help, labelNames: [label], buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [this.registry] })
  }
}
