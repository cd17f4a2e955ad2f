import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { decode, encode } from '../../src/codec/index.js'
import { batchDigest, openMessage, signMessage, type MessageBody } from '../../src/consensus/messages.js'
import { checkpointSignBytes } from '../../src/consensus/types.js'
import { keyPairFromSeed } from '../../src/crypto/index.js'
import { cryptoFor, makeConfig, request, validatorKeys } from './harness.js'

const keys = validatorKeys(4)
const cfg = makeConfig(keys, 0)
const c1 = cryptoFor(keys[1]!)
const d32 = new Uint8Array(32).fill(7)

function samples (): MessageBody[] {
  const reqs = [request(1), request(2)]
  const digest = batchDigest(c1, 5, 1, 1, reqs.map(r => r.id))
  const pp = { chainId: cfg.chainId, from: 1, kind: 'pre-prepare' as const, payload: { view: 1, seq: 3, timestamp: 5, originView: 1, proposer: 1, digest, requests: reqs } }
  const cpSig = c1.sign(checkpointSignBytes(cfg.chainId, 4, d32, d32))
  return [
    pp,
    { chainId: cfg.chainId, from: 1, kind: 'prepare', payload: { view: 1, seq: 3, digest } },
    { chainId: cfg.chainId, from: 1, kind: 'commit', payload: { view: 1, seq: 3, digest } },
    { chainId: cfg.chainId, from: 1, kind: 'checkpoint', payload: { seq: 4, blockHash: d32, stateRoot: d32, signature: cpSig } },
    {
      chainId: cfg.chainId,
      from: 1,
      kind: 'view-change',
      payload: {
        newView: 2,
        stable: { seq: 0, blockHash: new Uint8Array(0), stateRoot: new Uint8Array(0), signatures: [] },
        prepared: [{ prePrepare: signMessage(pp, c1), prepares: [] }]
      }
    },
    { chainId: cfg.chainId, from: 1, kind: 'new-view', payload: { view: 5, viewChanges: [new Uint8Array([1])], prePrepares: [] } }
  ]
}

test('every message kind round-trips through sign/open', () => {
  for (const body of samples()) {
    const wire = signMessage(body, c1)
    const o = openMessage(wire, cfg, cryptoFor(keys[0]!))
    assert.ok('body' in o, `${body.kind}: ${'error' in o ? o.error : ''}`)
    assert.equal(o.from, 1)
    assert.deepEqual(encode(o.body), encode(body), body.kind)
  }
})

test('forged, tampered, foreign-chain and non-validator messages are rejected with a reason', () => {
  const body = samples()[1]!
  const wire = signMessage(body, c1)
  // Signed by validator 2's key but claiming to be from 1.
  const forged = signMessage(body, cryptoFor(keys[2]!))
  assert.match(errorOf(forged), /bad signature on prepare from 1/)
  // One flipped bit anywhere: never accepted.
  for (let i = 0; i < wire.length; i++) {
    const t = Uint8Array.from(wire); t[i]! ^= 0x01
    assert.ok('error' in openMessage(t, cfg, c1), `flip at byte ${i} accepted`)
  }
  assert.match(errorOf(signMessage({ ...body, chainId: 'other-chain' }, c1)), /wrong chainId "other-chain"/)
  const outsider = cryptoFor(keyPairFromSeed(new Uint8Array(32).fill(99)))
  assert.match(errorOf(signMessage({ ...body, from: 4 }, outsider)), /sender 4 is not a validator/)
  // A checkpoint whose certificate signature is over other bytes.
  const cp = samples()[3]! as Extract<MessageBody, { kind: 'checkpoint' }>
  const badCp = { ...cp, payload: { ...cp.payload, seq: 5 } }
  assert.match(errorOf(signMessage(badCp, c1)), /bad checkpoint signature for seq 5 from 1/)
  // Schema: extra or missing payload fields.
  assert.match(errorOf(signMessage({ ...body, payload: { ...body.payload, extra: 1 } } as unknown as MessageBody, c1)), /invalid PREPARE/)
  const { digest: _d, ...noDigest } = body.payload as { digest: Uint8Array }
  assert.match(errorOf(signMessage({ ...body, payload: noDigest } as unknown as MessageBody, c1)), /invalid PREPARE/)
  // Non-canonical envelope (re-encoded with a longer integer form is impossible through encode; append a byte instead).
  assert.match(errorOf(Uint8Array.from([...wire, 0])), /trailing|canonical/)
})

