import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import type { Logger } from '../log.js'
import { createLogger } from '../log.js'
import { BftError, ConfigError, ValidationError, errorMessage } from '../errors.js'
import { bytesEqual, fromHex, toHex } from '../codec/index.js'
import { batchVerifier, nodeVerifier, sha256, sign, verify } from '../crypto/index.js'
import { Replica } from '../consensus/index.js'
import { MAX_MESSAGE_BYTES, maxViewChangeBytes } from '../consensus/messages.js'
import { faultTolerance, type ClientRequest, type ConsensusCrypto, type PersistRecord, type ReplicaConfig } from '../consensus/types.js'
import { binarySublevel, compactAll, openLedgerDb, writeOptions } from '../ledger/db.js'
import { BlockStore } from '../ledger/store.js'
import type { Wal } from '../ledger/wal.js'
import { loadGenesis, genesisHash, genesisTip, type ChainParams, type Genesis } from '../ledger/genesis.js'
import type { ChainTip } from '../ledger/block.js'
import { verifyStoredChain } from '../ledger/recovery.js'
import { certificateFromCheckpoints, type Certificate } from '../ledger/certificate.js'
import { Mempool } from '../mempool/index.js'
import { StateStore } from '../state/store.js'
import { decodeTx, type DecodedTx, genesisWrites, outcomeOf, readAccount, readNonce, stateKey, txIdHex } from '../state/index.js'
import type { LevelDb } from '../state/api.js'
import { P2PNode } from '../p2p/index.js'
import { loadNodeConfig, type NodeConfig } from './config.js'
import { runningMalloc } from './allocator.js'
import { homePaths } from './home.js'
import { readKeyFile, type KeyFile } from './keyfile.js'
import { NodeMetrics } from './metrics.js'
import { ConsensusDriver } from './driver.js'
import { SlicedQueue } from './sliced-queue.js'
import { BlockPipeline, type CommittedBlock } from './pipeline.js'
import { BlockSync } from './sync.js'
import { TraceLog } from './traces.js'
import { blockView, receiptView, tryDecode } from './views.js'
import type { BlockView, NodeService, ReceiptView, StateView, StatusView, SubmitResult } from './service.js'

/** A gossiped tx waiting for admission; `absorbed` is absorbGossip's answer once asked (null: admit it). */
interface GossipedTx {
  peer: string
  frame: Uint8Array
  absorbed?: 'applied' | 'batched' | null
}

interface Waiter {
  resolve: (r: ReceiptView) => void
}

const MAX_TRACES = 200_000
const NONCE_CACHE_SIZE = 100_000
/** Gossiped txs admitted per event-loop turn: ~64 signature checks, well under 10 ms. */
const GOSSIP_SLICE = 64
/** Gossiped txs waiting for admission before more are refused (a 6,000-tx burst fits 8 times). */
const GOSSIP_BACKLOG = 50_000

/** WAL seq of records about views rather than one sequence number: never truncated. */
const NO_SEQ = Number.MAX_SAFE_INTEGER
const MiB = 1024 * 1024
/** Genesis accounts written per LevelDB batch at first start. */
const GENESIS_CHUNK = 50_000
/** In the store's 'meta' sublevel: set once the whole genesis allocation is written. */
const GENESIS_STATE_KEY = new TextEncoder().encode('genesis-state')
/**
 * Version of the state layout, stored with the genesis-state marker. 1: binary tree, balance and
 * nonce under two keys; 2: one `acct/<address>` record per account; 3: that, in a 16-way tree;
 * 4: that, with tree nodes stored under (version, hash) (same roots as 3, another storage form);
 * 5: that, with a stale-node index for pruning and the root index keyed by (hash, version);
 * 6: that, with internal nodes written only by flushes and a journal of the updates between;
 * 7: the same flat state and roots, the tree in memory only (rebuilt at start) and an index of
 * key hashes to keys (StateStore says why). A layout-5 or -6 directory holds the same flat
 * state: StateStore.open writes its key index and deletes its stored tree, and it is re-marked 7.
 * A data directory of another layout is refused at start: executing blocks over it would
 * silently diverge from the peers, or (3) the tree could not be read.
 */
const STATE_LAYOUT = 7
/** Layouts this build opens and re-marks as STATE_LAYOUT. */
const UPGRADABLE_LAYOUTS = [5, 6]
/** Tries of a state proof that blocks keep overtaking (getState). */
const PROVE_ATTEMPTS = 5
/**
 * The largest frame this genesis lets an honest validator send: its largest possible NEW-VIEW
 * (consensus maxViewChangeBytes, which genesis validation keeps under MAX_MESSAGE_BYTES) plus
 * framing, at least the p2p default of 4 MiB. With a fixed 4 MiB, 8 MB VIEW-CHANGEs were
 * dropped and the view change never completed (seen in the benchmark at 600 tx/s).
 * config.p2p.maxFrameBytes overrides.
 */
