import { lpStream } from '@libp2p/utils'
import type { AbortOptions, MessageStream } from '@libp2p/interface'
import { P2PError } from './errors.js'

/**
 * multistream-select 1.0.0 (https://github.com/multiformats/multistream-select), the
 * negotiation every libp2p connection and stream starts with. The `libp2p` package (which
 * ships @libp2p/multistream-select) is not installed here, so this is the small subset we
 * need: the dialer proposes protocols in order, the listener echoes one or answers "na".
 */
export const MULTISTREAM_ID = '/multistream/1.0.0'
// go-libp2p's limit; a longer line is a peer that is not speaking multistream.
const MAX_LINE = 1024
const NA = 'na'

async function readLine (lp: ReturnType<typeof lpStream>, options: AbortOptions): Promise<string> {
  const buf = (await lp.read(options)).subarray()
  if (buf.byteLength === 0 || buf[buf.byteLength - 1] !== 0x0a) {
    throw new P2PError('ERR_MULTISTREAM', 'multistream line without trailing newline')
  }
  return new TextDecoder().decode(buf.subarray(0, buf.byteLength - 1))
}

function line (s: string): Uint8Array {
  return new TextEncoder().encode(s + '\n')
}

/** Dialer side: returns the first of `protocols` the remote accepts. */
export async function select (stream: MessageStream, protocols: string[], options: AbortOptions): Promise<string> {
  const lp = lpStream(stream, { maxDataLength: MAX_LINE })
  for (let i = 0; i < protocols.length; i++) {
    const protocol = protocols[i]
    if (i === 0) {
      await lp.writeV([line(MULTISTREAM_ID), line(protocol)], options)
      const header = await readLine(lp, options)
      if (header !== MULTISTREAM_ID) throw new P2PError('ERR_MULTISTREAM', `remote answered "${header.slice(0, 64)}" instead of ${MULTISTREAM_ID}`)
    } else {
      await lp.write(line(protocol), options)
    }
    const answer = await readLine(lp, options)
    if (answer === protocol) {
      lp.unwrap()
      return protocol
    }
    if (answer !== NA) throw new P2PError('ERR_MULTISTREAM', `remote answered "${answer.slice(0, 64)}" to "${protocol}"`)
  }
  throw new P2PError('ERR_PROTOCOL_UNSUPPORTED', `remote supports none of ${protocols.join(', ')}`)
}

/** Listener side: answers proposals until one of `protocols` is chosen. */
export async function handle (stream: MessageStream, protocols: string[], options: AbortOptions): Promise<string> {
  const lp = lpStream(stream, { maxDataLength: MAX_LINE, maxLengthLength: 2 })
  // A peer that keeps proposing unknown protocols is not negotiating in good faith.
  for (let round = 0; round < 32; round++) {
    const proposal = await readLine(lp, options)
    if (proposal === MULTISTREAM_ID) {
      await lp.write(line(MULTISTREAM_ID), options)
    } else if (protocols.includes(proposal)) {
      await lp.write(line(proposal), options)
      lp.unwrap()
      return proposal
    } else {
      await lp.write(line(NA), options)
    }
  }
  throw new P2PError('ERR_MULTISTREAM', 'too many multistream proposals')
}
