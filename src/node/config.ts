import { readFile } from 'node:fs/promises'
import { Type, type Static } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { ConfigError, errorMessage } from '../errors.js'
import { nodeVerifier } from '../crypto/index.js'

/**
 * Per-node settings (home/config.json). Everything consensus-relevant lives in genesis, so two
 * validators with different config files still agree on every block.
 */
export const NodeConfigSchema = Type.Object({
  moniker: Type.String({ minLength: 1, maxLength: 64 }),
  p2p: Type.Object({
    listen: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
    peers: Type.Array(Type.Object({
      peerId: Type.String({ minLength: 1 }),
      addrs: Type.Array(Type.String({ minLength: 1 }))
    }, { additionalProperties: false })),
    /** Full nodes allowed to connect besides the genesis validators. */
    allowedPeers: Type.Array(Type.String({ minLength: 1 })),
    maxFrameBytes: Type.Optional(Type.Integer({ minimum: 1024, maximum: 64 * 1024 * 1024 }))
  }, { additionalProperties: false }),
  api: Type.Object({
    host: Type.String({ minLength: 1 }),
    port: Type.Integer({ minimum: 0, maximum: 65535 }),
    bodyLimit: Type.Integer({ minimum: 1024, maximum: 64 * 1024 * 1024 }),
    /** HS256 secret for admin bearer tokens; admin routes are disabled when absent. */
    adminJwtSecret: Type.Optional(Type.String({ minLength: 32 })),
    /**
     * Requests per client address (the connection's IP) and window, over which the API answers
     * 429 ERR_RATE_LIMITED (default 1,000 per 1,000 ms; max 0 turns it off). allowList: addresses
     * never limited (say a trusted load balancer or monitoring host).
     */
    rateLimit: Type.Optional(Type.Object({
      max: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
      windowMs: Type.Integer({ minimum: 100, maximum: 3_600_000 }),
      allowList: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 1024 }))
    }, { additionalProperties: false }))
  }, { additionalProperties: false }),
  /** LevelDB tuning (src/ledger/db.ts) and state pruning; all optional. */
  storage: Type.Optional(Type.Object({
    /** Block cache in MiB (default 256). */
    cacheMiB: Type.Optional(Type.Integer({ minimum: 8, maximum: 65_536 })),
    /** Memtable size in MiB before a flush to level 0 (default 64); up to two are held in memory. */
    writeBufferMiB: Type.Optional(Type.Integer({ minimum: 1, maximum: 4096 })),
    /** Snappy compression of LevelDB's table blocks (default false: hashes and signatures do not compress). */
    compression: Type.Optional(Type.Boolean()),
    /**
     * Most internal nodes the state tree may have (default 4,000,000, about 11M keys). The tree
     * is kept in memory (616 bytes per node, allocated as it grows); a block that would pass
     * this is refused with ERR_STATE_TOO_LARGE.
     */
    maxStateTreeNodes: Type.Optional(Type.Integer({ minimum: 1024, maximum: 100_000_000 })),
    /** Ignored since state layout 7 (the tree is no longer stored); accepted so older configs still load, with a warning. */
    stateVersionsKept: Type.Optional(Type.Union([Type.Integer({ minimum: 2, maximum: 1_000_000_000 }), Type.Literal('all')])),
    /** Ignored since state layout 7, as stateVersionsKept. */
    stateFlushEvery: Type.Optional(Type.Integer({ minimum: 1, maximum: 1024 }))
  }, { additionalProperties: false })),
  /** How this validator proposes while it is the primary (src/consensus/types.ts); optional. */
  proposer: Type.Optional(Type.Object({
    /**
     * A partial batch is cut no sooner than this many ms after this validator's previous
     * proposal (default 50; 0 = as soon as the batch timer fires and the previous block has
     * executed). Full batches always go at once.
     */
    minBlockIntervalMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 60_000 }))
  }, { additionalProperties: false })),
  logLevel: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map(l => Type.Literal(l))),
  /** Added to the wall clock: lets chaos tests skew one validator's clock inside a shared kernel. */
  clockOffsetMs: Type.Integer({ minimum: -86_400_000, maximum: 86_400_000 })
}, { additionalProperties: false })

export type NodeConfig = Static<typeof NodeConfigSchema>

const check = TypeCompiler.Compile(NodeConfigSchema)

export function parseNodeConfig (json: unknown, where: string): NodeConfig {
  if (!check.Check(json)) {
    const e = check.Errors(json).First()
    const path = e?.path === undefined || e.path === '' ? '/' : e.path
    throw new ConfigError(`${where}: invalid config at ${path}: ${e?.message ?? 'does not match the schema'}`, { path })
  }
  return json
}

export async function loadNodeConfig (path: string): Promise<NodeConfig> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new ConfigError(`cannot read config ${path}: ${errorMessage(err)}`, { path })
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new ConfigError(`config ${path} is not valid JSON: ${errorMessage(err)}`, { path })
  }
  const cfg = parseNodeConfig(json, path)
  const env = process.env.BFT_CLOCK_OFFSET_MS
  if (env !== undefined && env !== '') {
    const n = Number(env)
    if (!Number.isSafeInteger(n)) throw new ConfigError(`BFT_CLOCK_OFFSET_MS must be an integer, got "${env}"`)
    cfg.clockOffsetMs = n
  }
  checkVerifierEnv(process.env.BFT_LEDGER_VERIFIER)
  return cfg
}

/**
 * BFT_LEDGER_VERIFIER picks the signature library (src/crypto/sodium.ts reads it at load):
 * unset or "libsodium" for libsodium, "node-crypto" for OpenSSL. A typo would silently mean
 * libsodium, and "libsodium" where the addon did not load would silently mean OpenSSL, so both
 * refuse to start instead.
 */
export function checkVerifierEnv (value: string | undefined, loaded: 'libsodium' | 'node:crypto' = nodeVerifier()): void {
  if (value === undefined || value === '' || value === 'node-crypto') return
  if (value !== 'libsodium') throw new ConfigError(`BFT_LEDGER_VERIFIER must be "libsodium" or "node-crypto", got "${value}"`)
  if (loaded !== 'libsodium') throw new ConfigError('BFT_LEDGER_VERIFIER is "libsodium", but the sodium-native addon did not load on this platform (unset it to use node:crypto)')
}

export function defaultNodeConfig (moniker: string, p2pPort: number, apiPort: number, host = '127.0.0.1'): NodeConfig {
  return {
    moniker,
    p2p: { listen: [`/ip4/${host}/tcp/${p2pPort}`], peers: [], allowedPeers: [] },
    api: { host, port: apiPort, bodyLimit: 1024 * 1024 },
    logLevel: 'info',
    clockOffsetMs: 0
  }
}