export function consensusFrameBytes (validators: number, params: Pick<ChainParams, 'windowSize' | 'maxBatchBytes'>): number {
  return Math.min(MAX_MESSAGE_BYTES + MiB, Math.max(4 * MiB, maxViewChangeBytes(validators, params.windowSize, params.maxBatchBytes) + 64 * 1024))
}
const fromDecoded = (tx: DecodedTx): { sender: string, nonce: number } => ({ sender: tx.sender, nonce: tx.body.nonce })
/**
 * Partial batches the primary keeps in flight (proposed, not yet executed): one, as in
 * BFT-SMaRt, whose leader proposes the next batch when the previous instance decides. Every
 * block costs each validator ~12 signature checks, 3 signatures, a dozen socket writes and
 * fsyncs. With two in flight the block rate rose with every spare cycle (~30 blocks/s of 8-9
 * txs at 250 tx/s) and the cores stayed busy. Alternated 60 s runs at 500 tx/s on the
 * 4-validator testnet: p99 495, 437, 595, 447 ms with one against 541, 1,379, 935, 711 ms with
 * two; at 250 tx/s equal (docs/performance.md). Full batches are always cut, so saturation
 * throughput does not depend on it.
 */
const MAX_IN_FLIGHT_BATCHES = 1

/** Default of config proposer.minBlockIntervalMs (docs/performance.md has the measurements). */
export const DEFAULT_MIN_BLOCK_INTERVAL_MS = 50

/**
 * One validator: LevelDB (blocks, state, WAL) + mempool + the pure PBFT replica (through the
 * driver) + libp2p. Implements NodeService for the HTTP API.
 */
export class LedgerNode implements NodeService {
  readonly logger: Logger
  readonly meters = new NodeMetrics()
  /** Genesis without its balance list (see the constructor): never hash it again. */
  readonly genesis: Genesis
  private readonly genesisTip: ChainTip
  readonly config: NodeConfig
  readonly key: KeyFile
  readonly self: number | null
  private readonly db: LevelDb
  private readonly store: BlockStore
  private readonly state: StateStore
  private readonly wal: Wal
  private readonly mempool: Mempool
  private readonly pipeline: BlockPipeline
  private readonly p2p: P2PNode
  private readonly sync: BlockSync
  private readonly replica: Replica
  private readonly driver: ConsensusDriver
  private readonly peerIndex = new Map<string, number>()
  private readonly traces = new TraceLog(MAX_TRACES)
  /** Gossiped txs, admitted a slice per event-loop turn so consensus messages never wait behind a burst. */
  private readonly gossip = new SlicedQueue<GossipedTx>(
    g => {
      // A copy of a tx that reached us first in a primary's batch needs no admission (see
      // Mempool.absorbGossip): under load that is most gossiped copies a backup receives.
      const seen = g.absorbed !== undefined ? g.absorbed : this.mempool.absorbGossip(g.frame) ?? null
      if (seen === 'applied') { this.meters.staleGossip.inc(); return }
      if (seen === 'batched') { this.meters.batchedGossip.inc(); return }
      void this.admit(g.frame, { forward: false, from: g.peer }).catch(() => {})
    },
    {
      slice: GOSSIP_SLICE,
      capacity: GOSSIP_BACKLOG,
      // The slice's signatures in one batch, for the copies that will be admitted.
      prepare: slice => {
        for (const g of slice) g.absorbed = this.mempool.absorbGossip(g.frame) ?? null
        this.mempool.prevalidate(slice.filter(g => g.absorbed === null).map(g => ({ bytes: g.frame })))
      }
    })
  private readonly waiters = new Map<string, Waiter[]>()
  private readonly blockListeners = new Set<(b: BlockView) => void>()
  private readonly startedAt = Date.now()
  private certifiedHeight = 0
  private readonly pendingCerts = new Map<number, Certificate>()
  private view = 0
  private primary = 0
  private timers: NodeJS.Timeout[] = []
  private healthProbes = 0
  private healthyProbes = 0
  private lastHeightChange = Date.now()
  /** Last time a block applied a tx (or left the mempool empty): blocks of refused txs only are no progress. */
  private lastProgress = Date.now()
  private stopped = false
  private feedScheduled = false
  /** The scheduled feed hands over every pending tx again, not only new ones (after a sync). */
  private feedAllScheduled = false
  /** Next committed nonce per sender, kept current by onBlockCommitted: admission reads no LevelDB. */
  private readonly nonceCache = new Map<string, number>()

