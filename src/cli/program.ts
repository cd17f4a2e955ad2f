import { Command, CommanderError } from 'commander'
import { benchCommand } from './commands/bench.js'
import { keysCommand } from './commands/keys.js'
import { nodeCommands } from './commands/node.js'
import { queryCommand } from './commands/query.js'
import { statusCommand } from './commands/status.js'
import { txCommand } from './commands/tx.js'
import { io } from './output.js'
import { EXIT_OK, EXIT_USER, exitCodeFor, formatError } from './errors.js'

export function buildProgram (): Command {
  const program = new Command('bft-ledger')
    .description('Byzantine-fault-tolerant ledger node: PBFT over libp2p with a hash-chained LevelDB log')
    .version('0.1.0')
    .showSuggestionAfterError(true)
    .addHelpText('after', `
Exit codes: 0 ok, 1 user error (bad flags, bad input, rejected tx), 2 node or network error.

Examples:
  $ bft-ledger localnet                          # 4 validators on 127.0.0.1, data in ./data
  $ bft-ledger keys generate --out me.json
  $ bft-ledger tx transfer --key data/keys/alice.json --to <address> --amount 10 --wait
  $ bft-ledger query account <address> --prove --genesis data/genesis.json
  $ bft-ledger status`)
  keysCommand(program)
  nodeCommands(program)
  txCommand(program)
  queryCommand(program)
  statusCommand(program)
  benchCommand(program)
  // Every command, at any depth, reports usage errors through run() instead of exiting itself.
  const configure = (cmd: Command): void => {
    cmd.exitOverride()
    cmd.configureOutput({
      writeOut: (str) => io.out(str),
      writeErr: (str) => io.err(str),
      outputError: (str, write) => write(str.trimEnd().split('\n')[0] + '\n')
    })
    for (const sub of cmd.commands) configure(sub)
  }
  configure(program)
  return program
}

/** Runs the CLI; resolves to the process exit code. Never throws. */
export async function run (argv: string[]): Promise<number> {
  const program = buildProgram()
  try {
    await program.parseAsync(argv)
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT_OK
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander already printed its one-line message (or the help).
      return err.exitCode === 0 ? EXIT_OK : EXIT_USER
    }
    io.err(formatError(err) + '\n')
    if (process.env.BFT_DEBUG === '1' && err instanceof Error && err.stack !== undefined) io.err(err.stack + '\n')
    return exitCodeFor(err)
  }
}
