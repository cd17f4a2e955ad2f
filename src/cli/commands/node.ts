import type { Command } from 'commander'
import { resolve } from 'node:path'
import { errorMessage } from '../../errors.js'
import { intArg } from '../options.js'
import { io, printJson } from '../output.js'
import { loadNode } from '../node-module.js'

/** Resolves when the process gets SIGINT or SIGTERM (Ctrl-C, docker stop, localnet's stop). */
function untilSignal (): Promise<string> {
  return new Promise(resolve => {
    const on = (sig: string): void => {
      process.off('SIGINT', on)
      process.off('SIGTERM', on)
      resolve(sig)
    }
    process.on('SIGINT', on)
    process.on('SIGTERM', on)
  })
}

export function nodeCommands (program: Command): void {
  program.command('init')
    .description('create a node home: key file and default config')
    .requiredOption('--home <dir>', 'node home directory')
    .option('--name <name>', 'moniker of the node')
    .addHelpText('after', `
Example:
  $ bft-ledger init --home ~/.bft-ledger --name my-node`)
    .action(async (opts: { home: string, name?: string }) => {
      const node = await loadNode()
      const r = await node.initHome({ home: resolve(opts.home), ...(opts.name === undefined ? {} : { name: opts.name }) })
      printJson({ home: resolve(opts.home), publicKey: r.publicKey, peerId: r.peerId, address: r.address })
    })

  program.command('testnet')
    .description('write N validator homes, a shared genesis and optionally a compose file')
    .requiredOption('--validators <n>', 'number of validators (1 or 3f+1, e.g. 4)', intArg('--validators', 1, 64))
    .requiredOption('--out <dir>', 'output directory')
    .option('--base-port <port>', 'node i uses p2p port P+2i and HTTP port P+2i+1', intArg('--base-port', 1024, 65535), 26656)
    .option('--compose', 'also write compose.yaml for a container testnet', false)
    .option('--host <host>', 'address the nodes listen on and dial', '127.0.0.1')
    .addHelpText('after', `
Examples:
  $ bft-ledger testnet --validators 4 --out ./testnet
  $ bft-ledger testnet --validators 7 --out ./net --base-port 30000 --compose`)
    .action(async (opts: { validators: number, out: string, basePort: number, compose: boolean, host: string }) => {
      const node = await loadNode()
      const r = await node.createTestnet({ validators: opts.validators, outDir: resolve(opts.out), basePort: opts.basePort, compose: opts.compose, host: opts.host })
      printJson(r)
    })

  program.command('start')
    .description('run a node from its home directory until Ctrl-C / SIGTERM')
    .requiredOption('--home <dir>', 'node home directory (from init or testnet)')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent (default: from config)')
    .addHelpText('after', `
Example:
  $ bft-ledger start --home ./testnet/validator-0`)
    .action(async (opts: { home: string, logLevel?: string }) => {
      const node = await loadNode()
      const running = await node.startNode({ home: resolve(opts.home), ...(opts.logLevel === undefined ? {} : { logLevel: opts.logLevel }) })
      io.err(`node running; HTTP API at ${running.apiUrl} (Ctrl-C to stop)\n`)
      await untilSignal()
      await running.stop()
    })

  program.command('localnet')
    .description('run a local N-validator network on 127.0.0.1 (what `npm start` runs)')
    .option('--data <dir>', 'data directory (created on first run, reused after)', './data')
    .option('--validators <n>', 'number of validators', intArg('--validators', 1, 64), 4)
    .option('--base-port <port>', 'validator i uses p2p port P+2i and HTTP port P+2i+1', intArg('--base-port', 1024, 65535), 26656)
    .addHelpText('after', `
Prints the API URLs and funded key files, then one live status line. Ctrl-C stops every node.

Examples:
  $ bft-ledger localnet
  $ bft-ledger localnet --data /tmp/net --validators 7 --base-port 30000`)
    .action(async (opts: { data: string, validators: number, basePort: number }) => {
      const node = await loadNode()
      const tty = process.stdout.isTTY === true
      const onStatus = (line: string): void => {
        if (tty) io.out(`\r\x1b[2K${line}`)
        else io.out(line + '\n')
      }
      io.out(`starting ${opts.validators} validators under ${resolve(opts.data)} ...\n`)
      const net = await node.runLocalnet({ dataDir: resolve(opts.data), validators: opts.validators, basePort: opts.basePort, onStatus })
      io.out(`API: ${net.apiUrls.join('  ')}\n`)
      for (const [name, path] of Object.entries(net.userKeys ?? {})) io.out(`key ${name}: ${path}\n`)
      io.out('Ctrl-C to stop\n')
      const sig = await untilSignal()
      if (tty) io.out('\n')
      io.out(`${sig}: stopping validators ...\n`)
      try {
        await net.stop()
      } catch (err) {
        io.err(`error while stopping: ${errorMessage(err)}\n`)
      }
      io.out('stopped\n')
    })
}
