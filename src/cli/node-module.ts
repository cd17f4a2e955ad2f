import { errorMessage } from '../errors.js'
import { UserError } from './errors.js'

/** The node wiring the CLI drives (src/node/index.ts). Loaded lazily: `keys` and `query` never need libp2p or LevelDB. */
export interface NodeModule {
  startNode: (opts: { home: string, logLevel?: string }) => Promise<{ stop: () => Promise<void>, apiUrl: string }>
  initHome: (opts: { home: string, name?: string }) => Promise<{ publicKey: string, peerId: string, address: string }>
  createTestnet: (opts: { validators: number, outDir: string, basePort: number, compose: boolean, host?: string }) => Promise<{ homes: string[], genesisPath: string, composePath?: string, apiUrls?: string[], userKeys?: Record<string, string> }>
  runLocalnet: (opts: { dataDir: string, validators: number, basePort: number, onStatus?: (line: string) => void }) => Promise<{ apiUrls: string[], stop: () => Promise<void>, userKeys?: Record<string, string>, homes?: string[] }>
}

// A variable specifier keeps tsc from resolving the module at build time, so the CLI compiles
// while node/ is being written.
const NODE_INDEX = '../node/index.js'

export async function loadNode (): Promise<NodeModule> {
  try {
    return await import(NODE_INDEX) as NodeModule
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' && errorMessage(err).includes('node/index.js')) {
      throw new UserError('this build has no node runtime (dist/src/node/index.js is missing); run `npm run build`')
    }
    throw err
  }
}
