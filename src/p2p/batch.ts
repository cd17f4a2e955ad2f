import { P2PError } from './errors.js'

/**
 * Batch frame: what one length-prefixed message on a topic stream carries. A sender packs
 * every frame queued for a peer into one batch per flush, because small writes cost far more
 * than bytes here (~9,000 msgs/s vs ~93 MB/s measured on loopback).
 *
 *   batch := 0xB1 frame+
 *   frame := varint(len) bytes[len]        (unsigned LEB128, minimal encoding, len >= 0)
 *
 * 0xB1 tags the format and version; a future format takes another tag. Decoding is strict:
 * a wrong tag, a non-minimal or truncated varint, a truncated frame or zero frames is garbage.
 */
export const BATCH_TAG = 0xb1

export function varintLength (n: number): number {
  let len = 1
  while (n >= 0x80) { n = Math.floor(n / 128); len++ }
  return len
}

/** Bytes a frame of `len` bytes adds to a batch. */
export function framedLength (len: number): number {
  return varintLength(len) + len
}

export function encodeBatch (frames: Uint8Array[]): Uint8Array {
  if (frames.length === 0) throw new P2PError('ERR_EMPTY_BATCH', 'a batch needs at least one frame')
  let size = 1
  for (const f of frames) size += framedLength(f.byteLength)
  const out = new Uint8Array(size)
  out[0] = BATCH_TAG
  let pos = 1
  for (const f of frames) {
    let n = f.byteLength
    while (n >= 0x80) { out[pos++] = (n & 0x7f) | 0x80; n = Math.floor(n / 128) }
    out[pos++] = n
    out.set(f, pos)
    pos += f.byteLength
  }
  return out
}

/** Splits a batch into frames (views into `bytes`); throws P2PError('ERR_BAD_BATCH') on garbage. */
export function decodeBatch (bytes: Uint8Array, maxFrameBytes: number): Uint8Array[] {
  if (bytes.byteLength === 0 || bytes[0] !== BATCH_TAG) {
    throw new P2PError('ERR_BAD_BATCH', `batch must start with tag 0x${BATCH_TAG.toString(16)}, got ${bytes.byteLength === 0 ? 'nothing' : '0x' + bytes[0].toString(16)}`)
  }
  const frames: Uint8Array[] = []
  let pos = 1
  while (pos < bytes.byteLength) {
    let len = 0
    let mul = 1
    let i = 0
    for (;;) {
      if (pos >= bytes.byteLength) throw new P2PError('ERR_BAD_BATCH', `truncated length of frame ${frames.length}`)
      const b = bytes[pos++]
      len += (b & 0x7f) * mul
      mul *= 128
      i++
      if ((b & 0x80) === 0) {
        if (b === 0 && i > 1) throw new P2PError('ERR_BAD_BATCH', `non-minimal length of frame ${frames.length}`)
        break
      }
      if (i >= 5) throw new P2PError('ERR_BAD_BATCH', `length of frame ${frames.length} is too long`)
    }
    if (len > maxFrameBytes) throw new P2PError('ERR_FRAME_TOO_LARGE', `frame ${frames.length} is ${len} bytes, limit ${maxFrameBytes}`)
    if (pos + len > bytes.byteLength) throw new P2PError('ERR_BAD_BATCH', `frame ${frames.length} claims ${len} bytes, ${bytes.byteLength - pos} left`)
    frames.push(bytes.subarray(pos, pos + len))
    pos += len
  }
  if (frames.length === 0) throw new P2PError('ERR_BAD_BATCH', 'batch holds no frames')
  return frames
}
