import '../../src/polyfill.js'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import { percentile, summarize, prng } from '../../bench/stats.js'
import { dirBytes, parseStatCpuTicks, parseStatusRss, sampleProc } from '../../bench/proc-stats.js'
import { promSum, countersOf } from '../../bench/prom.js'
import { latencySvg } from '../../bench/plot.js'
import { parseBenchArgs } from '../../bench/options.js'
import { nodePositions, timelineSummary, type TimelineSecond } from '../../bench/report.js'
import { main } from '../../bench/run.js'
import { CommitTally } from '../../bench/tally.js'

test('percentiles use the nearest rank', () => {
  const a = Array.from({ length: 100 }, (_, i) => i + 1)
  assert.equal(percentile(a, 0.5), 50)
  assert.equal(percentile(a, 0.99), 99)
  assert.equal(percentile(a, 1), 100)
  assert.ok(Number.isNaN(percentile([], 0.5)))
  const s = summarize([5, 1, 3])
  assert.deepEqual([s.count, s.p50, s.max, s.mean], [3, 3, 5, 3])
})

test('prng replays from its seed', () => {
  const a = prng(42)
  const b = prng(42)
  for (let i = 0; i < 10; i++) assert.equal(a(), b())
})

test('/proc parsing survives odd command names', () => {
  const stat = '1234 (node (x) y) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 1 0 100 0 0'
  assert.equal(parseStatCpuTicks(stat), 300)
  assert.equal(parseStatusRss('Name:\tnode\nVmRSS:\t   2048 kB\n'), 2048 * 1024)
  const me = sampleProc(process.pid)
  assert.ok(me !== null && me.rssBytes > 0 && me.cpuSeconds >= 0)
  assert.equal(sampleProc(2 ** 30), null)
})

test('a data directory\'s size counts every file below it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bft-dirbytes-'))
  try {
    mkdirSync(join(dir, 'ledger'))
    writeFileSync(join(dir, 'a'), new Uint8Array(1000))
    writeFileSync(join(dir, 'ledger', 'b'), new Uint8Array(234))
    assert.equal(dirBytes(dir), 1234)
    assert.equal(dirBytes(join(dir, 'missing')), null)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a process sample splits the main thread from the other threads', async () => {
  const before = sampleProc(process.pid)!
  // A fixed amount of work (not a wall-clock spin), so a loaded machine cannot shrink it.
  const worker = new Worker('let x = 0; for (let i = 0; i < 3e8; i++) x = (x + i) % 1000003; require("node:worker_threads").parentPort.postMessage(x)', { eval: true })
  await new Promise((resolve, reject) => { worker.once('message', resolve); worker.once('error', reject) })
  await worker.terminate()
  const after = sampleProc(process.pid)!
  const main = after.mainCpuSeconds - before.mainCpuSeconds
  const other = (after.cpuSeconds - before.cpuSeconds) - main
  assert.ok(after.mainCpuSeconds <= after.cpuSeconds)
  // The worker's loop ran on another thread: its CPU shows there, not on the waiting main thread.
  assert.ok(other >= 0.1, `other threads ${other} s, main ${main} s`)
  assert.ok(main < other, `other threads ${other} s, main ${main} s`)
})

test('a run whose heads disagree says where each replica stands', () => {
  const base = { view: 2, primary: 2, lastExecuted: 279, lowWatermark: 276, inViewChange: false, pendingRequests: 0, targetView: 2, decided: 279, executing: null, nextSeq: 280 }
  const lines = nodePositions([
    { consensus: base, peersConnected: 3 },
    { consensus: { ...base, lastExecuted: 263, decided: 279, executing: 264, inViewChange: true, targetView: 3, pendingRequests: 512 }, peersConnected: 1 },
    null
  ])
  assert.equal(lines.length, 3)
  assert.match(lines[0]!, /view 2, executed 279, decided 279, executing -, low 276, next seq 280, pending 0, peers 3$/)
  assert.match(lines[1]!, /view 2 \(changing to 3\), executed 263, decided 279, executing 264, .* pending 512, peers 1$/)
  assert.match(lines[2]!, /node 2 +unreachable/)
})

test('Prometheus sums cover every label set and only the named metric', () => {
  const text = [
    '# HELP bft_committed_txs_total x',
    'bft_committed_txs_total{status="ok"} 10',
    'bft_committed_txs_total{status="failed"} 2',
    'bft_committed_txs_total_extra 99',
    'bft_view_changes_total 3',
    'bft_block_stage_seconds_sum{stage="execute"} 0.5',
    'bft_block_stage_seconds_sum{stage="state"} 1.25',
    'bft_block_stage_seconds_count{stage="state"} 7'
  ].join('\n')
  assert.equal(promSum(text, 'bft_committed_txs_total'), 12)
  assert.equal(promSum(text, 'bft_committed_txs_total', 'status="failed"'), 2)
  assert.deepEqual(countersOf(text), { committedTxs: 12, blocks: 0, viewChanges: 3, rejectedTxs: 0, executeS: 0.5, stateS: 1.25, writeS: 0 })
})

test('the plot is one SVG with a point per run and series', () => {
  const svg = latencySvg([{ label: '500', tps: 480, p50: 40, p99: 120 }, { label: 'max', tps: 2000, p50: 300, p99: 2500 }], 't<1>')
  assert.match(svg, /^<svg /)
  assert.equal(svg.match(/<circle /g)?.length, 4)
  assert.ok(svg.includes('t&lt;1&gt;'))
})

