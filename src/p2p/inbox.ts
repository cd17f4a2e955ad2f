import * as lp from 'it-length-prefixed'
import type { Stream } from '@libp2p/interface'
import { decodeBatch } from './batch.js'

/** Why a peer's topic stream was cut: each is misbehaviour, scored by the node. */
export type Offence = 'oversized' | 'garbage'

export interface InboxHandlers {
  onFrames: (frames: Uint8Array[]) => void
  onOffence: (offence: Offence, detail: string) => void
  onEnd: (err?: Error) => void
}

/**
 * Reads length-prefixed batch frames from one inbound topic stream until it ends. The length
 * limit is checked on the prefix, before the body is buffered, so an oversized frame costs us
 * nothing but the prefix.
 */
export async function readTopicStream (stream: Stream, maxFrameBytes: number, h: InboxHandlers): Promise<void> {
  try {
    for await (const msg of lp.decode(stream, { maxDataLength: maxFrameBytes })) {
      const frames = decodeBatch(msg.subarray(), maxFrameBytes)
      h.onFrames(frames)
    }
    h.onEnd()
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err))
    const code = (e as { code?: unknown }).code
    if (code === 'ERR_MSG_DATA_TOO_LONG' || code === 'ERR_FRAME_TOO_LARGE') {
      h.onOffence('oversized', e.message)
    } else if (code === 'ERR_BAD_BATCH' || code === 'ERR_MSG_LENGTH_TOO_LONG' || code === 'ERR_INVALID_MSG_LENGTH') {
      h.onOffence('garbage', e.message)
    }
    h.onEnd(e)
  }
}
