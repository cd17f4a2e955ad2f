import { utf8 } from '../codec/index.js'

/**
 * State keys are `<namespace>/<key>` in UTF-8. Namespace names contain no '/', so keys of
 * different namespaces can never collide. Namespaces:
 *   nonce/<address>        next expected nonce of an account (CBOR uint)
 *   bank/<address>         balance (CBOR uint, absent = 0)
 *   kv/<owner>/<key>       KvRecord
 *   lock/<name>            LockRecord
 */
export function stateKey (contract: string, key: string | Uint8Array): Uint8Array {
  const prefix = utf8(contract + '/')
  const rest = typeof key === 'string' ? utf8(key) : key
  const out = new Uint8Array(prefix.length + rest.length)
  out.set(prefix, 0)
  out.set(rest, prefix.length)
  return out
}

export const nonceKey = (address: string): Uint8Array => stateKey('nonce', address)
export const balanceKey = (address: string): Uint8Array => stateKey('bank', address)
export const kvKey = (owner: string, key: string): Uint8Array => stateKey('kv', `${owner}/${key}`)
export const lockKey = (name: string): Uint8Array => stateKey('lock', name)
