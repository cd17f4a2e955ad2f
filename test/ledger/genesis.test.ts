import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { toHex } from '../../src/codec/index.js'
import { GenesisFileSchema, genesisHash, genesisToJson, loadGenesis, parseGenesis, type GenesisFile } from '../../src/ledger/genesis.js'
import { genesisJson, tempDir, validatorKey } from './helpers.js'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

function rejects (mutate: (g: GenesisFile) => void, path: string, pattern?: RegExp): void {
  const g = structuredClone(genesisJson(4, 3))
  mutate(g)
  assert.throws(() => parseGenesis(g, { source: 'test.json' }), (err: Error & { code?: string, details?: { path?: string } }) => {
    assert.equal(err.code, 'ERR_CONFIG')
    assert.equal(err.details?.path, path, err.message)
    assert.ok(err.message.startsWith(`test.json: ${path}: `), err.message)
    if (pattern !== undefined) assert.match(err.message, pattern)
    return true
  })
}

test('genesis/example.json loads and genesis/schema.json matches the code schema', async () => {
  const g = await loadGenesis(join(ROOT, 'genesis/example.json'))
  assert.equal(g.validators.length, 4)
  const schema = JSON.parse(readFileSync(join(ROOT, 'genesis/schema.json'), 'utf8')) as Record<string, unknown>
  delete schema.$schema; delete schema.$id; delete schema.title
  assert.deepEqual(schema, JSON.parse(JSON.stringify(GenesisFileSchema)), 'regenerate genesis/schema.json from GenesisFileSchema')
})

test('round trip and hash: stable, and any change moves it', () => {
  const json = genesisJson(4, 3)
  const g = parseGenesis(json)
  assert.deepEqual(genesisToJson(g), json)
  assert.equal(toHex(genesisHash(parseGenesis(structuredClone(json)))), toHex(genesisHash(g)))
  const changed = structuredClone(json); changed.balances[0]!.amount = '1000000001'
  assert.notEqual(toHex(genesisHash(parseGenesis(changed))), toHex(genesisHash(g)))
  const p = structuredClone(json); p.params.batchTimeoutMs++
  assert.notEqual(toHex(genesisHash(parseGenesis(p))), toHex(genesisHash(g)))
  // Order of the balance list is part of the identity; so is moving an amount between entries.
  const swapped = structuredClone(json); swapped.balances.reverse()
  assert.notEqual(toHex(genesisHash(parseGenesis(swapped))), toHex(genesisHash(g)))
})

test('genesis hash is not bounded by the codec cap: 200,000 balances (one CBOR value would be ~12 MB)', () => {
  const g = parseGenesis(genesisJson(4, 3))
  const many = { ...g, balances: Array.from({ length: 200_000 }, (_, i) => ({ address: g.balances[i % g.balances.length]!.address, amount: BigInt(i) })) }
  const h = genesisHash(many)
  assert.equal(h.length, 32)
  assert.notEqual(toHex(h), toHex(genesisHash({ ...many, balances: many.balances.slice(1) })))
})

test('validator count: 1 or 3f+1 only', () => {
  parseGenesis(genesisJson(1))
  parseGenesis(genesisJson(7))
  for (const n of [2, 3, 5, 6]) {
    assert.throws(() => parseGenesis(genesisJson(n)), (err: Error) => err.message.includes('/validators') && err.message.includes(`${n} validators`))
  }
  rejects(g => { g.validators = [] }, '/validators')
})

test('a window of batches that a view change could not carry in one message is refused', () => {
  // 4 validators, 256 x 1 MiB: a NEW-VIEW could need ~1 GiB (the old defaults).
  rejects(g => { g.params.windowSize = 256; g.params.checkpointInterval = 64; g.params.maxBatchBytes = 1024 * 1024 }, '/params/windowSize')
  const ok = genesisJson(4)
  ok.params.windowSize = 32; ok.params.checkpointInterval = 16; ok.params.maxBatchBytes = 1024 * 1024
  parseGenesis(ok)
})

test('field errors name the JSON path', () => {
  rejects(g => { delete (g.params as Partial<GenesisFile['params']>).maxTxBytes }, '/params/maxTxBytes')
  rejects(g => { (g as Record<string, unknown>).extra = 1 }, '/extra')
  rejects(g => { g.chainId = 'has space' }, '/chainId')
  rejects(g => { g.validators[1]!.publicKey = 'zz' }, '/validators/1/publicKey')
  rejects(g => { g.validators[2]!.peerId = g.validators[0]!.peerId }, '/validators/2/peerId', /same peer id as validator 0/)
  rejects(g => { g.validators[3]!.publicKey = g.validators[1]!.publicKey }, '/validators/3/publicKey', /same public key as validator 1/)
  rejects(g => { g.validators[3]!.name = 'v0' }, '/validators/3/name')
  rejects(g => { g.validators[1]!.peerId = g.validators[1]!.peerId.slice(0, -1) + 'x' }, '/validators/1/peerId', /not the peer id of publicKey/)
  rejects(g => { g.validators[0]!.publicKey = '01' + '00'.repeat(31) }, '/validators/0/publicKey', /small-order/)
  rejects(g => { g.validators[0]!.publicKey = 'ff'.repeat(32) }, '/validators/0/publicKey')
  rejects(g => { g.balances[1]!.address = toHex(validatorKey(0).publicKey) }, '/balances/1/address')
  rejects(g => { g.balances[1]!.address = g.balances[0]!.address }, '/balances/1/address', /already funded/)
  rejects(g => { g.balances[0]!.amount = '18446744073709551616' }, '/balances/0/amount', /u64/)
  rejects(g => { g.balances[0]!.amount = '-1' }, '/balances/0/amount')
  rejects(g => { g.balances[0]!.amount = '01' }, '/balances/0/amount')
  rejects(g => { g.balances.forEach(b => { b.amount = '18446744073709551615' }) }, '/balances', /total supply/)
  rejects(g => { g.params.windowSize = g.params.checkpointInterval - 1 }, '/params/windowSize')
  rejects(g => { g.params.maxBatchBytes = 1024; g.params.maxTxBytes = 2048 }, '/params/maxBatchBytes')
  rejects(g => { g.params.mempoolPerSender = g.params.mempoolSize + 1 }, '/params/mempoolPerSender')
  rejects(g => { g.params.batchTimeoutMs = 0 }, '/params/batchTimeoutMs')
  rejects(g => { g.params.maxTxBytes = 10 * 1024 * 1024 }, '/params/maxTxBytes')
  rejects(g => { g.genesisTime = 1.5 }, '/genesisTime')
})

test('loadGenesis: unreadable or non-JSON files name the file', async () => {
  const dir = tempDir('genesis')
  try {
    await assert.rejects(loadGenesis(join(dir.path, 'missing.json')), (err: Error) => err.message.includes('missing.json'))
    const bad = join(dir.path, 'bad.json')
    writeFileSync(bad, '{ "chainId": ')
    await assert.rejects(loadGenesis(bad), (err: Error) => /bad\.json is not valid JSON/.test(err.message))
    const wrong = join(dir.path, 'wrong.json')
    writeFileSync(wrong, JSON.stringify({ ...genesisJson(4), validators: [] }))
    await assert.rejects(loadGenesis(wrong), (err: Error) => err.message.startsWith(`${wrong}: /validators`))
  } finally {
    dir.cleanup()
  }
})
