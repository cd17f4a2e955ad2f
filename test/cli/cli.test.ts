import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Command } from 'commander'
import { createApiServer } from '../../src/api/index.js'
import { buildProgram, run } from '../../src/cli/program.js'
import { io } from '../../src/cli/output.js'
import { fromHex, toHex } from '../../src/codec/index.js'
import { silentLogger } from '../../src/log.js'
import { decodeTx, verifyTxSignature, address } from '../../src/state/tx.js'
import { FakeService } from '../api/fake-service.js'
import { makeFixture } from '../client/fixtures.js'

// dist/test/cli/cli.test.js -> dist/src/cli/main.js
const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url))
const ADDR = 'ab'.repeat(20)

interface Run { code: number, stdout: string, stderr: string }

async function cli (args: string[], env: Record<string, string> = {}): Promise<Run> {
  return await new Promise(resolve => {
    execFile(process.execPath, [MAIN, ...args], { env: { ...process.env, BFT_NODE: '', ...env }, timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1
      resolve({ code, stdout, stderr })
    })
  })
}

/**
 * Runs the CLI in this process (same run() the binary calls) with stdout/stderr captured:
 * spawning costs ~0.2 s of CPU each, so only a few cases below spawn the real binary.
 */
async function inproc (args: string[]): Promise<Run> {
  let stdout = ''
  let stderr = ''
  const saved = { ...io }
  io.out = (s: string) => { stdout += s }
  io.err = (s: string) => { stderr += s }
  try {
    const code = await run(['node', 'bft-ledger', ...args])
    return { code, stdout, stderr }
  } finally {
    Object.assign(io, saved)
  }
}

/** A user error: exit 1 and exactly one line on stderr, no stack trace. */
function assertOneLine (r: Run, code: number, pattern: RegExp): void {
  assert.equal(r.code, code, `exit code; stderr: ${r.stderr}`)
  const lines = r.stderr.trimEnd().split('\n')
  assert.equal(lines.length, 1, `one line, got: ${r.stderr}`)
  assert.match(lines[0]!, /^error: /)
  assert.match(lines[0]!, pattern)
  assert.doesNotMatch(r.stderr, /\n\s+at /)
}

async function deadUrl (): Promise<string> {
  const s = createServer()
  await new Promise<void>(resolve => s.listen(0, '127.0.0.1', resolve))
  const port = (s.address() as AddressInfo).port
  await new Promise<void>(resolve => s.close(() => resolve()))
  return `http://127.0.0.1:${port}`
}

test('--help on every command shows examples; exits 0', async () => {
  // In-process walk over the real command tree (so a new command cannot miss its examples),
  // plus two spawned runs for the exit code.
  const walk = (c: Command, path: string[]): Array<[Command, string[]]> => [[c, path], ...c.commands.flatMap(s => walk(s, [...path, s.name()]))]
  const all = walk(buildProgram(), [])
  assert.ok(all.length >= 20)
  for (const [cmd, path] of all) {
    let text = ''
    cmd.configureOutput({ writeOut: (str: string) => { text += str } })
    cmd.outputHelp()
    assert.match(text, /Usage: bft-ledger/, path.join(' '))
    assert.match(text, /Example/, `${path.join(' ')} --help has examples`)
  }
  const runs = await Promise.all([cli(['--help']), cli(['tx', 'transfer', '--help'])])
  for (const r of runs) {
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /Examples?:/)
  }
})

test('bad flags and arguments: exit 1 with one clear line', async () => {
  const dead = await deadUrl()
  const cases: Array<[string[], RegExp]> = [
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['status', '--nodes', dead], /unknown option '--nodes'/],
    [['tx', 'transfer', '--key', 'k.json', '--to', ADDR, '--amount', 'ten'], /--amount.*positive whole number/],
    [['tx', 'transfer', '--key', 'k.json', '--to', ADDR, '--amount', '-3'], /--amount.*positive whole number/],
    [['tx', 'transfer', '--key', 'k.json', '--to', ADDR, '--amount', '0'], /amount must be in 1\.\./],
    [['tx', 'transfer', '--key', 'k.json', '--to', ADDR, '--amount', '18446744073709551616'], /amount must be in 1\.\./],
    [['tx', 'transfer', '--key', 'k.json', '--to', 'bob', '--amount', '5'], /not an address/],
    [['tx', 'transfer', '--key', 'k.json', '--amount', '5'], /required option '--to/],
    [['tx', 'lock-acquire', '--key', 'k.json', '--name', 'l', '--lease', '1.5'], /--lease must be an integer/],
    [['tx', 'kv-set', '--key', 'k.json', '--kv-key', 'a', '--value', 'b', '--fence-lock', 'l'], /--fence-lock and --fence-token go together/],
    [['tx', 'atomic', '--key', 'k.json', '--calls', '[{'], /not valid JSON/],
    [['tx', 'atomic', '--key', 'k.json', '--calls', '[{"contract":"bank","method":"steal","args":{}}]'], /unknown method "bank\.steal"/],
    [['testnet', '--validators', 'four', '--out', 'x'], /--validators must be an integer/],
    [['testnet', '--validators', '0', '--out', 'x'], /--validators must be in 1\.\.64/],
    [['query', 'block', 'tip', '--node', dead], /HEIGHT must be/],
    [['query', 'tx', 'xyz', '--node', dead], /ID must be 64/],
    [['query', 'account', 'nope', '--node', dead], /not an address/],
    [['query', 'block', '1', '--prove', '--node', dead], /--prove needs --genesis/],
    [['status', '--node', 'ftp://x'], /must be an http/],
    [['tx', 'transfer', '--key', '/nonexistent/k.json', '--to', ADDR, '--amount', '5', '--node', dead], /cannot read key file \/nonexistent\/k\.json/]
  ]
  for (const [args, pattern] of cases) assertOneLine(await inproc(args), 1, pattern)
  // The real binary, for the process exit code.
  const spawned = await Promise.all([cli(cases[0]![0]), cli(cases[2]![0])])
  assertOneLine(spawned[0]!, 1, cases[0]![1])
  assertOneLine(spawned[1]!, 1, cases[2]![1])
})

