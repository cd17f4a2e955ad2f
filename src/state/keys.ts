import { utf8 } from '../codec/index.js'

/**
 * State keys are `<namespace>/<key>` in UTF-8. Namespace names contain no '/', so keys of
 * different namespaces can never collide. Namespaces:
 *   acct/<address>         account: CBOR [balance, nonce] (absent = [0, 0]; see account.ts)
 *   kv/<owner>/<key>       KvRecord
 *   lock/<name>            LockRecord
 */
// Prefix bytes per namespace: the same handful are built for every state access.
const prefixes = new Map<string, Uint8Array>()

export function stateKey (contract: string, key: string | Uint8Array): Uint8Array {
  let prefix = prefixes.get(contract)
  if (prefix === undefined) {
    prefix = utf8(contract + '/')
    if (prefixes.size < 64) prefixes.set(contract, prefix)
  }
  const rest = typeof key === 'string' ? utf8(key) : key
  const out = new Uint8Array(prefix.length + rest.length)
  out.set(prefix, 0)
  out.set(rest, prefix.length)
  return out
}

export const accountKey = (address: string): Uint8Array => stateKey('acct', address)
export const kvKey = (owner: string, key: string): Uint8Array => stateKey('kv', `${owner}/${key}`)
export const lockKey = (name: string): Uint8Array => stateKey('lock', name)
