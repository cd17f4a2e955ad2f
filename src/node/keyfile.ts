import { readFile, writeFile, mkdir } from 'node:fs/promises'
import { dirname } from 'node:path'
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { ConfigError, errorMessage } from '../errors.js'
import { keyPairFromSeed, generateKeyPair, type KeyPair } from '../crypto/index.js'
import { toHex, fromHex } from '../codec/hex.js'
import { address } from '../crypto/address.js'

/**
 * A key file holds one ed25519 key: a validator's consensus key (which is also its libp2p
 * identity, so genesis can pin its peer id) or a client's signing key. JSON, mode 0600:
 *   { "type": "bft-ledger/ed25519", "secretKey": hex32, "publicKey": hex32, "peerId": "12D3…", "address": hex20 }
 */
export interface KeyFile extends KeyPair {
  peerId: string
  address: string
}

export const KEY_FILE_TYPE = 'bft-ledger/ed25519'

export function peerIdOf (publicKey: Uint8Array): string {
  return peerIdFromPublicKey(publicKeyFromRaw(publicKey)).toString()
}

export function describeKey (kp: KeyPair): KeyFile {
  return { ...kp, peerId: peerIdOf(kp.publicKey), address: address(kp.publicKey) }
}

export function newKeyFile (): KeyFile {
  return describeKey(generateKeyPair())
}

export async function writeKeyFile (path: string, key: KeyFile): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  const body = {
    type: KEY_FILE_TYPE,
    secretKey: toHex(key.secretKey),
    publicKey: toHex(key.publicKey),
    peerId: key.peerId,
    address: key.address
  }
  await writeFile(path, JSON.stringify(body, null, 2) + '\n', { mode: 0o600, flag: 'wx' })
}

/** Reads and checks a key file; every failure names the file and what is wrong with it. */
export async function readKeyFile (path: string): Promise<KeyFile> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new ConfigError(`cannot read key file ${path}: ${errorMessage(err)}`, { path })
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new ConfigError(`key file ${path} is not valid JSON: ${errorMessage(err)}`, { path })
  }
  if (typeof json !== 'object' || json === null) throw new ConfigError(`key file ${path} must hold a JSON object`, { path })
  const o = json as Record<string, unknown>
  if (o.type !== KEY_FILE_TYPE) throw new ConfigError(`key file ${path}: "type" must be "${KEY_FILE_TYPE}"`, { path })
  let kp: KeyPair
  try {
    kp = keyPairFromSeed(fromHex(String(o.secretKey), 32, 'secretKey'))
  } catch (err) {
    throw new ConfigError(`key file ${path}: bad "secretKey": ${errorMessage(err)}`, { path })
  }
  if (o.publicKey !== undefined && o.publicKey !== toHex(kp.publicKey)) {
    throw new ConfigError(`key file ${path}: "publicKey" does not match "secretKey"`, { path })
  }
  return describeKey(kp)
}
