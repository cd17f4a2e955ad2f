import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { renderCompose, CONTAINER_HOME, type ComposeOptions } from '../../src/node/compose.js'
import { BftError } from '../../src/errors.js'

function fourValidators (): ComposeOptions {
  return {
    image: 'localhost/bft-ledger:latest',
    network: 'bft-testnet',
    validators: Array.from({ length: 4 }, (_, i) => ({
      name: `validator-${i}`,
      home: `/tmp/testnet/validator-${i}`,
      p2pPort: 26600 + 2 * i,
      apiPort: 26601 + 2 * i
    }))
  }
}

test('output is stable: same input, same bytes; env keys sorted', () => {
  const a = renderCompose(fourValidators())
  const b = renderCompose(fourValidators())
  assert.equal(a, b)
  const env = renderCompose({ ...fourValidators(), validators: [{ name: 'v', home: '/h', p2pPort: 1000, apiPort: 1001, env: { ZED: '1', BFT_CLOCK_OFFSET_MS: '-250' } }] })
  const keys = env.split('\n').filter(l => /^ {6}[A-Z0-9_]+: /.test(l)).map(l => l.trim().split(':')[0])
  assert.deepEqual(keys, ['API_PORT', 'BFT_CLOCK_OFFSET_MS', 'LOG_LEVEL', 'P2P_PORT', 'ZED'])
  assert.match(env, /BFT_CLOCK_OFFSET_MS: "-250"/)
})

test('every published port is bound to 127.0.0.1 and matches the validator', () => {
  const opts = fourValidators()
  const yaml = renderCompose(opts)
  const published = yaml.split('\n').filter(l => /^ {6}- "[0-9.]+:\d+:\d+"$/.test(l))
  assert.equal(published.length, 2 * opts.validators.length)
  for (const line of published) assert.match(line, /^ {6}- "127\.0\.0\.1:(\d+):\1"$/)
  for (const v of opts.validators) {
    assert.ok(yaml.includes(`"127.0.0.1:${v.apiPort}:${v.apiPort}"`))
    assert.ok(yaml.includes(`"127.0.0.1:${v.p2pPort}:${v.p2pPort}"`))
  }
  assert.doesNotMatch(yaml, /0\.0\.0\.0/)
})

test('service names, container names, mounts and network match the input', () => {
  const opts = fourValidators()
  const yaml = renderCompose(opts)
  for (const v of opts.validators) {
    assert.ok(yaml.includes(`\n  ${v.name}:\n`), `service ${v.name}`)
    assert.ok(yaml.includes(`container_name: "${v.name}"`))
    assert.ok(yaml.includes(`hostname: "${v.name}"`))
    assert.ok(yaml.includes(`- "${v.home}:${CONTAINER_HOME}"`))
    assert.ok(yaml.includes(`API_PORT: "${v.apiPort}"`))
  }
  assert.equal(yaml.split('\n').filter(l => l === '      - bft-testnet').length, 4)
  assert.match(yaml, /\nnetworks:\n {2}bft-testnet:\n {4}driver: bridge\n$/)
  assert.equal(yaml.split('init: true').length - 1, 4)
  assert.doesNotMatch(yaml, /restart:/)
  assert.match(renderCompose({ ...opts, restart: true }), /restart: unless-stopped/)
  assert.match(renderCompose({ ...opts, command: ['node', '-e', 'x'] }), /command: \["node", "-e", "x"\]/)
})

test('bad input is rejected with ERR_CONFIG and says where', () => {
  const cases: Array<[string, (o: ComposeOptions) => void, RegExp]> = [
    ['duplicate name', o => { o.validators[1]!.name = 'validator-0' }, /validators\[1\]: duplicate name/],
    ['upper-case name', o => { o.validators[2]!.name = 'Validator' }, /validators\[2\]: invalid name/],
    ['relative home', o => { o.validators[0]!.home = 'rel/dir' }, /validators\[0\]: home must be an absolute/],
    ['colon in home', o => { o.validators[0]!.home = '/a:b' }, /may not contain ':'/],
    ['port clash', o => { o.validators[3]!.apiPort = o.validators[0]!.p2pPort }, /validators\[3\]: apiPort 26600 is already used by validator-0.p2pPort/],
    ['port range', o => { o.validators[0]!.p2pPort = 70000 }, /p2pPort must be an integer in 1..65535/],
    ['network', o => { o.network = 'Bad Net' }, /invalid network name/],
    ['image', o => { o.image = 'x y' }, /invalid image reference/],
    ['env key', o => { o.validators[0]!.env = { 'bad-key': '1' } }, /invalid environment variable name/],
    ['empty', o => { o.validators = [] }, /at least one validator/]
  ]
  for (const [what, mutate, msg] of cases) {
    const o = fourValidators()
    mutate(o)
    assert.throws(() => renderCompose(o), (err: unknown) => {
      assert.ok(err instanceof BftError, what)
      assert.equal(err.code, 'ERR_CONFIG', what)
      assert.match(err.message, msg, what)
      return true
    })
  }
})

test('parses as YAML with the expected structure (when python3-yaml is present)', (t) => {
  const probe = spawnSync('python3', ['-c', 'import yaml'], { encoding: 'utf8' })
  if (probe.status !== 0) { t.skip('python3 with PyYAML not available'); return }
  const opts = fourValidators()
  opts.validators[2]!.env = { BFT_CLOCK_OFFSET_MS: '3000' }
  const r = spawnSync('python3', ['-c', 'import sys, yaml, json; print(json.dumps(yaml.safe_load(sys.stdin)))'], { input: renderCompose(opts), encoding: 'utf8' })
  assert.equal(r.status, 0, r.stderr)
  const doc = JSON.parse(r.stdout) as { services: Record<string, Record<string, unknown>>, networks: Record<string, unknown> }
  assert.deepEqual(Object.keys(doc.services), opts.validators.map(v => v.name))
  assert.deepEqual(Object.keys(doc.networks), ['bft-testnet'])
  const s2 = doc.services['validator-2']!
  assert.deepEqual(s2.ports, ['127.0.0.1:26605:26605', '127.0.0.1:26604:26604'])
  assert.deepEqual(s2.volumes, [`/tmp/testnet/validator-2:${CONTAINER_HOME}`])
  assert.equal((s2.environment as Record<string, string>).BFT_CLOCK_OFFSET_MS, '3000')
  assert.equal(s2.init, true)
  assert.deepEqual((s2.healthcheck as { test: string[] }).test, ['CMD', 'node', '/app/dist/docker/healthcheck.js'])
})

test('validates against the compose schema (when docker-compose v1 is installed)', (t) => {
  const probe = spawnSync('docker-compose', ['version', '--short'], { encoding: 'utf8' })
  if (probe.status !== 0) { t.skip('docker-compose not available'); return }
  const opts = fourValidators()
  opts.validators[1]!.env = { BFT_CLOCK_OFFSET_MS: '-2500' }
  // `config -q` parses and validates without an engine: it only needs the file (on stdin).
  const r = spawnSync('docker-compose', ['-f', '-', 'config', '-q'], { input: renderCompose({ ...opts, restart: true }), encoding: 'utf8' })
  assert.equal(r.status, 0, r.stderr)
})
