import type { ConnectionGater, PeerId } from '@libp2p/interface'

export interface GateRecord {
  peerId: string
  direction: 'inbound' | 'outbound'
  reason: 'not-allowed' | 'banned'
}

/**
 * Only validators and explicitly allowed full nodes may connect. The check runs right after
 * the Noise handshake has proven the remote's identity and before the muxer or any protocol
 * runs, so a stranger never gets a stream.
 */
export function allowListGater (allowed: (peerId: string) => boolean, banned: (peerId: string) => boolean, onRefuse: (r: GateRecord) => void): ConnectionGater {
  const deny = (peer: PeerId, direction: 'inbound' | 'outbound'): boolean => {
    const id = peer.toString()
    const reason = !allowed(id) ? 'not-allowed' : banned(id) ? 'banned' : undefined
    if (reason === undefined) return false
    onRefuse({ peerId: id, direction, reason })
    return true
  }
  return {
    denyDialPeer: (peer) => deny(peer, 'outbound'),
    denyInboundEncryptedConnection: (peer) => deny(peer, 'inbound'),
    denyOutboundEncryptedConnection: (peer) => deny(peer, 'outbound')
  }
}
