import { InvalidParametersError } from '@libp2p/interface'
import { InvalidMessageLengthError, LengthPrefixedDecoder } from '@libp2p/utils'
import type { Uint8ArrayList } from 'uint8arraylist'

/** The fields of @libp2p/utils' LengthPrefixedDecoder (7.x) that its decode() reads. */
interface DecoderState {
  buffer: Uint8ArrayList
  maxBufferSize: number
  maxDataLength: number
  lengthDecoder: (data: Uint8ArrayList) => number
  encodingLength: (length: number) => number
}

type Decode = (this: DecoderState, buf: Uint8Array | Uint8ArrayList) => Generator<Uint8ArrayList>

let installed = false
let original: Decode | undefined

/**
 * Makes @libp2p/utils' LengthPrefixedDecoder (7.x) stop when its buffer is empty instead of
 * asking the length decoder for a length it cannot have. Noise decrypts every TCP read through
 * one: the library's decode() loops until the length decoder throws a RangeError, so every read
 * that ended on a frame boundary (nearly all of them) threw and caught one exception, with a
 * stack trace captured through optimized frames. perf over four validators: 3.1 % of all
 * samples at 100 tx/s (~20 blocks/s of ~5 txs, where each block is a few small messages) and
 * 1.1 % at 1,250 tx/s were that throw (docs/performance.md, fifteenth session).
 *
 * The loop is the library's, with one added line; an empty buffer is where every length
 * decoder fails (no bytes, no length), so frames, errors and limits are exactly as before.
 */
export function installLengthPrefixedDecoderFastPath (): void {
  if (installed) return
  const proto = LengthPrefixedDecoder.prototype as unknown as { decode: Decode }
  original = proto.decode
  proto.decode = function * decode (this: DecoderState, buf: Uint8Array | Uint8ArrayList): Generator<Uint8ArrayList> {
    this.buffer.append(buf)
    if (this.buffer.byteLength > this.maxBufferSize) {
      throw new InvalidParametersError(`Buffer length limit exceeded - ${this.buffer.byteLength}/${this.maxBufferSize}`)
    }
    while (this.buffer.byteLength > 0) {
      let dataLength: number
      try {
        dataLength = this.lengthDecoder(this.buffer)
      } catch (err) {
        // Not enough bytes yet for the length prefix itself.
        if (err instanceof RangeError) break
        throw err
      }
      if (dataLength < 0 || dataLength > this.maxDataLength) {
        throw new InvalidMessageLengthError('Invalid message length')
      }
      const lengthLength = this.encodingLength(dataLength)
      const chunkLength = lengthLength + dataLength
      if (this.buffer.byteLength < chunkLength) break
      const frame = this.buffer.sublist(lengthLength, chunkLength)
      this.buffer.consume(chunkLength)
      if (frame.byteLength > 0) yield frame
    }
  }
  installed = true
}

/** The library's own decode(), for tests that compare the two. */
export function originalLengthPrefixedDecode (): Decode {
  if (original === undefined) throw new Error('installLengthPrefixedDecoderFastPath() has not run')
  return original
}
