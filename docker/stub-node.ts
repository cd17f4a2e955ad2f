// A stand-in for the node, used by `chaos --stub` to exercise the container pipeline (image,
// compose, kill/pause/disconnect, health) without the ledger. It serves /health and a
// /status with a fixed height 0, so every agreement check passes trivially.
import { createServer } from 'node:http'

const port = Number(process.env.API_PORT ?? '26657')
const started = Date.now()
const status = (): Record<string, unknown> => ({
  chainId: 'stub', nodeId: process.env.HOSTNAME ?? 'stub', validatorIndex: null, height: 0,
  headHash: '00', stateRoot: '00', view: 0, primary: 0, validators: [], peers: [],
  mempoolSize: 0, uptimeSeconds: Math.floor((Date.now() - started) / 1000)
})

const server = createServer((req, res) => {
  const body = req.url === '/health' ? { ok: true, height: 0 } : req.url === '/status' ? status() : null
  res.writeHead(body === null ? 404 : 200, { 'content-type': 'application/json' })
  res.end(JSON.stringify(body ?? { error: { code: 'ERR_NO_ROUTE', message: `no route ${req.url ?? ''}` } }))
})
server.listen(port, '0.0.0.0')
process.on('SIGTERM', () => { server.close(() => process.exit(0)) })
