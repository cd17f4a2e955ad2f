// Builds the batch signature verifier (src/crypto/native, docs/crypto.md "Batch verification")
// with node-gyp; `npm install` and `npm ci` run it as this package's install script.
//
// Optional by design: where it cannot build (no C compiler, no Node headers), validators verify
// each signature on its own (libsodium or OpenSSL, then noble) under the same validity rule: the
// same verdicts, about half the speed. So a failed build warns and does not fail the install.
// BFT_LEDGER_NATIVE=0 skips the build.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const out = join(root, 'build', 'Release', 'bft_ed25519.node')

if (process.env.BFT_LEDGER_NATIVE === '0') {
  process.stderr.write('bft-ledger: BFT_LEDGER_NATIVE=0: not building the batch signature verifier\n')
  process.exit(0)
}

// npm gives lifecycle scripts the path of its own node-gyp; run by hand, the node-gyp bundled
// with the npm next to this node, else node-gyp from PATH.
const bundled = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')
const gyp = [process.env.npm_config_node_gyp, bundled].find(p => p !== undefined && p !== '' && existsSync(p))
// Node's own headers when they sit next to it (distribution packages) and npm named none: else
// node-gyp would try to download them.
const headers = join(dirname(process.execPath), '..')
const nodedir = process.env.npm_config_nodedir === undefined && existsSync(join(headers, 'include', 'node', 'node_api.h')) ? [`--nodedir=${headers}`] : []
const [cmd, args] = gyp !== undefined ? [process.execPath, [gyp, 'rebuild', ...nodedir]] : ['node-gyp', ['rebuild', ...nodedir]]
// Bounded: a node-gyp that tries to download headers offline must not hang the install.
const r = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', timeout: 300_000 })
if (r.status === 0 && existsSync(out)) {
  process.stderr.write(`bft-ledger: built the batch signature verifier (${out})\n`)
} else {
  const why = r.error !== undefined ? r.error.message : (r.stderr ?? '').trim().split('\n').slice(-6).join('\n')
  process.stderr.write(`bft-ledger: WARNING: the batch signature verifier was not built, so validators will check signatures one at a time (same verdicts, ~half the speed). node-gyp said:\n${why}\n`)
}
