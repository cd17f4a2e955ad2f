import { test } from 'node:test'
import assert from 'node:assert/strict'
import { defaultNodeConfig, parseNodeConfig } from '../../src/node/config.js'
import { ConfigError } from '../../src/errors.js'

test('config: storage tuning is optional, and a bad value names its field', () => {
  const base = defaultNodeConfig('v0', 26656, 26657)
  assert.equal(parseNodeConfig(base, 'config.json').storage, undefined)
  assert.deepEqual(parseNodeConfig({ ...base, storage: { cacheMiB: 512 } }, 'config.json').storage, { cacheMiB: 512 })
  for (const [storage, path] of [
    [{ cacheMiB: 4 }, '/storage/cacheMiB'],
    [{ writeBufferMiB: 1.5 }, '/storage/writeBufferMiB'],
    [{ cacheMB: 64 }, '/storage']
  ] as const) {
    assert.throws(() => parseNodeConfig({ ...base, storage }, 'home/config.json'), (err: unknown) => {
      assert.ok(err instanceof ConfigError)
      assert.match(err.message, new RegExp(`home/config.json: invalid config at ${path}`))
      return true
    })
  }
})