test('arbitrary bytes and mutated messages never throw in openMessage', () => {
  const wires = samples().map(b => signMessage(b, c1))
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), bytes => {
    const o = openMessage(bytes, cfg, c1)
    return 'error' in o
  }), { seed: 42, numRuns: 500 })
  fc.assert(fc.property(fc.nat(wires.length - 1), fc.nat(), fc.integer({ min: 1, max: 255 }), (k, pos, x) => {
    const w = Uint8Array.from(wires[k]!)
    w[pos % w.length]! ^= x
    openMessage(w, cfg, c1)
    return true
  }), { seed: 7, numRuns: 500 })
  // Structurally valid CBOR of the wrong shape.
  for (const v of [null, 1, 'x', [], {}, { body: new Uint8Array([0xa0]), sig: new Uint8Array(64) }, { body: encode({ chainId: cfg.chainId }), sig: new Uint8Array(64) }]) {
    assert.ok('error' in openMessage(encode(v), cfg, c1))
  }
  assert.ok(decode(wires[0]!) !== undefined)
})

test('a COMMIT from the authenticated signer and every CHECKPOINT skip the envelope check; nothing else does', () => {
  const [pp, prepare, commit, checkpoint] = samples() as [MessageBody, MessageBody, MessageBody, Extract<MessageBody, { kind: 'checkpoint' }>]
  let checks = 0
  const counting = { ...c1, verify: (sig: Uint8Array, msg: Uint8Array, pk: Uint8Array) => { checks++; return c1.verify(sig, msg, pk) } }
  const open = (wire: Uint8Array, from?: number): { o: ReturnType<typeof openMessage>, checks: number } => {
    checks = 0
    return { o: openMessage(wire, cfg, counting, from), checks }
  }
  const refusal = (wire: Uint8Array, from?: number): string => {
    const { o } = open(wire, from)
    return 'error' in o ? o.error : 'accepted'
  }
  // Envelopes signed by validator 2's key, each claiming to be from 1.
  const forgedCommit = signMessage(commit, cryptoFor(keys[2]!))
  // Arrived over validator 1's own channel: its sender is proven, no signature is checked.
  const direct = open(forgedCommit, 1)
  assert.ok('body' in direct.o && direct.o.envelopeUnchecked === true)
  assert.equal(direct.checks, 0)
  // Relayed by anyone else, or with no transport sender: checked, and refused.
  for (const from of [undefined, 0, 2, 3]) assert.match(refusal(forgedCommit, from), /bad signature on commit from 1/)
  const genuine = open(signMessage(commit, c1), 2)
  assert.ok('body' in genuine.o && genuine.o.envelopeUnchecked === undefined)
  assert.equal(genuine.checks, 1)
  // PRE-PREPARE and PREPARE are evidence in view changes: checked even from their own sender.
  for (const body of [pp, prepare]) assert.match(refusal(signMessage(body, cryptoFor(keys[2]!)), 1), /bad signature/)
  // CHECKPOINT: the certificate signature inside is the one check, from any sender.
  const cp = open(signMessage(checkpoint, cryptoFor(keys[2]!)), 3)
  assert.ok('body' in cp.o && cp.o.envelopeUnchecked === undefined)
  assert.equal(cp.checks, 1)
  const wrongInner = { ...checkpoint, payload: { ...checkpoint.payload, signature: cryptoFor(keys[2]!).sign(checkpointSignBytes(cfg.chainId, 4, d32, d32)) } }
  assert.match(refusal(signMessage(wrongInner, c1), 1), /bad checkpoint signature for seq 4 from 1/)
})

function errorOf (wire: Uint8Array): string {
  const o = openMessage(wire, cfg, cryptoFor(keys[0]!))
  assert.ok('error' in o, 'expected a rejection')
  return o.error
}
