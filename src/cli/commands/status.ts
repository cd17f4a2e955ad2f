import type { Command } from 'commander'
import { DEFAULT_NODE, urlListArg } from '../options.js'
import { printJson } from '../output.js'

export function statusCommand (program: Command): void {
  program.command('status')
    .description('show a node\'s chain, height, view, validators and peers')
    .option('--node <urls>', 'node URL, or several comma-separated for failover', urlListArg, [DEFAULT_NODE])
    .addHelpText('after', `
Example:
  $ bft-ledger status --node http://127.0.0.1:26657`)
    .action(async (opts: { node: string[] }) => {
      const { BftClient } = await import('../../client/client.js')
      printJson(await new BftClient({ nodes: opts.node }).status())
    })
}