test('unreachable node: exit 2 with one line naming the node', async () => {
  const dead = await deadUrl()
  const dir = await mkdtemp(join(tmpdir(), 'bft-cli-'))
  try {
    const key = join(dir, 'k.json')
    assert.equal((await inproc(['keys', 'generate', '--out', key])).code, 0)
    const runs = [
      await cli(['status', '--node', dead]),
      await inproc(['query', 'block', 'latest', '--node', `${dead},${dead}`]),
      await inproc(['tx', 'transfer', '--key', key, '--to', ADDR, '--amount', '5', '--node', dead])
    ]
    for (const r of runs) assertOneLine(r, 2, new RegExp(`${dead.replace(/[.:/]/g, '\\$&')}: connection refused`))
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('keys generate and show', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bft-cli-'))
  try {
    const file = join(dir, 'sub', 'alice.json')
    const g = await cli(['keys', 'generate', '--out', file])
    assert.equal(g.code, 0, g.stderr)
    const made = JSON.parse(g.stdout) as { publicKey: string, address: string, peerId: string, file: string }
    assert.match(made.publicKey, /^[0-9a-f]{64}$/)
    assert.equal(made.address, address(fromHex(made.publicKey)))
    assert.match(made.peerId, /^12D3KooW/)
    assert.doesNotMatch(g.stdout, /secret/i)
    assert.equal((await stat(file)).mode & 0o777, 0o600)
    const s = await cli(['keys', 'show', file])
    assert.equal(s.code, 0, s.stderr)
    assert.deepEqual(JSON.parse(s.stdout), { publicKey: made.publicKey, address: made.address, peerId: made.peerId })
    assertOneLine(await cli(['keys', 'generate', '--out', file]), 1, /already exists/)
    assert.equal(JSON.parse(await readFile(file, 'utf8')).publicKey, made.publicKey, 'not overwritten')
    await writeFile(join(dir, 'bad.json'), '{"type":"bft-ledger/ed25519","secretKey":"zz"}')
    assertOneLine(await cli(['keys', 'show', join(dir, 'bad.json')]), 1, /bad "secretKey"/)
    assertOneLine(await cli(['keys', 'show', join(dir, 'none.json')]), 1, /cannot read key file/)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('testnet and init write homes through the node module', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bft-cli-'))
  try {
    const [t, i] = await Promise.all([
      cli(['testnet', '--validators', '4', '--out', join(dir, 'net'), '--base-port', '40000']),
      cli(['init', '--home', join(dir, 'home'), '--name', 'n1'])
    ])
    assert.equal(t.code, 0, t.stderr)
    const net = JSON.parse(t.stdout) as { homes: string[], genesisPath: string }
    assert.equal(net.homes.length, 4)
    const genesis = JSON.parse(await readFile(net.genesisPath, 'utf8')) as { validators: unknown[] }
    assert.equal(genesis.validators.length, 4)
    assert.equal(i.code, 0, i.stderr)
    assert.match((JSON.parse(i.stdout) as { peerId: string }).peerId, /^12D3KooW/)
    // The validator key file is a regular key file: keys show reads it, and its public key is in genesis.
    const shown = await cli(['keys', 'show', join(net.homes[0]!, 'node_key.json')])
    assert.equal(shown.code, 0, shown.stderr)
    assert.equal((JSON.parse(shown.stdout) as { publicKey: string }).publicKey, (genesis.validators[0] as { publicKey: string }).publicKey)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('tx transfer signs with the key, takes chainId and nonce from the node, prints JSON', async () => {
  const svc = new FakeService()
  const api = createApiServer(svc, { host: '127.0.0.1', port: 0, bodyLimit: 1 << 20, logger: silentLogger, closeGraceMs: 100 })
  const url = await api.listen()
  const dir = await mkdtemp(join(tmpdir(), 'bft-cli-'))
  try {
    const key = join(dir, 'k.json')
    const made = JSON.parse((await inproc(['keys', 'generate', '--out', key])).stdout) as { publicKey: string, address: string }
    const r = await inproc(['tx', 'transfer', '--key', key, '--to', ADDR, '--amount', '18446744073709551615', '--node', url, '--wait'])
    assert.equal(r.code, 0, r.stderr)
    const out = JSON.parse(r.stdout) as { txId: string, status: string, height: number, nonce: number }
    assert.equal(out.status, 'committed')
    assert.equal(out.height, 1)
    assert.equal(out.nonce, 3, 'nonce from GET /accounts')
    const sent = svc.submitted[0]!
    assert.equal(sent.opts.wait, true)
    const tx = decodeTx(sent.bytes)
    assert.ok(verifyTxSignature(tx))
    assert.equal(toHex(tx.body.sender), made.publicKey)
    assert.equal(tx.body.chainId, 'test-chain')
    assert.deepEqual(tx.body.args, { to: ADDR, amount: 18446744073709551615n })
    const k = await inproc(['tx', 'kv-set', '--key', key, '--kv-key', 'color', '--value', 'blue', '--fence-lock', 'l', '--fence-token', '4', '--nonce', '9', '--node', url])
    assert.equal(k.code, 0, k.stderr)
    assert.equal(JSON.parse(k.stdout).status, 'accepted')
    const kv = decodeTx(svc.submitted[1]!.bytes)
    assert.equal(kv.body.nonce, 9)
    assert.deepEqual([kv.body.contract, kv.body.method, kv.body.args], ['kv', 'set', { key: 'color', value: 'blue', fence: { lock: 'l', token: 4 } }])
    // The node rejects the replay: its code reaches the user, exit 1.
    const again = await inproc(['tx', 'kv-set', '--key', key, '--kv-key', 'color', '--value', 'blue', '--fence-lock', 'l', '--fence-token', '4', '--nonce', '9', '--node', url])
    assertOneLine(again, 1, /ERR_STALE_NONCE: nonce 0 already used/)
  } finally {
    await api.close()
    await rm(dir, { recursive: true, force: true })
  }
})

test('query --prove verifies against genesis, exits 2 when the node lies', async () => {
  const fx = await makeFixture('cli-prove')
  const addr = address(fx.user.publicKey)
  let lie = false
  const server = createServer((req, res) => {
    void (async () => {
      const u = new URL(req.url ?? '/', 'http://x')
      let body: unknown = { error: { code: 'ERR_NOT_FOUND', message: 'not found' } }
      let status = 404
      if (u.pathname === '/blocks/1' || u.pathname === '/blocks/latest') {
        const b = structuredClone(fx.block)
        if (lie) b.header.timestamp += 1
        body = b; status = 200
      } else if (u.pathname.startsWith('/state/')) {
        const [, , contract, key] = u.pathname.split('/')
        const s = await fx.state(contract!, decodeURIComponent(key!))
        if (lie && s.value !== null) s.value = '821a000f424002'
        body = s; status = 200
      }
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(body))
    })()
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const dir = await mkdtemp(join(tmpdir(), 'bft-cli-'))
  try {
    const genesis = join(dir, 'genesis.json')
    await writeFile(genesis, JSON.stringify({ chainId: fx.trust.chainId, validators: fx.trust.validators.map((v, i) => ({ name: `v${i}`, publicKey: toHex(v.publicKey), peerId: 'x' })) }))
    const runs = [
      await cli(['query', 'block', 'latest', '--prove', '--genesis', genesis, '--node', url]),
      await inproc(['query', 'account', addr, '--prove', '--genesis', genesis, '--node', url]),
      await inproc(['query', 'state', 'kv', `${addr}/greeting`, '--prove', '--genesis', genesis, '--node', url])
    ]
    for (const r of runs) assert.equal(r.code, 0, r.stderr)
    assert.equal(JSON.parse(runs[0]!.stdout).verified, true)
    assert.deepEqual(JSON.parse(runs[1]!.stdout), { address: addr, balance: '990', nonce: 2, height: 1, verified: true })
    assert.deepEqual(JSON.parse(runs[2]!.stdout).decoded, { value: 'hello', owner: addr })
    assertOneLine(await inproc(['query', 'account', 'ef'.repeat(20), '--prove', '--genesis', genesis, '--node', url]), 2, /verification failed \(ERR_STATE_VALUE\): proven account: stored account is not a \[balance, nonce\] pair/)
    lie = true
    const lies = [
      await cli(['query', 'block', '1', '--prove', '--genesis', genesis, '--node', url]),
      await inproc(['query', 'account', addr, '--prove', '--genesis', genesis, '--node', url])
    ]
    assertOneLine(lies[0]!, 2, /verification failed \(ERR_CERT_BLOCK_HASH\)/)
    assertOneLine(lies[1]!, 2, /verification failed/)
    assertOneLine(await inproc(['query', 'block', '1', '--prove', '--genesis', join(dir, 'none.json'), '--node', url]), 1, /cannot read genesis/)
  } finally {
    server.closeAllConnections()
    server.close()
    await rm(dir, { recursive: true, force: true })
  }
})
