// Runs every compiled test file with node's built-in runner. Kept as a script (not a shell
// glob in package.json) so it works the same under sh, bash and CI, and so a subset can be
// chosen: `node scripts/run-tests.mjs sim` runs only files whose path contains "sim".
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

function walk (dir) {
  const out = []
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) out.push(...walk(p))
    else if (name.endsWith('.test.js')) out.push(p)
  }
  return out
}

const filters = process.argv.slice(2)
// dist/ keeps the output of test files that were since deleted or renamed; run only those
// whose TypeScript source still exists.
const hasSource = f => existsSync(f.replace(/^dist[\\/]/, '').replace(/\.js$/, '.ts'))
const files = walk('dist/test').filter(hasSource).filter(f => filters.length === 0 || filters.some(x => f.includes(x))).sort()
if (files.length === 0) {
  console.error('no test files found under dist/test')
  process.exit(1)
}
const concurrency = process.env.TEST_CONCURRENCY ?? '2'
const r = spawnSync(process.execPath, ['--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files], { stdio: 'inherit' })
process.exit(r.status ?? 1)