  private constructor (input: {
    logger: Logger, genesis: Genesis, config: NodeConfig, key: KeyFile, db: LevelDb, store: BlockStore,
    state: StateStore, wal: Wal, walRecords: PersistRecord[]
  }) {
    this.genesisTip = genesisTip(input.genesis)
    // The balance list is needed only to hash genesis and write its state, both done by now.
    // Kept alive, a million balances are ~3M heap objects that every major GC marks. V8 keeps
    // the variables the closures below capture in one context that lives as long as the node,
    // so `parts` (captured) holds neither the balances nor the WAL's records; `input` must
    // stay out of every closure.
    this.genesis = { ...input.genesis, balances: [] }
    const parts = { ...input, genesis: this.genesis, walRecords: [] }
    this.logger = parts.logger
    this.config = parts.config
    this.key = parts.key
    this.db = parts.db
    this.store = parts.store
    this.state = parts.state
    this.wal = parts.wal
    const g = this.genesis
    g.validators.forEach((v, i) => this.peerIndex.set(v.peerId, i))
    const selfIdx = g.validators.findIndex(v => toHex(v.publicKey) === toHex(parts.key.publicKey))
    this.self = selfIdx >= 0 ? selfIdx : null
    if (this.self === null) throw new ConfigError(`this node's key (${parts.key.peerId}) is not a validator in genesis; full-node mode is not supported yet`)

    this.mempool = new Mempool({
      chainId: g.chainId,
      maxTxBytes: g.params.maxTxBytes,
      maxSize: g.params.mempoolSize,
      maxPerSender: g.params.mempoolPerSender,
      nonceOf: async (sender) => await this.committedNonce(sender),
      log: this.logger.child({ component: 'mempool' })
    })

    const gTip = this.genesisTip
    this.pipeline = new BlockPipeline({
      genesis: g,
      genesisTip: gTip,
      store: this.store,
      state: this.state,
      isSignatureValid: this.mempool.isSignatureValid,
      decoded: (id, bytes) => this.mempool.decoded(id, bytes),
      onCommitted: (c) => { this.onBlockCommitted(c) },
      logger: this.logger
    })

    this.p2p = new P2PNode({
      secretKey: parts.key.secretKey,
      listen: parts.config.p2p.listen,
      peers: parts.config.p2p.peers,
      allowedPeers: [...g.validators.map(v => v.peerId), ...parts.config.p2p.allowedPeers],
      maxFrameBytes: parts.config.p2p.maxFrameBytes ?? consensusFrameBytes(g.validators.length, g.params),
      logger: this.logger.child({ component: 'p2p' })
    })

    this.sync = new BlockSync({
      store: this.store,
      pipeline: this.pipeline,
      transport: {
        request: async (peer, proto, req, t) => await this.p2p.request(peer, proto, req, t),
        handle: (proto, h) => { this.p2p.handle(proto, h) },
        penalize: (peer, reason, pts) => { this.p2p.penalize(peer, reason, pts) },
        candidates: () => this.p2p.peers().filter(p => p.connected && this.peerIndex.has(p.peerId)).map(p => p.peerId)
      },
      onSynced: (c, cert) => {
        this.meters.syncedBlocks.inc()
        this.certifiedHeight = Math.max(this.certifiedHeight, cert.height)
        this.driver.push({
          type: 'synced',
          seq: c.block.header.height,
          blockHash: c.hash,
          stateRoot: c.stateRoot,
          signatures: cert.signatures.map(s => ({ replica: s.validator, signature: s.signature }))
        })
        // The replica forgets its pending requests on a sync (it cannot tell which the synced
        // blocks held); the mempool, which dropped the synced blocks' txs, gives back the rest.
        this.scheduleFeed(true)
      },
      certifiedHeight: () => this.certifiedHeight,
      logger: this.logger.child({ component: 'sync' })
    })

    const replicaConfig: ReplicaConfig = {
      chainId: g.chainId,
      validators: g.validators.map(v => ({ publicKey: v.publicKey })),
      self: this.self,
      maxBatchSize: g.params.maxBatchSize,
      maxBatchBytes: g.params.maxBatchBytes,
      batchTimeoutMs: g.params.batchTimeoutMs,
      checkpointInterval: g.params.checkpointInterval,
      windowSize: g.params.windowSize,
      viewChangeTimeoutMs: g.params.viewChangeTimeoutMs,
      maxClockSkewMs: g.params.maxClockSkewMs,
      maxInFlightBatches: MAX_IN_FLIGHT_BATCHES,
      minBlockIntervalMs: this.config.proposer?.minBlockIntervalMs ?? DEFAULT_MIN_BLOCK_INTERVAL_MS
    }
    const secretKey = parts.key.secretKey
    const crypto: ConsensusCrypto = {
      sign: (m) => sign(m, secretKey),
      verify: (s, m, p) => verify(s, m, p),
      hash: (...p) => sha256(...p)
    }
    const head = this.store.head()
    this.replica = new Replica(replicaConfig, crypto, {
      isValidRequest: (r: ClientRequest) => this.mempool.isValid(r.id, r.bytes),
      prevalidateRequests: (requests) => { this.mempool.prevalidate(requests) },
      onBatchAccepted: (requests) => { this.mempool.acceptBatch(requests) },
      restore: {
        records: input.walRecords,
        lastExecuted: { seq: head?.height ?? 0, blockHash: head?.hash ?? gTip.hash, stateRoot: head?.stateRoot ?? this.state.root() }
      }
    })

    this.driver = new ConsensusDriver({
      replica: this.replica,
      now: () => Date.now() + this.config.clockOffsetMs,
      persist: async (records) => { await this.wal.appendMany(records.map(r => ({ record: r, seq: r.seq ?? NO_SEQ }))) },
      truncate: async (below) => { await this.wal.truncate(below) },
      send: (to, bytes) => {
        // A message the transport refuses (e.g. larger than a frame) is lost like any dropped
        // message; PBFT's retransmission paths (view change, checkpoints) cover it.
        try {
          if (to === 'all') { this.p2p.broadcast('consensus', bytes); return }
          const v = g.validators[to]
          if (v !== undefined && to !== this.self) this.p2p.send(v.peerId, 'consensus', bytes)
        } catch (err) {
          this.logger.error({ err: errorMessage(err), to, size: bytes.length }, 'consensus message not sent')
        }
      },
      execute: async (e) => {
        const t0 = Date.now()
        for (const r of e.requests) this.traces.mark(toHex(r.id), 'ordered', t0)
        const r = await this.pipeline.executeOrdered(e.seq, e.view, e.proposer, e.timestamp, e.requests)
        this.meters.phase.observe({ phase: 'execute' }, (Date.now() - t0) / 1000)
        return r
      },
      onCertified: async (e) => {
        this.certifiedHeight = Math.max(this.certifiedHeight, e.seq)
        this.meters.certifiedHeight.set(this.certifiedHeight)
        const cert = certificateFromCheckpoints(e.seq, e.blockHash, e.stateRoot, e.signatures)
        // A lagging replica can collect 2f+1 checkpoints for a height it has not executed
        // yet; keep the certificate until the block is here (or sync brings it with its own).
        if (e.seq > this.pipeline.height) { this.pendingCerts.set(e.seq, cert); return }
        await this.storeCertificate(cert)
      },
      onNeedSync: () => { void this.sync.catchUp().catch(err => this.logger.warn({ err: errorMessage(err) }, 'sync failed')) },
      onViewChanged: (view, primary) => {
        this.view = view
        this.primary = primary
        this.meters.viewChanges.inc()
        this.meters.view.set(view)
        this.logger.warn({ view, primary }, 'view change: new primary')
        this.feedConsensus(true)
        // Txs this node knew only from batches of the old view are held from now on, so a
        // batch the new view abandons is not lost here (this node may be its next primary).
        void this.mempool.adoptBatched().then(n => {
          if (n > 0) { this.logger.info({ adopted: n }, 'view change: txs of in-flight batches held in the mempool'); this.scheduleFeed(true) }
        }, (err: unknown) => { this.logger.error({ err: errorMessage(err) }, 'adopting batched txs failed') })
      },
      onViewChangeStarted: (e) => {
        this.meters.viewChangeVotes.inc({ reason: e.reason })
        // A timeout vote never comes with lastExecuted + 1 decided (the replica waits for its own
        // execution then), so decided > lastExecuted here means a decided batch above a gap.
        this.logger.warn({ newView: e.newView, reason: e.reason, ...e.status }, 'view change: voted to leave the view')
      },
      onRejected: (from, reason) => {
        this.meters.rejectedMessages.inc({ reason: reason.split(':')[0]!.slice(0, 40) })
        this.logger.debug({ from, reason }, 'consensus message rejected')
      },
      logger: this.logger.child({ component: 'consensus' })
    })
  }

