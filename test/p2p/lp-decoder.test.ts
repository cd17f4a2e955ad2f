import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { LengthPrefixedDecoder, type LengthPrefixedDecoderInit } from '@libp2p/utils'
import { installLengthPrefixedDecoderFastPath, originalLengthPrefixedDecode } from '../../src/p2p/lp-decoder.js'
import { SEED, seededRandom } from './helpers.js'

installLengthPrefixedDecoderFastPath()
installLengthPrefixedDecoderFastPath() // idempotent: a second install must not replace the saved original

/** Noise's framing: a 2-byte big-endian length (its encoder.js). */
type Buffered = Parameters<NonNullable<LengthPrefixedDecoderInit['lengthDecoder']>>[0]
type Frame = ReturnType<LengthPrefixedDecoder['decode']>
function uint16BE (data: Buffered): number {
  if (data.length < 2) throw new RangeError('Could not decode int16BE')
  const b = data.subarray(0, 2)
  return (b[0]! << 8) | b[1]!
}

const NOISE: LengthPrefixedDecoderInit = { lengthDecoder: uint16BE, encodingLength: () => 2, maxBufferSize: 1 << 16 }

function frame16 (payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 + payload.length)
  out[0] = payload.length >> 8
  out[1] = payload.length & 0xff
  out.set(payload, 2)
  return out
}

function frameVarint (payload: Uint8Array): Uint8Array {
  const prefix: number[] = []
  let n = payload.length
  while (n >= 0x80) { prefix.push((n & 0x7f) | 0x80); n >>>= 7 }
  prefix.push(n)
  return Buffer.concat([Uint8Array.from(prefix), payload])
}

type Outcome = { frames: string[], error: string | null }

/** Feeds `chunks` to a decoder whose decode() is `decode`; what it yields and how it ends. */
function run (init: LengthPrefixedDecoderInit, chunks: Uint8Array[], decode: (this: unknown, buf: Uint8Array) => Frame): Outcome {
  const d = new LengthPrefixedDecoder(init)
  const frames: string[] = []
  try {
    for (const c of chunks) for (const f of decode.call(d, c)) frames.push(Buffer.from(f.subarray()).toString('hex'))
  } catch (err) {
    return { frames, error: `${(err as Error).name}: ${(err as Error).message}` }
  }
  return { frames, error: null }
}

/** Splits `bytes` at random points (including empty chunks). */
function chop (bytes: Uint8Array, random: () => number): Uint8Array[] {
  const out: Uint8Array[] = []
  let pos = 0
  while (pos < bytes.length) {
    const n = Math.floor(random() * 40)
    out.push(bytes.subarray(pos, Math.min(bytes.length, pos + n)))
    pos += n
  }
  return out
}

test(`length-prefixed decoder: same frames and errors as the library's, any chunking (seed ${SEED})`, () => {
  const random = seededRandom(SEED)
  const original = originalLengthPrefixedDecode() as (this: unknown, buf: Uint8Array) => Frame
  const patched = LengthPrefixedDecoder.prototype.decode as (this: unknown, buf: Uint8Array) => Frame
  assert.notEqual(original, patched)
  for (let round = 0; round < 200; round++) {
    const payloads = Array.from({ length: 1 + Math.floor(random() * 6) }, () =>
      Uint8Array.from({ length: Math.floor(random() * 300) }, () => Math.floor(random() * 256)))
    for (const [init, frame] of [[NOISE, frame16], [{ maxDataLength: 200 }, frameVarint]] as const) {
      const wire: Uint8Array = Buffer.concat(payloads.map(frame))
      // Every other round ends mid-frame: the tail stays buffered, as between two TCP reads.
      const cut = round % 2 === 0 ? wire : wire.subarray(0, wire.length - 1 - Math.floor(random() * 3))
      const chunks = chop(cut, random)
      assert.deepEqual(run(init, chunks, patched), run(init, chunks, original), `round ${round}`)
    }
  }
})

test('length-prefixed decoder: no length is asked of an empty buffer', () => {
  let asked = 0
  let askedEmpty = 0
  const counting: LengthPrefixedDecoderInit = {
    ...NOISE,
    lengthDecoder: (data) => { asked++; if (data.length === 0) askedEmpty++; return uint16BE(data) }
  }
  const d = new LengthPrefixedDecoder(counting)
  const frames: number[] = []
  for (let i = 0; i < 50; i++) for (const f of d.decode(frame16(new Uint8Array(10 + i)))) frames.push(f.byteLength)
  assert.equal(frames.length, 50)
  assert.deepEqual(frames, Array.from({ length: 50 }, (_, i) => 10 + i))
  assert.equal(asked, 50, 'one length read per frame')
  assert.equal(askedEmpty, 0, 'the library asked once more per read, and the decoder threw')
})

test('length-prefixed decoder: limits still hold', () => {
  const d = new LengthPrefixedDecoder({ ...NOISE, maxDataLength: 100 })
  assert.throws(() => [...d.decode(frame16(new Uint8Array(101)))], { name: 'InvalidMessageLengthError' })
  const small = new LengthPrefixedDecoder({ ...NOISE, maxBufferSize: 64 })
  assert.throws(() => [...small.decode(new Uint8Array(65))], /Buffer length limit exceeded - 65\/64/)
  // A length prefix split across reads waits for its second byte.
  const split = new LengthPrefixedDecoder(NOISE)
  const wire = frame16(Uint8Array.of(1, 2, 3))
  assert.deepEqual([...split.decode(wire.subarray(0, 1))], [])
  assert.deepEqual([...split.decode(wire.subarray(1))].map(f => [...f.subarray()]), [[1, 2, 3]])
})

test('Noise frames its reads with the decoder this patch reaches (no copy of @libp2p/utils of its own)', () => {
  // The patch changes the prototype of the @libp2p/utils the node resolves. A copy nested under
  // @chainsafe/libp2p-noise would go unpatched: correct still, but every read would throw again.
  const noiseEntry = fileURLToPath(import.meta.resolve('@chainsafe/libp2p-noise'))
  let noiseRoot = dirname(noiseEntry)
  // Up to the package's own directory; at the filesystem root dirname() returns its argument.
  while (!existsSync(join(noiseRoot, 'package.json')) && dirname(noiseRoot) !== noiseRoot) noiseRoot = dirname(noiseRoot)
  assert.ok(existsSync(join(noiseRoot, 'package.json')), `no package.json above ${noiseEntry}`)
  assert.equal(existsSync(join(noiseRoot, 'node_modules', '@libp2p', 'utils')), false, `${noiseRoot} has its own @libp2p/utils`)
  const utils = fileURLToPath(import.meta.resolve('@libp2p/utils'))
  assert.match(readFileSync(join(noiseRoot, 'dist', 'src', 'utils.js'), 'utf8'), /LengthPrefixedDecoder[^]*from '@libp2p\/utils'/, 'noise still imports LengthPrefixedDecoder from @libp2p/utils')
  assert.ok(readFileSync(utils, 'utf8').includes('length-prefixed-decoder'), 'and @libp2p/utils still exports it')
})
