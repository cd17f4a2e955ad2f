import { resolve } from 'node:path'
import { toHex } from '../../codec/hex.js'
import { ConfigError, errorMessage } from '../../errors.js'
import { newKeyFile, readKeyFile, writeKeyFile } from '../../node/keyfile.js'
import { printJson } from '../output.js'

export async function generateKey (out: string): Promise<void> {
  const key = newKeyFile()
  const path = resolve(out)
  try {
    await writeKeyFile(path, key)
  } catch (err) {
    const code = (err as { code?: string }).code
    if (code === 'EEXIST') throw new ConfigError(`${path} already exists; refusing to overwrite a key file`)
    throw new ConfigError(`cannot write key file ${path}: ${errorMessage(err)}`)
  }
  printJson({ file: path, publicKey: toHex(key.publicKey), address: key.address, peerId: key.peerId })
}

export async function showKey (file: string): Promise<void> {
  const key = await readKeyFile(file)
  printJson({ publicKey: toHex(key.publicKey), address: key.address, peerId: key.peerId })
}
