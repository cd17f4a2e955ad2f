import { join } from 'node:path'
import { mkdir, writeFile, access } from 'node:fs/promises'
import { ConfigError } from '../errors.js'
import { defaultNodeConfig, type NodeConfig } from './config.js'
import { newKeyFile, writeKeyFile, readKeyFile, type KeyFile } from './keyfile.js'
import { toHex } from '../codec/hex.js'

/**
 * A node's home directory:
 *   config.json     per-node settings (NodeConfig)
 *   node_key.json   consensus key, also the libp2p identity
 *   genesis.json    the chain's genesis (identical on every node)
 *   data/           LevelDB (blocks, state, certificates, WAL)
 */
export function homePaths (home: string): { config: string, key: string, genesis: string, data: string } {
  return {
    config: join(home, 'config.json'),
    key: join(home, 'node_key.json'),
    genesis: join(home, 'genesis.json'),
    data: join(home, 'data')
  }
}

export async function exists (path: string): Promise<boolean> {
  try { await access(path); return true } catch { return false }
}

export async function writeJson (path: string, value: unknown): Promise<void> {
  await writeFile(path, JSON.stringify(value, null, 2) + '\n')
}

/** Creates a home with a fresh key and a default config; refuses to overwrite an existing key. */
export async function initHome (opts: { home: string, name?: string, p2pPort?: number, apiPort?: number, host?: string, config?: NodeConfig }): Promise<{ publicKey: string, peerId: string, address: string, key: KeyFile }> {
  const p = homePaths(opts.home)
  if (await exists(p.key)) throw new ConfigError(`${p.key} already exists; refusing to overwrite a node key`, { path: p.key })
  await mkdir(p.data, { recursive: true })
  const key = newKeyFile()
  await writeKeyFile(p.key, key)
  const cfg = opts.config ?? defaultNodeConfig(opts.name ?? 'node', opts.p2pPort ?? 26656, opts.apiPort ?? 26657, opts.host)
  cfg.api.adminJwtSecret ??= toHex(crypto.getRandomValues(new Uint8Array(32)))
  await writeJson(p.config, cfg)
  return { publicKey: toHex(key.publicKey), peerId: key.peerId, address: key.address, key }
}

export async function loadHomeKey (home: string): Promise<KeyFile> {
  return await readKeyFile(homePaths(home).key)
}
