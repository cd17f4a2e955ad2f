import { Command, InvalidArgumentError } from 'commander'
import { UserError } from '../errors.js'
import { addressArg, amountArg, DEFAULT_NODE, intArg, urlListArg } from '../options.js'
import type { TxOptions } from '../actions/tx.js'

// The signing and HTTP code loads only when a command runs, so --help and flag errors stay fast.
async function sendTx (opts: TxOptions, contract: string, method: string, args: unknown): Promise<void> {
  const { sendTx } = await import('../actions/tx.js')
  await sendTx(opts, contract, method, args)
}

function withTxOptions (cmd: Command): Command {
  return cmd
    .requiredOption('--key <file>', 'key file of the sender (signs the transaction)')
    .option('--node <urls>', 'node URL, or several comma-separated for failover', urlListArg, [DEFAULT_NODE])
    .option('--wait', 'wait until the transaction is committed and print its height', false)
    .option('--nonce <n>', 'nonce to use (default: the account\'s next nonce, read from the node)', intArg('--nonce', 0))
    .option('--timeout <ms>', 'how long --wait may take', intArg('--timeout', 1, 600_000), 30_000)
}

function jsonArg (v: string): unknown {
  try {
    return JSON.parse(v)
  } catch (err) {
    throw new InvalidArgumentError(`not valid JSON: ${err instanceof Error ? err.message : String(err)}`)
  }
}

export function txCommand (program: Command): void {
  const tx = program.command('tx').description('sign and submit transactions')
    .addHelpText('after', `
Every tx command takes --key FILE and --node URL[,URL...] (default ${DEFAULT_NODE}, or $BFT_NODE),
--wait to wait for the commit, and --nonce N to override the account's next nonce.
Output: JSON { txId, status, height, nonce }. Exit code 1: bad input or rejected/failed tx;
2: no node reachable.

Examples:
  $ bft-ledger tx transfer --key data/keys/alice.json --to 3f2a...c9 --amount 100 --wait
  $ bft-ledger tx kv-set --key data/keys/alice.json --kv-key color --value blue`)

  withTxOptions(tx.command('transfer').description('bank.transfer: move an amount to another account'))
    .requiredOption('--to <address>', 'recipient account address (40 hex chars)', addressArg)
    .requiredOption('--amount <n>', 'amount, a positive whole number', amountArg)
    .addHelpText('after', `
Example:
  $ bft-ledger tx transfer --key alice.json --to 0123456789abcdef0123456789abcdef01234567 --amount 250 --wait`)
    .action(async (opts: TxOptions & { to: string, amount: number | bigint }) => {
      await sendTx(opts, 'bank', 'transfer', { to: opts.to, amount: opts.amount })
    })

  withTxOptions(tx.command('kv-set').description('kv.set: store a value under your own key (optionally fenced by a lock token)'))
    .requiredOption('--kv-key <k>', 'key in your namespace (--key is the signing key file)')
    .requiredOption('--value <v>', 'value (UTF-8 string)')
    .option('--fence-lock <name>', 'lock whose fencing token must be current')
    .option('--fence-token <n>', 'fencing token you hold for --fence-lock', intArg('--fence-token', 0))
    .addHelpText('after', `
Examples:
  $ bft-ledger tx kv-set --key alice.json --kv-key color --value blue --wait
  $ bft-ledger tx kv-set --key alice.json --kv-key leader --value me --fence-lock election --fence-token 7`)
    .action(async (opts: TxOptions & { kvKey: string, value: string, fenceLock?: string, fenceToken?: number }) => {
      if ((opts.fenceLock === undefined) !== (opts.fenceToken === undefined)) throw new UserError('--fence-lock and --fence-token go together')
      const args: Record<string, unknown> = { key: opts.kvKey, value: opts.value }
      if (opts.fenceLock !== undefined) args.fence = { lock: opts.fenceLock, token: opts.fenceToken }
      await sendTx(opts, 'kv', 'set', args)
    })

  withTxOptions(tx.command('kv-delete').description('kv.delete: delete one of your keys'))
    .requiredOption('--kv-key <k>', 'key in your namespace')
    .addHelpText('after', `
Example:
  $ bft-ledger tx kv-delete --key alice.json --kv-key color`)
    .action(async (opts: TxOptions & { kvKey: string }) => {
      await sendTx(opts, 'kv', 'delete', { key: opts.kvKey })
    })

  withTxOptions(tx.command('lock-acquire').description('lock.acquire: take a lease lock (or queue for it); events carry the fencing token'))
    .requiredOption('--name <name>', 'lock name')
    .option('--lease <blocks>', 'lease length in blocks', intArg('--lease', 1, 1_000_000), 100)
    .addHelpText('after', `
Example:
  $ bft-ledger tx lock-acquire --key alice.json --name election --lease 50 --wait`)
    .action(async (opts: TxOptions & { name: string, lease: number }) => {
      await sendTx(opts, 'lock', 'acquire', { name: opts.name, leaseBlocks: opts.lease })
    })

  withTxOptions(tx.command('lock-renew').description('lock.renew: extend a lease you hold'))
    .requiredOption('--name <name>', 'lock name')
    .option('--lease <blocks>', 'new lease length in blocks', intArg('--lease', 1, 1_000_000), 100)
    .addHelpText('after', `
Example:
  $ bft-ledger tx lock-renew --key alice.json --name election --lease 50`)
    .action(async (opts: TxOptions & { name: string, lease: number }) => {
      await sendTx(opts, 'lock', 'renew', { name: opts.name, leaseBlocks: opts.lease })
    })

  withTxOptions(tx.command('lock-release').description('lock.release: give up a lock you hold'))
    .requiredOption('--name <name>', 'lock name')
    .addHelpText('after', `
Example:
  $ bft-ledger tx lock-release --key alice.json --name election`)
    .action(async (opts: TxOptions & { name: string }) => {
      await sendTx(opts, 'lock', 'release', { name: opts.name })
    })

  withTxOptions(tx.command('atomic').description('atomic.exec: several calls that all apply or none'))
    .requiredOption('--calls <json>', 'JSON array of { "contract", "method", "args" }', jsonArg)
    .addHelpText('after', `
Example:
  $ bft-ledger tx atomic --key alice.json --wait --calls '[
      {"contract":"bank","method":"transfer","args":{"to":"0123456789abcdef0123456789abcdef01234567","amount":5}},
      {"contract":"kv","method":"set","args":{"key":"paid","value":"yes"}}]'`)
    .action(async (opts: TxOptions & { calls: unknown }) => {
      if (!Array.isArray(opts.calls)) throw new UserError('--calls must be a JSON array of { "contract", "method", "args" }')
      await sendTx(opts, 'atomic', 'exec', { calls: opts.calls })
    })
}
