import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { BlockSync, type SyncTransport } from '../../src/node/sync.js'
import type { BlockPipeline } from '../../src/node/pipeline.js'
import { ValidationError } from '../../src/errors.js'
import { silentLogger } from '../../src/log.js'
import { certify, makeGenesis, openChain, tempDir, testSeed } from '../ledger/helpers.js'

/**
 * A peer serving real stored, certified blocks to a client whose pipeline fails to apply them
 * in a given way: the client penalizes the peer only when the block failed verification.
 */
async function syncAgainstFailure (failure: Error): Promise<{ penalties: string[], attempts: number }> {
  const dir = tempDir('bft-sync-test')
  const g = makeGenesis()
  const { db, store, driver } = await openChain(dir.path, g, testSeed(), 4)
  try {
    for (let h = 1; h <= 3; h++) {
      const next = await driver.next(2)
      await driver.commit(next)
      await store.putCertificate(certify(g, h, next.hash, next.stateRoot, [0, 1, 2]))
    }
    let serve: ((peer: string, req: Uint8Array) => Promise<Uint8Array>) | undefined
    const transport = (requester: boolean, penalties: string[]): SyncTransport => ({
      request: async (peer, _p, req) => await serve!(peer, req),
      handle: (_p, h) => { if (!requester) serve = h },
      penalize: (peer, reason) => { penalties.push(`${peer}: ${reason}`) },
      candidates: () => ['peer-a', 'peer-b']
    })
    // The serving side only reads the store.
    const noPipeline = {} as unknown as BlockPipeline
    const server = new BlockSync({ store, pipeline: noPipeline, transport: transport(false, []), onSynced: () => {}, certifiedHeight: () => 3, logger: silentLogger })
    assert.ok(server)
    const penalties: string[] = []
    let attempts = 0
    const pipeline = { height: 0, applyCertified: async () => { attempts++; throw failure } } as unknown as BlockPipeline
    const client = new BlockSync({ store, pipeline, transport: transport(true, penalties), onSynced: () => {}, certifiedHeight: () => 0, logger: silentLogger })
    assert.equal(await client.catchUp(), 0)
    return { penalties, attempts }
  } finally {
    await db.close()
    dir.cleanup()
  }
}

test('sync: a block that fails verification penalizes the peer that served it, and the next peer is tried', async () => {
  const r = await syncAgainstFailure(new ValidationError('ERR_SYNC_STATE_ROOT', 'sync: executing block 1 gives another stateRoot'))
  assert.deepEqual(r.penalties, ['peer-a: sync: invalid block or certificate', 'peer-b: sync: invalid block or certificate'])
  assert.equal(r.attempts, 2)
})

test('sync: a local failure to apply a block (LevelDB closed at shutdown) blames no peer and ends the round', async () => {
  const r = await syncAgainstFailure(new Error('Database is not open'))
  assert.deepEqual(r.penalties, [])
  assert.equal(r.attempts, 1)
})