  /**
   * Opens the node's home: config, key, genesis, LevelDB; rebuilds the state tree in memory and
   * checks its root against the head block's; verifies the stored chain.
   */
  static async open (opts: { home: string, logLevel?: string, logger?: Logger }): Promise<LedgerNode> {
    const paths = homePaths(opts.home)
    const config = await loadNodeConfig(paths.config)
    const logger = opts.logger ?? createLogger(config.moniker, opts.logLevel ?? process.env.LOG_LEVEL ?? config.logLevel)
    const key = await readKeyFile(paths.key)
    const genesis = await loadGenesis(paths.genesis, logger)
    const MiB = 1024 * 1024
    const db = await openLedgerDb(join(paths.data, 'ledger'), {
      ...(config.storage?.cacheMiB === undefined ? {} : { cacheBytes: config.storage.cacheMiB * MiB }),
      ...(config.storage?.writeBufferMiB === undefined ? {} : { writeBufferBytes: config.storage.writeBufferMiB * MiB }),
      ...(config.storage?.compression === undefined ? {} : { compression: config.storage.compression })
    })
    try {
      const store = await BlockStore.open(db, { log: logger.child({ component: 'store' }) })
      await store.checkGenesis(genesisHash(genesis))
      // The layout check comes first: StateStore.open cannot read every older layout.
      const marker = await binarySublevel(db, 'meta').get(GENESIS_STATE_KEY)
      if (marker !== undefined && (marker.length !== 1 || (marker[0] !== STATE_LAYOUT && !UPGRADABLE_LAYOUTS.includes(marker[0]!)))) {
        throw new ConfigError(`data directory ${paths.data} holds state layout ${marker.length === 1 ? marker[0]! : 'unknown'}, this build reads layout ${STATE_LAYOUT}. A chain created by an older build cannot be continued by this one: delete the data directory and re-create the network`)
      }
      for (const key of ['stateVersionsKept', 'stateFlushEvery'] as const) {
        if (config.storage?.[key] !== undefined) logger.warn({ key: `storage.${key}` }, 'config key ignored: the state tree is kept in memory since state layout 7, so there are no stored versions to keep or flush')
      }
      const state = await StateStore.open(db, config.storage?.maxStateTreeNodes === undefined ? {} : { maxTreeNodes: config.storage.maxStateTreeNodes })
      const opened = state.stats
      logger.info({ keys: opened.keys, nodes: opened.nodes, values: opened.values, indexed: opened.indexed, droppedOldTree: opened.droppedOldTree, ms: opened.ms }, 'state tree rebuilt in memory')
      if (marker !== undefined && marker[0] !== STATE_LAYOUT) await binarySublevel(db, 'meta').put(GENESIS_STATE_KEY, Uint8Array.of(STATE_LAYOUT), writeOptions(true))
      if (store.head() === null && marker === undefined) {
        const t = performance.now()
        await LedgerNode.applyGenesisState(db, state, genesis)
        const written = performance.now()
        const compacted = await compactAll(db)
        logger.info({ accounts: genesis.balances.length, writeMs: Math.round(written - t), compactMs: compacted ? Math.round(performance.now() - written) : null }, 'genesis state written')
      }
      // The state tree was rebuilt from the flat state: its root must be the head block's.
      const verified = await verifyStoredChain(store, genesis, { committedStateRoot: state.root() })
      logger.info({ height: store.head()?.height ?? 0, verified }, 'stored chain verified')
      const wal = await store.openWal()
      const walRecords = (await wal.load()).map(e => e.seq === NO_SEQ ? { kind: e.kind, bytes: e.bytes } : { kind: e.kind, bytes: e.bytes, seq: e.seq })
      return new LedgerNode({ logger, genesis, config, key, db, store, state, wal, walRecords })
    } catch (err) {
      await db.close()
      throw err
    }
  }

