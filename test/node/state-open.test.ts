import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { pino } from 'pino'
import { createTestnet } from '../../src/node/testnet.js'
import { LedgerNode } from '../../src/node/node.js'

/** A logger whose JSON lines land in `lines`. */
function capture (lines: Array<Record<string, unknown>>): pino.Logger {
  const sink = new Writable({ write (chunk: Buffer, _enc, done) { for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>); done() } })
  return pino({ level: 'info' }, sink)
}

test('a validator opens with its state tree rebuilt from the flat state, and warns about the stored-tree settings it ignores', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bft-state-open-'))
  try {
    const balances = Array.from({ length: 300 }, (_, i) => ({ address: `ab${i.toString(16).padStart(38, '0')}`, amount: 7n }))
    const net = await createTestnet({ validators: 4, outDir: dir, basePort: 46400, compose: false, users: [], balances, storage: { stateVersionsKept: 10, stateFlushEvery: 4 } })
    const first: Array<Record<string, unknown>> = []
    let node = await LedgerNode.open({ home: net.homes[0]!, logger: capture(first) })
    const root = (await node.status()).stateRoot
    await node.stop()
    for (const key of ['storage.stateVersionsKept', 'storage.stateFlushEvery']) {
      assert.ok(first.some(l => l.level === 40 && l.key === key && /config key ignored/.test(String(l.msg))), `a warning names ${key}`)
    }
    // Reopened: the tree is rebuilt from the 300 accounts the genesis load wrote, to the same root.
    const second: Array<Record<string, unknown>> = []
    node = await LedgerNode.open({ home: net.homes[0]!, logger: capture(second) })
    try {
      const rebuilt = second.find(l => l.msg === 'state tree rebuilt in memory')
      assert.ok(rebuilt !== undefined, 'the rebuild is logged')
      assert.equal(rebuilt.keys, 300)
      assert.ok(Number(rebuilt.nodes) > 0)
      assert.equal(rebuilt.indexed, 0, 'the key index was complete')
      assert.equal((await node.status()).stateRoot, root)
    } finally {
      await node.stop()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
