import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { getHeapSnapshot } from 'node:v8'
import { createTestnet } from '../../src/node/testnet.js'
import { LedgerNode } from '../../src/node/node.js'

/**
 * Whether `probe` occurs in a heap snapshot of this process. A snapshot holds only what a full
 * GC keeps; the probe is a Buffer so that looking for it puts no such string on the heap.
 */
async function inHeap (probe: Buffer): Promise<boolean> {
  let tail = Buffer.alloc(0)
  for await (const chunk of getHeapSnapshot()) {
    const text = Buffer.concat([tail, Buffer.from(chunk as Buffer | string)])
    if (text.includes(probe)) return true
    tail = text.subarray(Math.max(0, text.length - probe.length))
  }
  return false
}

/** Funded addresses nobody uses: after start, only genesis's balance list could hold them. */
function idleBalances (n: number): Array<{ address: string, amount: bigint }> {
  return Array.from({ length: n }, (_, i) => ({ address: `c0ffee${i.toString(16).padStart(34, '0')}`, amount: 5n }))
}

test('an open validator keeps no genesis balance alive (at 1M accounts they were ~3M heap objects every major GC marked)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bft-genesis-mem-'))
  try {
    const net = await createTestnet({ validators: 4, outDir: dir, basePort: 46300, compose: false, users: [], balances: idleBalances(50) })
    const probe = Buffer.from(`c0ffee${(37).toString(16).padStart(34, '0')}`)
    const node = await LedgerNode.open({ home: net.homes[0]!, logLevel: 'silent' })
    try {
      assert.equal(node.genesis.balances.length, 0)
      assert.equal(await inHeap(probe), false, 'a genesis balance is still reachable from the open node')
    } finally {
      await node.stop()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
