import { StreamState, YamuxStream } from '@chainsafe/libp2p-yamux/stream'

interface WindowState {
  state: StreamState
  recvWindow: number
  recvWindowCapacity: number
}

/** States in which a window update carries no SYN/ACK flag and is only about credit. */
const CREDIT_ONLY = new Set([StreamState.SYNSent, StreamState.Established, StreamState.Finished])

let installed = false

/**
 * Makes @chainsafe/libp2p-yamux (8.x) grant receive credit once half of a stream's window is
 * used, as go-yamux and rust-yamux do, instead of after every data frame. Every consensus
 * message or tx batch we received was answered with its own encrypted 12-byte WINDOW_UPDATE
 * frame and write syscall (strace of a validator at 10 blocks/s: one read answered by one
 * writev, all of them 28 bytes on the wire), which cost the receiver a syscall and the
 * sender a read, decrypt and frame decode, for nothing: our messages are far below the
 * 256 KiB window.
 *
 * Flow control is unchanged in kind: the sender still stops at zero credit, and the update
 * that refills it leaves at the latest when half the window is consumed, so a sender never
 * waits for more than half a window. Updates that carry SYN or ACK (stream open), and the
 * paused-stream path, go through the library's own method untouched.
 */
export function installYamuxWindowThreshold (): void {
  if (installed) return
  const proto = YamuxStream.prototype as unknown as { sendWindowUpdate: (this: WindowState) => void }
  const original = proto.sendWindowUpdate
  proto.sendWindowUpdate = function (this: WindowState) {
    if (CREDIT_ONLY.has(this.state) && this.recvWindow - this.recvWindowCapacity < this.recvWindow / 2) return
    original.call(this)
  }
  installed = true
}
