import type { Command } from 'commander'
import { access } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { UserError } from '../errors.js'

// dist/src/cli/commands/bench.js -> dist/bench/run.js
const BENCH_URL = new URL('../../../bench/run.js', import.meta.url)

export function benchCommand (program: Command): void {
  program.command('bench')
    .description('run the throughput/latency benchmark (bench/run.ts); extra arguments go to it')
    .argument('[args...]', 'arguments for the benchmark')
    .allowUnknownOption(true)
    .addHelpText('after', `
Examples:
  $ bft-ledger bench
  $ npm run bench`)
    .action(async (args: string[]) => {
      try {
        await access(fileURLToPath(BENCH_URL))
      } catch {
        throw new UserError('the benchmark is not built (no dist/bench/run.js); write bench/run.ts and run `npm run build`')
      }
      const mod = await import(BENCH_URL.href) as { main?: (argv: string[]) => Promise<number | undefined> | number | undefined }
      if (typeof mod.main === 'function') {
        const code = await mod.main(args)
        if (typeof code === 'number') process.exitCode = code
      }
    })
}