  /**
   * Writes the genesis allocation in batches of GENESIS_CHUNK accounts, then builds the tree from
   * it bottom-up (StateStore.load). A crash before the completion marker leaves a partial state;
   * the next start loads every account again, which is harmless (re-writing a key with the same
   * value changes nothing, and the tree is rebuilt from what is stored).
   */
  private static async applyGenesisState (db: LevelDb, state: StateStore, genesis: Genesis): Promise<void> {
    await state.load(genesisWrites(genesis.balances), GENESIS_CHUNK)
    await binarySublevel(db, 'meta').put(GENESIS_STATE_KEY, Uint8Array.of(STATE_LAYOUT), writeOptions(true))
  }

  async start (): Promise<void> {
    this.p2p.onMessage('consensus', (peer, frame) => {
      const from = this.peerIndex.get(peer)
      if (from === undefined) { this.p2p.penalize(peer, 'consensus frame from a non-validator', 100); return }
      this.driver.push({ type: 'message', from, bytes: frame })
    })
    this.p2p.onMessage('tx', (peer, frame) => {
      // Refused only when GOSSIP_BACKLOG txs already wait. The tx stays pending in its origin's
      // mempool and consensus there, like any request a primary never received: the origin's
      // view-change timer runs against a primary that does not order it.
      if (!this.gossip.push({ peer, frame })) this.meters.rejectedTxs.inc({ reason: 'ERR_GOSSIP_BACKLOG' })
    })
    this.p2p.on('peer:connect', (peer) => { this.logger.info({ peer, validator: this.peerIndex.get(peer) }, 'peer connected') })
    this.p2p.on('peer:disconnect', (peer) => { this.logger.info({ peer, validator: this.peerIndex.get(peer) }, 'peer disconnected') })
    await this.p2p.start()
    this.view = this.replica.view
    this.primary = this.replica.primary
    this.driver.start()
    this.timers.push(setInterval(() => { this.tick() }, 1000))
    this.logger.info({ self: this.self, peerId: this.key.peerId, addrs: this.p2p.addrs(), height: this.pipeline.height, verifier: nodeVerifier(), batchVerifier: batchVerifier() ?? 'none', malloc: runningMalloc() }, 'validator started')
  }

  /** Once a second: gauges, availability probe, and catch-up when we stop moving while peers do. */
  private tick (): void {
    const peers = this.p2p.peers()
    this.meters.peers.set(peers.filter(p => p.connected).length)
    this.meters.suspectedPeers.set(peers.filter(p => p.suspected).length)
    this.meters.mempoolSize.set(this.mempool.size)
    this.meters.mempoolBatched.set(this.mempool.batchedCount)
    this.meters.uptime.set((Date.now() - this.startedAt) / 1000)
    const { quorum } = faultTolerance(this.genesis.validators.length)
    const reachable = 1 + peers.filter(p => p.connected && !p.suspected && this.peerIndex.has(p.peerId)).length
    this.healthProbes++
    if (reachable >= quorum) this.healthyProbes++
    this.meters.availability.set(this.healthyProbes / this.healthProbes)
    const stalledMs = Date.now() - this.lastHeightChange
    if (stalledMs > 3000) {
      void this.sync.catchUp().catch(err => this.logger.warn({ err: errorMessage(err) }, 'periodic sync failed'))
    }
    // PBFT's client retransmission: requests that sat in the mempool while no block applied a
    // tx (blocks of refused txs alone are no progress) are handed to the replica again, so a
    // replica that lost them (restart, view change) has them and its view-change timer runs
    // against a primary that is not ordering them.
    if (this.mempool.size > 0 && Date.now() - this.lastProgress > this.genesis.params.viewChangeTimeoutMs) {
      this.meters.refeeds.inc()
      this.feedConsensus(true)
    }
  }

