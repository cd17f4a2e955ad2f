import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { checkVerifierEnv, defaultNodeConfig, loadNodeConfig, parseNodeConfig } from '../../src/node/config.js'
import { homePaths } from '../../src/node/home.js'
import { createTestnet } from '../../src/node/testnet.js'
import { ConfigError } from '../../src/errors.js'

/** parseNodeConfig refuses `config` with a ConfigError naming the file and the JSON path. */
function refusedAt (config: unknown, path: string): void {
  assert.throws(() => parseNodeConfig(config, 'home/config.json'), (err: unknown) => {
    assert.ok(err instanceof ConfigError)
    assert.match(err.message, new RegExp(`home/config.json: invalid config at ${path}`))
    return true
  })
}

test('config: storage tuning is optional, and a bad value names its field', () => {
  const base = defaultNodeConfig('v0', 26656, 26657)
  assert.equal(parseNodeConfig(base, 'config.json').storage, undefined)
  assert.deepEqual(parseNodeConfig({ ...base, storage: { cacheMiB: 512 } }, 'config.json').storage, { cacheMiB: 512 })
  assert.deepEqual(parseNodeConfig({ ...base, storage: { stateVersionsKept: 'all' } }, 'config.json').storage, { stateVersionsKept: 'all' })
  assert.deepEqual(parseNodeConfig({ ...base, storage: { stateVersionsKept: 50 } }, 'config.json').storage, { stateVersionsKept: 50 })
  assert.deepEqual(parseNodeConfig({ ...base, storage: { maxStateTreeNodes: 8_000_000 } }, 'config.json').storage, { maxStateTreeNodes: 8_000_000 })
  for (const [storage, path] of [
    [{ stateVersionsKept: 1 }, '/storage/stateVersionsKept'],
    [{ stateVersionsKept: 'none' }, '/storage/stateVersionsKept'],
    [{ maxStateTreeNodes: 10 }, '/storage/maxStateTreeNodes'],
    [{ cacheMiB: 4 }, '/storage/cacheMiB'],
    [{ writeBufferMiB: 1.5 }, '/storage/writeBufferMiB'],
    [{ cacheMB: 64 }, '/storage']
  ] as const) refusedAt({ ...base, storage }, path)
})

test('config: proposer policy is optional, and a bad interval names its field', () => {
  const base = defaultNodeConfig('v0', 26656, 26657)
  assert.equal(parseNodeConfig(base, 'config.json').proposer, undefined)
  assert.deepEqual(parseNodeConfig({ ...base, proposer: { minBlockIntervalMs: 0 } }, 'config.json').proposer, { minBlockIntervalMs: 0 })
  assert.deepEqual(parseNodeConfig({ ...base, proposer: {} }, 'config.json').proposer, {})
  for (const [proposer, path] of [
    [{ minBlockIntervalMs: -1 }, '/proposer/minBlockIntervalMs'],
    [{ minBlockIntervalMs: 2.5 }, '/proposer/minBlockIntervalMs'],
    [{ minBlockIntervalMs: 60_001 }, '/proposer/minBlockIntervalMs'],
    [{ minBlockInterval: 50 }, '/proposer']
  ] as const) refusedAt({ ...base, proposer }, path)
})

test('config: the API rate limit is optional, and a bad value names its field', () => {
  const base = defaultNodeConfig('v0', 26656, 26657)
  assert.equal(parseNodeConfig(base, 'config.json').api.rateLimit, undefined)
  const rateLimit = { max: 0, windowMs: 1000, allowList: ['10.0.0.9'] }
  assert.deepEqual(parseNodeConfig({ ...base, api: { ...base.api, rateLimit } }, 'config.json').api.rateLimit, rateLimit)
  for (const [limit, path] of [
    [{ max: -1, windowMs: 1000 }, '/api/rateLimit/max'],
    [{ max: 10, windowMs: 50 }, '/api/rateLimit/windowMs'],
    [{ max: 10 }, '/api/rateLimit'],
    [{ max: 10, windowMs: 1000, allowList: [''] }, '/api/rateLimit/allowList/0'],
    [{ max: 10, windowMs: 1000, perSecond: 5 }, '/api/rateLimit']
  ] as const) refusedAt({ ...base, api: { ...base.api, rateLimit: limit } }, path)
})

test('config: BFT_LEDGER_VERIFIER is unset, "libsodium" or "node-crypto"; anything else, or libsodium without the addon, refuses to start', () => {
  for (const v of [undefined, '', 'node-crypto', 'libsodium']) checkVerifierEnv(v, 'libsodium')
  checkVerifierEnv('node-crypto', 'node:crypto')
  assert.throws(() => { checkVerifierEnv('openssl', 'libsodium') }, (e: unknown) => e instanceof ConfigError && /BFT_LEDGER_VERIFIER must be "libsodium" or "node-crypto", got "openssl"/.test(e.message))
  assert.throws(() => { checkVerifierEnv('libsodium', 'node:crypto') }, (e: unknown) => e instanceof ConfigError && /sodium-native addon did not load/.test(e.message))
})

test('testnet: co-located validators get staggered LevelDB memtables, and each config loads', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bft-testnet-cfg-'))
  try {
    const net = await createTestnet({ validators: 4, outDir: dir, basePort: 46100, compose: false, users: [] })
    const sizes = []
    for (const home of net.homes) sizes.push((await loadNodeConfig(homePaths(home).config)).storage?.writeBufferMiB)
    assert.deepEqual(sizes, [40, 52, 64, 76])
    // No proposer section unless asked for: the node's default applies.
    assert.equal((await loadNodeConfig(homePaths(net.homes[0]!).config)).proposer, undefined)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
