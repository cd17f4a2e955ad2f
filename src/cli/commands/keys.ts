import type { Command } from 'commander'

export function keysCommand (program: Command): void {
  const keys = program.command('keys').description('create and inspect ed25519 key files')
    .addHelpText('after', `
Examples:
  $ bft-ledger keys generate --out alice.json
  $ bft-ledger keys show alice.json`)

  keys.command('generate')
    .description('write a new key file (mode 0600); never overwrites an existing file')
    .requiredOption('--out <file>', 'path of the key file to create')
    .addHelpText('after', `
Prints the public key, account address and libp2p peer id (never the secret key).

Example:
  $ bft-ledger keys generate --out keys/alice.json`)
    .action(async (opts: { out: string }) => { await (await import('../actions/keys.js')).generateKey(opts.out) })

  keys.command('show')
    .description('print the public key, address and peer id of a key file')
    .argument('<file>', 'key file')
    .addHelpText('after', `
Example:
  $ bft-ledger keys show data/keys/alice.json`)
    .action(async (file: string) => { await (await import('../actions/keys.js')).showKey(file) })
}
