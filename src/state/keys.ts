/**
 * State keys are `<namespace>/<key>` in UTF-8. Namespace names contain no '/', so keys of
 * different namespaces can never collide. Namespaces:
 *   acct/<address>         account: CBOR [balance, nonce] (absent = [0, 0]; see account.ts)
 *   kv/<owner>/<key>       KvRecord
 *   lock/<name>            LockRecord
 */
// Prefix per namespace: the same handful are used for every state access.
const prefixes = new Map<string, Buffer>()

/**
 * The key's bytes. In a slice of Node's shared Buffer pool, as a plain Uint8Array: a validator
 * builds several keys per tx, and a fresh array each (TextEncoder's output, or an array under
 * 64 bytes that hashing or LevelDB then moves off the heap) was a backing store of its own for
 * V8 to track and sweep.
 */
export function stateKey (contract: string, key: string | Uint8Array): Uint8Array {
  let prefix = prefixes.get(contract)
  if (prefix === undefined) {
    prefix = Buffer.from(contract + '/', 'utf8')
    if (prefixes.size < 64) prefixes.set(contract, prefix)
  }
  const restBytes = typeof key === 'string' ? Buffer.byteLength(key, 'utf8') : key.length
  const b = Buffer.allocUnsafe(prefix.length + restBytes)
  prefix.copy(b, 0)
  if (typeof key === 'string') b.write(key, prefix.length, 'utf8')
  else b.set(key, prefix.length)
  return new Uint8Array(b.buffer, b.byteOffset, b.length)
}

export const accountKey = (address: string): Uint8Array => stateKey('acct', address)
export const kvKey = (owner: string, key: string): Uint8Array => stateKey('kv', `${owner}/${key}`)
export const lockKey = (name: string): Uint8Array => stateKey('lock', name)
