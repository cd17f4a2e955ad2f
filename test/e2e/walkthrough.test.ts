import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { basePortFor, CLI, sleep } from './harness.js'

const README = fileURLToPath(new URL('../../../README.md', import.meta.url))

/** The last lines of every validator's log under `data` (the temp dir is removed after the test). */
function logTails (data: string): string {
  let text = ''
  for (let i = 0; i < 4; i++) {
    try {
      text += `--- validator-${i}/node.log\n${readFileSync(join(data, `validator-${i}`, 'node.log'), 'utf8').split('\n').slice(-15).join('\n')}\n`
    } catch { /* not created */ }
  }
  return text
}

/** The shell block between the walkthrough markers of README.md. */
function walkthrough (): string {
  const text = readFileSync(README, 'utf8')
  const m = /<!-- walkthrough:start -->\s*```sh\n([\s\S]*?)```\s*<!-- walkthrough:end -->/.exec(text)
  assert.ok(m !== null, 'README.md has a walkthrough block')
  return m[1]!
}

test('the README walkthrough runs end to end through the real CLI against the npm start network', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bft-walk-'))
  const base = basePortFor('e2e-walkthrough')
  // `npm start` is `bft-ledger localnet` with ./data and port 26656; only the port differs here.
  const net = spawn(process.execPath, [CLI, 'localnet', '--data', join(dir, 'data'), '--base-port', String(base)], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  net.stdout.on('data', (d: Buffer) => { out += d.toString() })
  net.stderr.on('data', (d: Buffer) => { out += d.toString() })
  try {
    const deadline = Date.now() + 60_000
    while (!out.includes('Ctrl-C') && Date.now() < deadline) {
      if (net.exitCode !== null) assert.fail(`localnet exited early:\n${out}\n${logTails(join(dir, 'data'))}`)
      await sleep(200)
    }
    assert.ok(out.includes(`http://127.0.0.1:${base + 1}`), `localnet prints the API URLs:\n${out}`)
    const script = `set -euo pipefail\nnpx() { shift; node ${JSON.stringify(CLI)} "$@"; }\n${walkthrough()}`
    const r = spawnSync('bash', ['-c', script], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, BFT_NODE: `http://127.0.0.1:${base + 1}` },
      timeout: 120_000
    })
    assert.equal(r.status, 0, `walkthrough failed (exit ${String(r.status)}):\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`)
    const verified = r.stdout.match(/"verified": true/g) ?? []
    assert.equal(verified.length, 2, 'both --prove queries verified locally')
    assert.match(r.stdout, /"balance": "1000000100"/, 'bob received the transfer')
    assert.match(r.stdout, /"token": 1/, 'the lock grant carries fencing token 1')
    assert.match(r.stdout, /"value": "done"/, 'the fenced write is in state')
    assert.match(r.stderr, /ERR_STALE_FENCE/, 'the stale-token write was refused')
  } finally {
    const exited = new Promise(res => net.once('exit', res))
    net.kill('SIGINT')
    await Promise.race([exited, sleep(20_000)])
    if (net.exitCode === null && net.signalCode === null) net.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
})
