import type { Command } from 'commander'
import { DEFAULT_NODE, urlListArg } from '../options.js'
import type { QueryOptions } from '../actions/query.js'

// Verification code (ledger, state proofs) loads only when a query runs.
const actions = async (): Promise<typeof import('../actions/query.js')> => await import('../actions/query.js')

function withQueryOptions (cmd: Command): Command {
  return cmd
    .option('--node <urls>', 'node URL, or several comma-separated for failover', urlListArg, [DEFAULT_NODE])
    .option('--prove', 'verify the answer locally against the genesis validator set (needs --genesis)', false)
    .option('--genesis <file>', 'genesis file whose validators are trusted for --prove')
}

export function queryCommand (program: Command): void {
  const query = program.command('query').description('read blocks, transactions, state and accounts (optionally verified)')
    .addHelpText('after', `
With --prove --genesis FILE the answer is checked locally: the block's commit certificate must
carry 2f+1 signatures of genesis validators, the block must hash to the certified hash, and
state values must come with a Merkle proof against the certified stateRoot. The output then
has "verified": true; if a check fails the command exits with code 2 and says which.

Examples:
  $ bft-ledger query block latest
  $ bft-ledger query state kv <owner-address>/color --prove --genesis data/genesis.json`)

  withQueryOptions(query.command('block').description('a block by height, or the latest'))
    .argument('<height>', 'block height or "latest"')
    .addHelpText('after', `
Examples:
  $ bft-ledger query block 12
  $ bft-ledger query block latest --prove --genesis data/genesis.json`)
    .action(async (h: string, opts: QueryOptions) => { await (await actions()).queryBlock(h, opts) })

  withQueryOptions(query.command('tx').description('a transaction receipt by id'))
    .argument('<id>', 'transaction id (64 hex chars)')
    .addHelpText('after', `
With --prove, checks that the tx is in the certified block at the receipt's height.

Example:
  $ bft-ledger query tx 5d41402abc4b2a76b9719d911017c5925d41402abc4b2a76b9719d911017c592`)
    .action(async (id: string, opts: QueryOptions) => { await (await actions()).queryTx(id, opts) })

  withQueryOptions(query.command('state').description('a contract state value'))
    .argument('<contract>', 'contract namespace: bank, nonce, kv or lock')
    .argument('<key>', 'key inside the contract (kv keys are <owner-address>/<key>)')
    .addHelpText('after', `
Examples:
  $ bft-ledger query state lock election
  $ bft-ledger query state kv 0123456789abcdef0123456789abcdef01234567/color --prove --genesis data/genesis.json`)
    .action(async (contract: string, key: string, opts: QueryOptions) => { await (await actions()).queryState(contract, key, opts) })

  withQueryOptions(query.command('account').description('balance and next nonce of an account'))
    .argument('<address>', 'account address (40 hex chars)')
    .addHelpText('after', `
Example:
  $ bft-ledger query account 0123456789abcdef0123456789abcdef01234567 --prove --genesis data/genesis.json`)
    .action(async (address: string, opts: QueryOptions) => { await (await actions()).queryAccount(address, opts) })
}

