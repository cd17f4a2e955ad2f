import { parentPort, workerData } from 'node:worker_threads'
import { runSeed, type RunOptions, type SeedResult } from './run.js'

/** Worker thread for the CLI: runs the seeds it is handed, one batch at a time. */
export type WorkerRequest = { seeds: number[] } | { stop: true }
export type WorkerReply = { results: SeedResult[] }

const opts = workerData as RunOptions
parentPort?.on('message', (msg: WorkerRequest) => {
  if ('stop' in msg) { process.exit(0) }
  void (async () => {
    // One seed at a time: runs must not interleave (each awaits its own async app).
    const results: SeedResult[] = []
    for (const seed of msg.seeds) results.push(await runSeed(seed, opts))
    parentPort!.postMessage({ results } satisfies WorkerReply)
  })()
})
