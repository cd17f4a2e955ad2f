import '../polyfill.js'
import { LedgerNode } from './node.js'
import { createApiServer, type ApiServer } from '../api/index.js'
import { errorMessage } from '../errors.js'

export { LedgerNode } from './node.js'
export { initHome, homePaths, loadHomeKey } from './home.js'
export { createTestnet, portsOf, TESTNET_PARAMS, type TestnetOptions, type TestnetResult } from './testnet.js'
export { runLocalnet, type Localnet, type LocalnetOptions } from './localnet.js'
export { loadNodeConfig, defaultNodeConfig, type NodeConfig } from './config.js'
export { readKeyFile, writeKeyFile, newKeyFile, describeKey, peerIdOf, type KeyFile } from './keyfile.js'
export type * from './service.js'

export interface StartedNode {
  node: LedgerNode
  api: ApiServer
  apiUrl: string
  stop: () => Promise<void>
}

/**
 * `bft-ledger start --home DIR`: opens the home (verifying the stored chain), starts p2p,
 * consensus and the HTTP API. stop() closes the API first (no new work), then the node
 * (consensus, p2p, LevelDB flush).
 */
export async function startNode (opts: { home: string, logLevel?: string }): Promise<StartedNode> {
  const node = await LedgerNode.open(opts)
  let api: ApiServer | undefined
  try {
    await node.start()
    const c = node.config.api
    api = createApiServer(node, {
      host: c.host,
      port: c.port,
      bodyLimit: c.bodyLimit,
      ...(c.adminJwtSecret !== undefined ? { adminJwtSecret: c.adminJwtSecret } : {}),
      ...(c.rateLimit !== undefined ? { rateLimit: c.rateLimit } : {}),
      logger: node.logger.child({ component: 'api' })
    })
    const apiUrl = await api.listen()
    node.logger.info({ apiUrl }, 'HTTP API listening')
    const started = api
    let stopping: Promise<void> | undefined
    return {
      node,
      api,
      apiUrl,
      stop: async () => {
        stopping ??= (async () => {
          await started.close().catch(err => node.logger.warn({ err: errorMessage(err) }, 'api close failed'))
          await node.stop()
        })()
        await stopping
      }
    }
  } catch (err) {
    await api?.close().catch(() => {})
    await node.stop().catch(() => {})
    throw err
  }
}