  async stop (): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    this.gossip.stop()
    for (const t of this.timers) clearInterval(t)
    this.driver.stop()
    await this.driver.idle().catch(() => {})
    await this.p2p.stop().catch(err => this.logger.warn({ err: errorMessage(err) }, 'p2p stop failed'))
    await this.db.close()
    this.logger.info('validator stopped; LevelDB flushed and closed')
  }

  // ---- transactions ----

  private async admit (bytes: Uint8Array, opts: { forward: boolean, from?: string, traceId?: string }): Promise<string> {
    let res
    try {
      res = await this.mempool.add(bytes)
    } catch (err) {
      const code = err instanceof BftError ? err.code : 'ERR_INTERNAL'
      // A gossiped copy that arrives after a block applied the tx (it waited in the gossip
      // queue while the pre-prepare carried the tx) is redundant, not a refusal of anything.
      if (opts.from !== undefined && code === 'ERR_STALE_NONCE') this.meters.staleGossip.inc()
      else this.meters.rejectedTxs.inc({ reason: code })
      if (opts.from !== undefined && code === 'ERR_BAD_SIGNATURE') this.p2p.penalize(opts.from, 'forwarded a transaction with a bad signature', 20)
      throw err
    }
    // The stall clock starts when the mempool stops being empty: counted from the last block
    // before an idle stretch, the first tx after it looked stalled and was handed to consensus
    // again at once.
    if (this.mempool.size === 1) this.lastProgress = Date.now()
    const traceId = this.traces.begin(res.txId, opts.traceId ?? randomUUID())
    this.traces.mark(res.txId, 'admitted', Date.now(), true)
    this.logger.debug({ txId: res.txId, traceId, status: res.status, from: opts.from ?? 'api' }, 'tx admitted')
    if (opts.forward) {
      try { this.p2p.broadcast('tx', bytes) } catch (err) { this.logger.warn({ err: errorMessage(err), txId: res.txId }, 'tx not forwarded') }
    }
    this.scheduleFeed()
    return res.txId
  }

  /**
   * Hands ready mempool transactions to the replica. Every validator does this (not only the
   * primary): backups need the requests to run their view-change timers, and a new primary
   * already holds them after a view change.
   */
  private async committedNonce (sender: string): Promise<number> {
    const hit = this.nonceCache.get(sender)
    if (hit !== undefined) return hit
    const n = await readNonce(this.state, sender)
    // A block may have committed while we read; only an entry it did not set is filled in.
    if (!this.nonceCache.has(sender)) {
      if (this.nonceCache.size >= NONCE_CACHE_SIZE) this.nonceCache.clear()
      this.nonceCache.set(sender, n)
    }
    return this.nonceCache.get(sender)!
  }

  /**
   * One reap per event-loop turn, however many transactions arrived in it: reaping scans the
   * mempool, so doing it per admitted tx made admission quadratic under load.
   */
  private scheduleFeed (all = false): void {
    if (all) this.feedAllScheduled = true
    if (this.feedScheduled) return
    this.feedScheduled = true
    setImmediate(() => {
      const everything = this.feedAllScheduled
      this.feedScheduled = false
      this.feedAllScheduled = false
      if (!this.stopped) this.feedConsensus(everything)
    })
  }

  private feedConsensus (all: boolean): void {
    // reap() skips txs already handed over, so "all" must clear the marks first.
    if (all) this.mempool.unmarkAllProposed()
    const ready = this.mempool.reap(100_000, 64 * 1024 * 1024)
    if (ready.length === 0) return
    this.mempool.markProposed(ready.map(r => r.id))
    const now = Date.now()
    for (const r of ready) {
      const id = toHex(r.id)
      this.traces.mark(id, 'proposed', now)
      this.driver.push({ type: 'request', request: r })
    }
  }

  /**
   * A certificate that does not match our stored block means 2f+1 validators signed a
   * different block or state root at that height than we executed: this node has diverged
   * (disk corruption or non-determinism). That is logged loudly, never papered over.
   */
  private async storeCertificate (cert: Certificate): Promise<void> {
    try {
      await this.store.putCertificate(cert)
    } catch (err) {
      const code = err instanceof BftError ? err.code : 'ERR_INTERNAL'
      if (code === 'ERR_CERT_MISMATCH') this.logger.fatal({ height: cert.height, err: errorMessage(err) }, 'certified block differs from the stored one: this node diverged')
      else this.logger.warn({ height: cert.height, err: errorMessage(err) }, 'certificate not stored')
    }
  }

  private onBlockCommitted (c: CommittedBlock): void {
    const h = c.block.header.height
    for (const height of this.pendingCerts.keys()) {
      if (height < h) this.pendingCerts.delete(height)
    }
    const pending = this.pendingCerts.get(h)
    if (pending !== undefined) {
      this.pendingCerts.delete(h)
      // After the pipeline's write finished (this runs inside it), so the block is there.
      queueMicrotask(() => { void this.storeCertificate(pending) })
    }
    this.lastHeightChange = Date.now()
    this.meters.blocks.inc()
    this.meters.height.set(h)
    this.meters.blockStage.observe({ stage: 'execute' }, c.timings.executeMs / 1000)
    this.meters.blockStage.observe({ stage: 'state' }, c.timings.stateMs / 1000)
    this.meters.blockStage.observe({ stage: 'write' }, c.timings.writeMs / 1000)
    const now = Date.now()
    const nonces = new Map<string, number>()
    const ids: string[] = []
    // A tx refused only for its position (nonce gap) stays pending and is handed to consensus
    // again once its sender's earlier nonce commits; consensus forgot its id (executed.retryable).
    const retry = new Set<string>()
    c.receipts.forEach((r, i) => {
      const id = toHex(r.txId)
      ids.push(id)
      const outcome = outcomeOf(r.status)
      if (outcome === 'retryable') retry.add(id)
      this.meters.committedTxs.inc({ status: r.status === 'ok' ? 'ok' : 'failed' })
      this.traces.mark(id, 'executed', now)
      const admitted = this.traces.time(id, 'admitted')
      if (admitted !== undefined) {
        this.meters.submitToCommit.observe((now - admitted) / 1000)
        const ordered = this.traces.time(id, 'ordered')
        if (ordered !== undefined) this.meters.phase.observe({ phase: 'order' }, (ordered - admitted) / 1000)
        if (this.logger.isLevelEnabled('debug')) this.logger.debug({ txId: id, traceId: this.traces.traceId(id), height: h, status: r.status }, 'tx executed')
      }
      if (outcome === 'applied') {
        try {
          // The mempool already decoded a tx it admitted; decode only those it never saw.
          const bytes = c.block.txs[i]!
          const tx = this.mempool.senderNonce(id) ?? this.mempool.appliedFromBatch(bytes) ?? fromDecoded(decodeTx(bytes))
          nonces.set(tx.sender, Math.max(nonces.get(tx.sender) ?? 0, tx.nonce + 1))
        } catch { /* cannot happen for a tx that consumed its nonce */ }
      }
      // A retryable receipt is not the tx's final word (it stays pending, see below): waiters
      // keep waiting for the block that applies it, as the tx index does.
      const ws = outcome === 'retryable' ? undefined : this.waiters.get(id)
      if (ws !== undefined) {
        this.waiters.delete(id)
        const view = this.withTrace(receiptView(r, h, i))
        for (const w of ws) w.resolve(view)
      }
    })
    for (const [sender, next] of nonces) this.nonceCache.set(sender, next)
    if (nonces.size > 0) this.lastProgress = now
    this.mempool.onCommitted(retry.size === 0 ? ids : ids.filter(id => !retry.has(id)), nonces)
    if (retry.size > 0) this.mempool.markRetry(retry)
    this.meters.mempoolSize.set(this.mempool.size)
    if (this.mempool.size === 0) this.lastProgress = now
    if (this.blockListeners.size > 0) {
      const view = blockView({ hash: c.hash, block: c.block, stateRoot: c.stateRoot }, null, c.receipts, ids)
      for (const fn of this.blockListeners) { try { fn(view) } catch { /* a listener's failure is its own */ } }
    }
    // Queued future-nonce transactions may have become ready.
    this.scheduleFeed()
  }

  private withTrace (r: ReceiptView): ReceiptView {
    const t = this.traces.view(r.txId)
    return t === undefined ? r : { ...r, ...t }
  }

  // ---- NodeService ----

  prevalidateTxs (txs: readonly Uint8Array[]): void {
    this.mempool.prevalidate(txs.map(bytes => ({ bytes })))
  }

  async submitTx (txBytes: Uint8Array, opts: { wait: boolean, timeoutMs: number, traceId?: string }): Promise<SubmitResult> {
    let id: string
    try {
      id = await this.admit(txBytes, { forward: true, ...(opts.traceId !== undefined ? { traceId: opts.traceId } : {}) })
    } catch (err) {
      // The same bytes already pending here (e.g. forwarded by a peer, or a client retrying
      // after failover) are the same request: answer as for the first submission.
      if (err instanceof BftError && err.code === 'ERR_DUPLICATE_TX') {
        let pendingId: string | undefined
        try { pendingId = txIdHex(txBytes) } catch { /* not decodable: rethrow below */ }
        const pending = pendingId !== undefined ? this.mempool.get(pendingId) : undefined
        if (pendingId !== undefined && pending !== undefined && bytesEqual(pending, txBytes)) {
          return await this.afterAdmission(pendingId, opts)
        }
      }
      // Resubmitting a committed tx is idempotent: report its receipt instead of an error.
      if (err instanceof BftError && (err.code === 'ERR_STALE_NONCE' || err.code === 'ERR_DUPLICATE_TX')) {
        let txid: string | undefined
        try { txid = txIdHex(txBytes) } catch { /* fall through */ }
        const r = txid === undefined ? null : await this.getTx(txid)
        if (r !== null) return { txId: r.txId, status: r.status === 'ok' ? 'committed' : 'failed', height: r.height, receipt: r, traceId: r.traceId ?? opts.traceId ?? '' }
      }
      throw err
    }
    return await this.afterAdmission(id, opts)
  }

  private async afterAdmission (id: string, opts: { wait: boolean, timeoutMs: number }): Promise<SubmitResult> {
    const traceId = this.traces.traceId(id) ?? ''
    if (!opts.wait) return { txId: id, status: 'accepted', traceId }
    const existing = await this.getTx(id)
    const receipt = existing ?? await this.waitFor(id, opts.timeoutMs)
    if (receipt === null) return { txId: id, status: 'accepted', traceId }
    return { txId: id, status: receipt.status === 'ok' ? 'committed' : 'failed', height: receipt.height, receipt, traceId }
  }

  private async waitFor (id: string, timeoutMs: number): Promise<ReceiptView | null> {
    return await new Promise(resolve => {
      const list = this.waiters.get(id) ?? []
      const w: Waiter = { resolve: (r) => { clearTimeout(t); resolve(r) } }
      const t = setTimeout(() => {
        const l = this.waiters.get(id)
        if (l !== undefined) {
          const rest = l.filter(x => x !== w)
          if (rest.length === 0) this.waiters.delete(id); else this.waiters.set(id, rest)
        }
        resolve(null)
      }, timeoutMs)
      list.push(w)
      this.waiters.set(id, list)
    })
  }

  async getTx (txId: string): Promise<ReceiptView | null> {
    const id = fromHex(txId, 32, 'txId')
    const loc = await this.store.getReceipt(id)
    if (loc === null) return null
    return this.withTrace(receiptView(loc.receipt, loc.height, loc.index))
  }

  async getBlock (height: number): Promise<BlockView | null> {
    const stored = await this.store.getBlock(height)
    if (stored === null) return null
    return blockView(stored, await this.store.getCertificate(height), await this.store.getReceipts(height) ?? [])
  }

  async getLatestBlock (): Promise<BlockView | null> {
    const h = this.pipeline.height
    return h === 0 ? null : await this.getBlock(h)
  }

  /**
   * State at the newest block that has a certificate when a proof is asked for (so a light
   * client can check the root against 2f+1 signatures), else at the head.
   */
  async getState (contract: string, key: string, prove: boolean): Promise<StateView> {
    if (!/^[a-z]{1,32}$/.test(contract)) throw new ValidationError('ERR_BAD_REQUEST', `unknown contract namespace "${contract}"`)
    const skey = stateKey(contract, key)
    if (!prove) {
      const head = this.store.head()
      const value = await this.state.get(skey)
      return { contract, key, value: value === undefined ? null : toHex(value), decoded: tryDecode(value), height: head?.height ?? 0, stateRoot: toHex(this.state.root()) }
    }
    // Only the current state root is provable (the tree is kept in memory only): a block committed
    // during the proof makes it ERR_UNKNOWN_ROOT, and the next try proves at the new head.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.proveState(contract, key, skey)
      } catch (err) {
        if (!(err instanceof BftError && err.code === 'ERR_UNKNOWN_ROOT') || attempt >= PROVE_ATTEMPTS) throw err
      }
    }
  }

  private async proveState (contract: string, key: string, skey: Uint8Array): Promise<StateView> {
    const height = Math.min(this.certifiedHeight, this.pipeline.height)
    if (height === 0) throw new BftError('ERR_NOT_CERTIFIED', 'no certified block yet; retry when the chain has committed a block')
    const stored = await this.store.getBlock(height)
    if (stored === null) throw new BftError('ERR_NOT_FOUND', `block ${height} not found`)
    const proof = await this.state.prove(skey, stored.stateRoot)
    const block = blockView(stored, await this.store.getCertificate(height), await this.store.getReceipts(height) ?? [])
    return {
      contract,
      key,
      value: proof.value === null ? null : toHex(proof.value),
      decoded: tryDecode(proof.value),
      height,
      stateRoot: toHex(stored.stateRoot),
      proof: { key: toHex(proof.key), value: proof.value === null ? null : toHex(proof.value), proof: proof.proof },
      block
    }
  }

  async getAccount (address: string): Promise<{ address: string, balance: string, nonce: number }> {
    const a = await readAccount(this.state, address)
    return { address, balance: a.balance.toString(), nonce: a.nonce }
  }

  validators (): StatusView['validators'] {
    return this.genesis.validators.map((v, i) => ({ index: i, name: v.name, publicKey: toHex(v.publicKey), peerId: v.peerId }))
  }

  async status (): Promise<StatusView> {
    const head = this.store.head()
    return {
      chainId: this.genesis.chainId,
      nodeId: this.key.peerId,
      validatorIndex: this.self,
      height: head?.height ?? 0,
      headHash: toHex(head?.hash ?? this.genesisTip.hash),
      stateRoot: toHex(this.state.root()),
      view: this.replica.view,
      primary: this.replica.primary,
      validators: this.validators(),
      peers: this.p2p.peers().map(p => ({ ...p, validator: this.peerIndex.get(p.peerId) ?? null })),
      mempoolSize: this.mempool.size,
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
      consensus: this.replica.status()
    }
  }

  onBlock (fn: (block: BlockView) => void): () => void {
    this.blockListeners.add(fn)
    return () => { this.blockListeners.delete(fn) }
  }

  async metrics (): Promise<string> {
    return await this.meters.registry.metrics()
  }

  health (): { ok: boolean, height: number, reason?: string } {
    const peers = this.p2p.peers()
    const { quorum } = faultTolerance(this.genesis.validators.length)
    const reachable = 1 + peers.filter(p => p.connected && this.peerIndex.has(p.peerId)).length
    const height = this.pipeline.height
    if (this.stopped) return { ok: false, height, reason: 'stopping' }
    if (reachable < quorum) return { ok: false, height, reason: `only ${reachable} of ${quorum} validators needed for a quorum are reachable` }
    return { ok: true, height }
  }

  setLogLevel (level: string): void {
    this.logger.level = level
  }
}
