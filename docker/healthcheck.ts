// Container healthcheck: the image has no curl, so node asks the API itself.
// Exit 0 when GET http://127.0.0.1:$API_PORT/health answers 200, 1 otherwise (within 2.5 s,
// under the compose healthcheck timeout of 3 s).
const port = Number(process.env.API_PORT ?? '26657')

try {
  const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2500) })
  process.exitCode = res.status === 200 ? 0 : 1
  if (res.status !== 200) process.stderr.write(`health: HTTP ${res.status} ${await res.text()}\n`)
} catch (err) {
  process.stderr.write(`health: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exitCode = 1
}
export {}
