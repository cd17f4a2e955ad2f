import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { findJemalloc, parseMallocChoice, runningMalloc, validatorMallocEnv } from '../../src/node/allocator.js'
import { ConfigError } from '../../src/errors.js'

const LIB = '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2'
const found = (): string | null => LIB
const none = (): string | null => null

test('malloc: BFT_LEDGER_MALLOC accepts auto, jemalloc and system, and names a bad value', () => {
  assert.equal(parseMallocChoice(undefined), 'auto')
  assert.equal(parseMallocChoice(''), 'auto')
  assert.equal(parseMallocChoice('auto'), 'auto')
  assert.equal(parseMallocChoice('jemalloc'), 'jemalloc')
  assert.equal(parseMallocChoice('system'), 'system')
  assert.throws(() => parseMallocChoice('tcmalloc'), (err: unknown) => err instanceof ConfigError && /BFT_LEDGER_MALLOC must be "auto", "jemalloc" or "system", got "tcmalloc"/.test(err.message))
})

test('malloc: validators get jemalloc preloaded when it is installed, unless told otherwise', () => {
  assert.deepEqual(validatorMallocEnv({}, found), { LD_PRELOAD: LIB })
  assert.deepEqual(validatorMallocEnv({ BFT_LEDGER_MALLOC: 'jemalloc' }, found), { LD_PRELOAD: LIB })
  // Not installed: auto falls back to the system malloc, a required jemalloc refuses.
  assert.deepEqual(validatorMallocEnv({}, none), {})
  assert.throws(() => validatorMallocEnv({ BFT_LEDGER_MALLOC: 'jemalloc' }, none), (err: unknown) => err instanceof ConfigError && /no libjemalloc\.so\.2 was found/.test(err.message))
  // The operator's choices win: the system malloc, or an LD_PRELOAD of their own.
  assert.deepEqual(validatorMallocEnv({ BFT_LEDGER_MALLOC: 'system' }, found), {})
  assert.deepEqual(validatorMallocEnv({ LD_PRELOAD: '/opt/other.so' }, found), {})
  assert.throws(() => validatorMallocEnv({ BFT_LEDGER_MALLOC: 'glibc' }, found), ConfigError)
})

test('malloc: findJemalloc returns the first installed path', () => {
  assert.equal(findJemalloc(() => false), null)
  assert.equal(findJemalloc(p => p === '/usr/lib64/libjemalloc.so.2'), '/usr/lib64/libjemalloc.so.2')
})

test('malloc: runningMalloc reads the mapped libraries', () => {
  const maps = (lib: string): string => `7f1c2a000000-7f1c2a021000 r-xp 00000000 fd:01 1234 ${lib}\n`
  assert.equal(runningMalloc(() => maps('/usr/lib/x86_64-linux-gnu/libjemalloc.so.2')), 'jemalloc')
  assert.equal(runningMalloc(() => maps('/usr/lib/x86_64-linux-gnu/libc.so.6')), 'system')
  assert.equal(runningMalloc(() => { throw new Error('no /proc') }), 'system')
  // This test process was started without a preload.
  if (process.env.LD_PRELOAD === undefined) assert.equal(runningMalloc(), 'system')
})

test('malloc: a child started with the env validatorMallocEnv gives runs on jemalloc', (t) => {
  const lib = findJemalloc()
  if (lib === null) { t.skip('libjemalloc.so.2 is not installed here'); return }
  const env = { ...process.env, BFT_LEDGER_MALLOC: 'auto', LD_PRELOAD: '', ...validatorMallocEnv({ ...process.env, LD_PRELOAD: '' }) }
  const mod = new URL('../../src/node/allocator.js', import.meta.url).href
  const script = `import(${JSON.stringify(mod)}).then(m => process.stdout.write(m.runningMalloc()))`
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { env, encoding: 'utf8' })
  assert.equal(out, 'jemalloc')
})