test('the timeline summary names the slowest seconds of the window and counts stalls', () => {
  const sec = (s: number, p99: number, committed = 100): TimelineSecond => ({ s, committed, p50: p99 / 2, p99, max: p99 })
  // Seconds 2 and 3 had no commit; second 6 is the drain (window of 6 s) and must not count.
  const line = timelineSummary([sec(0, 100), sec(1, 900), sec(4, 300), sec(5, 900), sec(6, 5000)], 6, 2)
  assert.equal(line, 'slowest s=1 p99 900 (p50 450, 100 txs), s=5 p99 900 (p50 450, 100 txs); seconds without a commit: 2')
  assert.equal(timelineSummary([], 3), 'no commits in the window; seconds without a commit: 3')
})

test('the commit tally tells a re-inclusion refused without effect from a second application', () => {
  const t = new CommitTally(0, 10_000)
  for (const id of ['a', 'b', 'c', 'd']) t.sent(id, 0)
  const block = (height: number, at: number, txIds: string[], retryable: string[] = [], refused: string[] = []): void => {
    t.onBlock({ height, at, txIds, retryable, refused })
  }
  block(1, 100, ['a', 'b', 'c'], ['b'])      // b refused for a nonce gap: still pending
  block(2, 300, ['b', 'a'], [], ['a'])       // a proposed again and refused: not a duplicate
  block(3, 400, ['d'], [], ['d'])            // d refused at its first inclusion: final, not a commit
  assert.equal(t.committedTotal, 3)
  assert.deepEqual(t.latencies, [100, 100, 300])
  assert.equal(t.retried, 1)
  assert.equal(t.reincluded, 1)
  assert.equal(t.duplicates, 0)
  assert.deepEqual(t.rejected, { ERR_REFUSED_IN_BLOCK: 1 })
  assert.equal(t.pending.size, 0)
  block(4, 500, ['c'])                       // c applied a second time: the failure the bench exists to catch
  assert.equal(t.duplicates, 1)
  assert.equal(t.committedTotal, 3)
})

test('options: defaults and clear errors', () => {
  const o = parseBenchArgs([], '/tmp/x')
  assert.equal(o.validators, 4)
  assert.equal(o.rate, 'max')
  assert.equal(o.duration, 60)
  assert.equal(o.basePort, 27000)
  assert.deepEqual(parseBenchArgs(['--accounts', '10000,100_000'], '/tmp/x').accounts, [10000, 100000])
  assert.equal(parseBenchArgs(['--profile'], '/tmp/x').profile, 0)
  assert.equal(parseBenchArgs(['--rate', '250'], '/tmp/x').rate, 250)
  assert.equal(parseBenchArgs(['--min-block-interval', '0'], '/tmp/x').minBlockInterval, 0)
  assert.equal(o.minBlockInterval, undefined)
  const saved = process.stderr.write.bind(process.stderr)
  process.stderr.write = () => true // commander prints the error; the test only needs the throw
  try {
    assert.throws(() => parseBenchArgs(['--rate', 'fast'], '/tmp/x'), /rate/)
    assert.throws(() => parseBenchArgs(['--attach', 'nope'], '/tmp/x'), /attach/)
    assert.throws(() => parseBenchArgs(['--min-block-interval', '-5'], '/tmp/x'), /--min-block-interval must be an integer in 0\.\.60000, got "-5"/)
  } finally {
    process.stderr.write = saved
  }
})

test('smoke: one validator process, warm-up load then a short open-loop run, nothing lost', { timeout: 60_000 }, async () => {
  const out = mkdtempSync(join(tmpdir(), 'bft-bench-test-'))
  try {
    const code = await main(['--validators', '1', '--senders', '8', '--rate', '40', '--duration', '2', '--drain', '20',
      '--no-progress', '--warmup-load', '1', '--verify-ms', '100', '--base-port', '27700', '--seed', '7', '--out', out, '--quiet'])
    const report = JSON.parse(readFileSync(join(out, 'single-latest.json'), 'utf8')) as {
      runs: Array<{ committedTotal: number, lost: number, duplicates: number, heads: { agreed: boolean }, validators: Array<{ cpuPct: number, mainCpuPct: number }>, warmLoad?: { sent: number, committed: number, lost: number }, blockStagesMs: { execute: number, state: number, write: number } }>
      verify: { perCore: number }
    }
    assert.equal(code, 0)
    const r = report.runs[0]!
    assert.ok(r.committedTotal > 0, 'some txs committed')
    assert.ok(r.warmLoad !== undefined && r.warmLoad.sent > 0, 'the warm-up load ran')
    assert.equal(r.warmLoad.committed, r.warmLoad.sent)
    assert.equal(r.warmLoad.lost, 0)
    assert.equal(r.lost, 0)
    assert.equal(r.duplicates, 0)
    assert.ok(r.heads.agreed)
    assert.equal(r.validators.length, 1)
    assert.ok(r.validators[0]!.mainCpuPct > 0 && r.validators[0]!.mainCpuPct <= r.validators[0]!.cpuPct, JSON.stringify(r.validators[0]))
    // The blocks of the window were timed in every stage (a durable write takes some time).
    assert.ok(r.blockStagesMs.write > 0 && r.blockStagesMs.state > 0 && r.blockStagesMs.execute > 0, JSON.stringify(r.blockStagesMs))
    assert.ok(report.verify.perCore > 0)
  } finally {
    rmSync(out, { recursive: true, force: true })
  }
})
