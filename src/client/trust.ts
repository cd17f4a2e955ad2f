import { readFile } from 'node:fs/promises'
import { fromHex } from '../codec/hex.js'
import { ConfigError, errorMessage } from '../errors.js'
import type { TrustedValidators } from './lightclient.js'

/**
 * Reads the trust root (chain id + validator public keys) from a genesis file. Only these
 * fields are read, so a light client keeps working if other genesis fields change.
 */
export async function loadTrustedValidators (path: string): Promise<TrustedValidators> {
  let json: unknown
  try {
    json = JSON.parse(await readFile(path, 'utf8'))
  } catch (err) {
    throw new ConfigError(`cannot read genesis ${path}: ${errorMessage(err)}`, { path })
  }
  return trustFromGenesis(json, path)
}

export function trustFromGenesis (json: unknown, where = 'genesis'): TrustedValidators {
  const g = json as { chainId?: unknown, validators?: unknown }
  if (typeof g !== 'object' || g === null || typeof g.chainId !== 'string' || g.chainId === '') {
    throw new ConfigError(`${where}: "chainId" must be a non-empty string`)
  }
  if (!Array.isArray(g.validators) || g.validators.length === 0) throw new ConfigError(`${where}: "validators" must be a non-empty array`)
  const validators = g.validators.map((v: unknown, i: number) => {
    const pk = (v as { publicKey?: unknown } | null)?.publicKey
    try {
      return { publicKey: fromHex(String(pk), 32, `validators[${i}].publicKey`) }
    } catch (err) {
      throw new ConfigError(`${where}: ${errorMessage(err)}`)
    }
  })
  return { chainId: g.chainId, validators }
}
