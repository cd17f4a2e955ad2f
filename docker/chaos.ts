// Container chaos test: a 4-validator testnet in podman containers under client load, with
// one fault at a time (kill, kill the primary, partition, pause, clock skew, restart all).
// After each fault heals it checks agreement, that no acknowledged commit is lost, and at the
// end that the whole chain verifies. Prints a table; exits non-zero on any failure.
//
//   npm run test:containers                        # build images if needed, run everything
//   node dist/docker/chaos.js --faults kill-primary,partition --seed 42 --keep
//   node dist/docker/chaos.js --stub               # pipeline check without the node
import '../src/polyfill.js'
import { parseArgs } from 'node:util'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { randomBytes } from 'node:crypto'
import { spawnSync } from 'node:child_process'
import { Cluster, type NodeRef } from './chaos/cluster.js'
import { Podman } from './chaos/podman.js'
import { Load } from './chaos/load.js'
import { checkAckedTxs, checkChain } from './chaos/checks.js'
import { FAULTS, type FaultContext } from './chaos/faults.js'
import { renderTable, type Row } from './chaos/table.js'
import { composeWithEnv, createCliTestnet, createStubTestnet, type Testnet } from './chaos/setup.js'
import { run, tail } from './chaos/exec.js'
import { sleep } from './chaos/http.js'

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const { values: args } = parseArgs({
  options: {
    validators: { type: 'string', default: '4' },
    workers: { type: 'string', default: '16' },
    seed: { type: 'string' },
    faults: { type: 'string', default: FAULTS.map(f => f.name).join(',') },
    'base-port': { type: 'string', default: '27100' },
    image: { type: 'string', default: 'localhost/bft-ledger:latest' },
    'timeout-s': { type: 'string', default: '900' },
    'recover-timeout-s': { type: 'string', default: '90' },
    'after-s': { type: 'string', default: '5' },
    'skip-image-build': { type: 'boolean', default: false },
    stub: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    'continue-on-failure': { type: 'boolean', default: false },
    'logs-dir': { type: 'string' },
    help: { type: 'boolean', default: false }
  }
})
if (args.help === true) {
  process.stdout.write(`usage: node dist/docker/chaos.js [--faults ${FAULTS.map(f => f.name).join(',')}] [--seed S] [--workers 16]
  [--validators 4] [--base-port 27100] [--image IMG] [--timeout-s 900] [--recover-timeout-s 90] [--after-s 5]
  [--skip-image-build] [--stub] [--keep] [--logs-dir DIR] [--continue-on-failure]\n`)
  process.exit(0)
}

const seed = args.seed ?? randomBytes(4).toString('hex')
const faultNames = args.faults!.split(',').map(s => s.trim()).filter(s => s !== '')
for (const f of faultNames) {
  if (FAULTS.find(x => x.name === f) === undefined) {
    process.stderr.write(`chaos: unknown fault "${f}" (known: ${FAULTS.map(x => x.name).join(', ')})\n`)
    process.exit(2)
  }
}
const stub = args.stub === true
const logsDir = resolve(args['logs-dir'] ?? `/tmp/bft-chaos-logs-${seed}`)
const recoverMs = Number(args['recover-timeout-s']) * 1000
const afterMs = Number(args['after-s']) * 1000
const project = 'bft-chaos'
const containersConf = join(repo, 'docker/containers.conf')
const t0 = Date.now()
/** Container names to remove if the watchdog fires before the normal cleanup runs. */
let started: string[] = []
const say = (msg: string): void => { process.stdout.write(`[chaos +${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}\n`) }

async function buildImages (): Promise<void> {
  if (args['skip-image-build'] === true) return
  say('building images (docker/build-image.sh)')
  // The caller (npm run test:containers) has just run the TypeScript build.
  const r = await run('bash', [join(repo, 'docker/build-image.sh')], { timeoutMs: 600_000, env: { ...process.env, SKIP_BUILD: '1', BFT_IMAGE: args.image, BFT_ALLOW_NO_CLI: stub ? '1' : '0' } })
  say(tail(r.stdout, 3).replace(/\n/g, ' / '))
}

/** Stale containers from an aborted run would hold the names and ports. */
async function removeStale (podman: Podman, names: string[]): Promise<void> {
  for (const name of names) {
    if (await podman.state(name) !== 'missing') {
      const labels = (await podman.podman(['inspect', '--format', '{{ index .Config.Labels "io.podman.compose.project" }}', name], 30_000, true)).stdout.trim()
      if (labels !== project) throw new Error(`a container named ${name} exists and is not from this test (project "${labels}"); remove it first`)
      say(`removing stale container ${name}`)
      await podman.remove(name)
    }
  }
  await podman.podman(['network', 'rm', '-f', `${project}_bft-testnet`], 30_000, true)
}

/**
 * Saves every container's full log under logsDir and prints, per node, its last warnings and
 * errors (pino level >= 40) and its last few lines: the tail alone is often routine chatter.
 */
async function dumpLogs (podman: Podman, nodes: NodeRef[]): Promise<void> {
  const cluster = new Cluster(nodes)
  for (const n of nodes) {
    const st = await cluster.status(n)
    say(`  ${n.name}: ${st === null
      ? 'no /status'
      : `height ${st.height}, view ${st.view}, primary ${st.primary}, mempool ${st.mempoolSize}, peers connected ${st.peers.filter(p => p.connected).length}/${st.peers.length}`}`)
  }
  await mkdir(logsDir, { recursive: true })
  for (const n of nodes) {
    const text = await podman.logs(n.name, 100_000)
    const file = join(logsDir, `${n.name}.log`)
    await writeFile(file, text + '\n')
    const lines = text.split('\n')
    const warn = lines.filter(l => /"level":(4|5|6)0/.test(l)).slice(-15)
    process.stdout.write(`--- ${n.name} (${await podman.state(n.name)}), full log in ${file}; last warnings/errors: ---\n` +
      `${warn.map(l => l.slice(0, 400)).join('\n')}\n--- last lines: ---\n${lines.slice(-8).map(l => l.slice(0, 400)).join('\n')}\n`)
  }
}

async function main (): Promise<number> {
  say(`seed ${seed} (replay with --seed ${seed}); faults: ${faultNames.join(', ')}${stub ? ' (stub pipeline check)' : ''}`)
  await buildImages()
  const validators = Number(args.validators)
  const basePort = Number(args['base-port'])
  const net: Testnet = stub
    ? await createStubTestnet(validators, basePort, args.image!)
    : await createCliTestnet(repo, validators, basePort, args.image!)
  say(`testnet in ${net.outDir}`)
  const podman = new Podman(containersConf, project, net.composeFile)
  started = net.nodes.map(n => n.name)
  const cluster = new Cluster(net.nodes)
  const rows: Row[] = []
  const failures: string[] = []
  let load: Load | null = null
  try {
    await removeStale(podman, net.nodes.map(n => n.name))
    let start = Date.now()
    await podman.up()
    for (const n of net.nodes) {
      const s = await podman.state(n.name)
      if (s !== 'running') throw new Error(`${n.name} is ${s} after compose up`)
    }
    await cluster.waitHealthy(Date.now() + 120_000)
    say(`compose up + healthy in ${((Date.now() - start) / 1000).toFixed(1)} s`)
    const network = (await podman.networksOf(net.nodes[0]!.name))[0]
    if (network === undefined) throw new Error(`${net.nodes[0]!.name} is on no network`)

    if (!stub) {
      load = new Load({ chainId: net.chainId, nodes: net.nodes, workers: Number(args.workers), seed })
      load.start()
      // The first block can take a while: nodes dial each other by DNS name as containers come up.
      start = Date.now()
      while (load.acks.length === 0 && Date.now() - start < 60_000) await sleep(200)
      say(`first commit acknowledged ${((Date.now() - start) / 1000).toFixed(1)} s after the load started`)
      start = Date.now()
      await sleep(5000)
      const base = load.rate(start, Date.now())
      say(`baseline ${base.toFixed(1)} tx/s with ${args.workers} closed-loop senders`)
      if (base === 0) throw new Error(`no transaction committed within 60 s of starting the load; load errors: ${JSON.stringify(Object.fromEntries(load.errors))}`)
    }

    const ctx: FaultContext = {
      podman,
      cluster,
      network,
      viewChangeTimeoutMs: net.viewChangeTimeoutMs,
      maxClockSkewMs: net.maxClockSkewMs,
      recreate: async (node, env) => {
        const file = join(net.outDir, `compose-${node.name}.yaml`)
        await writeFile(file, composeWithEnv(net, { [node.name]: env }))
        // Removing the container drops its log; keep it for a later failure report.
        await mkdir(logsDir, { recursive: true })
        await writeFile(join(logsDir, `${node.name}.before-recreate-${Date.now()}.log`), await podman.logs(node.name, 100_000) + '\n')
        await podman.remove(node.name)
        await podman.compose(['up', '-d', '--no-deps', '--no-build', node.name], 120_000, file)
        const s = await podman.state(node.name)
        if (s !== 'running') throw new Error(`${node.name} is ${s} after recreating it`)
        const have = (await podman.podman(['inspect', '--format', '{{json .Config.Env}}', node.name])).stdout
        for (const [k, v] of Object.entries(env)) {
          if (!have.includes(`"${k}=${v}"`)) throw new Error(`${node.name} was recreated without ${k}=${v}`)
        }
      }
    }

    for (const name of faultNames) {
      const spec = FAULTS.find(f => f.name === name)!
      const p = await cluster.primary()
      if (p === null) throw new Error('no validator answers /status')
      const f = spec.plan(ctx, p.primary)
      const before = Math.max(0, ...(await cluster.heights()).map(h => h ?? 0))
      say(`${f.name} on ${f.target} (view ${p.view}, primary ${p.primary}, height ${before}): ${f.note}`)
      const tInject = Date.now()
      await f.inject()
      await sleep(f.holdMs)
      const tHeal = Date.now()
      await f.heal()
      // Nodes still starting answer nothing at heal time: never ask for less than the height before the fault.
      const atHeal = Math.max(before, ...(await cluster.heights()).map(h => h ?? 0))
      const row: Row = { fault: f.name, target: f.target, recoverS: null, tpsDuring: load?.rate(tInject, tHeal) ?? null, tpsAfter: null, acked: null, lost: null, result: 'FAIL' }
      rows.push(row)
      try {
        const agreed = await cluster.waitAgreement(stub ? 0 : atHeal + 1, tHeal + recoverMs)
        const tRec = Date.now()
        row.recoverS = (tRec - tHeal) / 1000
        say(`  recovered in ${row.recoverS.toFixed(1)} s: all at >= ${agreed.height} (heights ${agreed.heights.join('/')}), block ${agreed.hash.slice(0, 12)}, state ${agreed.stateRoot.slice(0, 12)}`)
        // /status has no verification field: the node logs the start-time check of its stored
        // chain (hash links, certificates, state root), so each restarted node must show it.
        if (!stub) {
          for (const name of f.restarts) {
            const log = await podman.logsSince(name, tInject)
            if (!log.includes('"msg":"stored chain verified"')) throw new Error(`${name} restarted without logging "stored chain verified"`)
          }
          if (f.restarts.length > 0) say(`  stored chain verified at start on ${f.restarts.join(', ')}`)
        }
        if (load !== null) {
          await sleep(afterMs)
          row.tpsAfter = load.rate(tRec, tRec + afterMs)
          const acks = load.since(tInject).filter(a => a.at < tRec + afterMs)
          // A node may still be syncing the newest blocks: absent there is not lost yet.
          await cluster.waitMinHeight(acks.reduce((m, a) => Math.max(m, a.height), 0), Date.now() + recoverMs)
          // Acks from before this fault were checked after the previous one; the final check re-reads all.
          const txs = await checkAckedTxs(cluster, acks)
          row.acked = acks.length
          row.lost = txs.lost.length
          if (txs.lost.length > 0) throw new Error(`lost acknowledged commits: ${txs.lost.slice(0, 10).join('; ')}`)
          if (row.tpsAfter === 0) throw new Error(`no commit in the ${afterMs / 1000} s after recovery`)
        }
        row.result = 'ok'
      } catch (err) {
        const msg = `${f.name}: ${err instanceof Error ? err.message : String(err)}`
        failures.push(msg)
        say(`  FAILED ${msg}`)
        await dumpLogs(podman, net.nodes)
        if (args['continue-on-failure'] !== true) break
      }
    }

    if (load !== null) {
      await load.stop()
      const errs = [...load.errors.entries()].map(([k, v]) => `${k}: ${v}`).join(', ')
      say(`load stopped: ${load.acks.length} commits acknowledged; retried submits: ${errs === '' ? 'none' : errs}`)
      if (load.violations.length > 0) failures.push(`API contract: ${load.violations.slice(0, 5).join('; ')}`)
      // After a fault failed (with --continue-on-failure) the final checks still run: a lost
      // commit or a broken chain is worth knowing even when liveness already failed.
      if (failures.length === 0 || args['continue-on-failure'] === true) {
        const top = load.acks.reduce((m, a) => Math.max(m, a.height), 0)
        let checked = cluster
        try {
          await cluster.waitMinHeight(top, Date.now() + recoverMs)
        } catch (err) {
          // A node stuck behind is a liveness failure; the nodes that did catch up still get
          // the safety checks, so a lost commit is never hidden behind a stall.
          failures.push(`final: ${err instanceof Error ? err.message : String(err)}`)
          const hs = await cluster.heights()
          checked = new Cluster(net.nodes.filter((_, i) => (hs[i] ?? -1) >= top))
          say(`final: checking only ${checked.nodes.map(n => n.name).join(', ')}: ${failures.at(-1)!}`)
          // The stuck node's prefix must still match: compare every node at the lowest height.
          const prefix = await cluster.agreement(0).catch((e: unknown) => ({ problem: String(e) }))
          if ('problem' in prefix) failures.push(`final prefix: ${prefix.problem}`)
          else say(`final: all nodes hold the same block at height ${prefix.height} (the lowest head)`)
        }
        if (checked.nodes.length > 0) {
          const agreed = await checked.waitAgreement(0, Date.now() + recoverMs)
          start = Date.now()
          const txs = await checkAckedTxs(checked, load.acks)
          say(`final: ${load.acks.length} acknowledged txs on ${checked.nodes.length} nodes, ${txs.lost.length} missing (${((Date.now() - start) / 1000).toFixed(1)} s)`)
          if (txs.lost.length > 0) failures.push(`final: lost acknowledged commits: ${txs.lost.slice(0, 10).join('; ')}`)
          start = Date.now()
          const chain = await checkChain(checked, net.validators, net.chainId, 1, agreed.height)
          say(`final: chain 1..${agreed.height} identical on ${checked.nodes.length} nodes, hashes/links recomputed, ${chain.certified} certificates verified, ${chain.problems.length} problems (${((Date.now() - start) / 1000).toFixed(1)} s)`)
          if (chain.problems.length > 0) failures.push(`chain: ${chain.problems.slice(0, 10).join('; ')}`)
        }
      }
    }
  } catch (err) {
    failures.push(err instanceof Error ? err.message : String(err))
    say(`FAILED: ${failures.at(-1)!}`)
    await dumpLogs(podman, net.nodes).catch(() => {})
  } finally {
    if (load !== null) await load.stop()
    if (args.keep === true) {
      say(`--keep: containers left running; compose file ${net.composeFile} (project ${project})`)
    } else {
      const s = Date.now()
      await podman.down().catch((err: unknown) => { say(`compose down failed: ${String(err)}`) })
      await podman.podman(['network', 'rm', '-f', `${project}_bft-testnet`], 60_000, true)
      for (const n of net.nodes) if (await podman.state(n.name) !== 'missing') await podman.remove(n.name).catch(() => {})
      await rm(net.outDir, { recursive: true, force: true })
      say(`cleaned up in ${((Date.now() - s) / 1000).toFixed(1)} s`)
    }
  }

  process.stdout.write('\n' + renderTable(rows) + '\n\n')
  if (faultNames.includes('clock-skew')) process.stdout.write('clock-skew is simulated: containers share the host kernel clock, so one node runs with BFT_CLOCK_OFFSET_MS.\n')
  const ran = rows.filter(r => r.result === 'ok').length
  if (failures.length > 0) {
    process.stdout.write(`chaos: FAILED (seed ${seed})\n${failures.map(f => `  - ${f}`).join('\n')}\n`)
  }
  // The plain closing line CI reads.
  process.stdout.write(`chaos: ${ran} passed, ${faultNames.length - ran} failed\n`)
  return failures.length === 0 && ran === faultNames.length ? 0 : 1
}

const total = Number(args['timeout-s']) * 1000
const watchdog = setTimeout(() => {
  process.stderr.write(`chaos: overall timeout of ${total / 1000} s hit; removing containers ${started.join(', ')}\n`)
  const env = { ...process.env, CONTAINERS_CONF: containersConf }
  if (started.length > 0) spawnSync('podman', ['rm', '-f', '-t', '2', ...started], { env, stdio: 'inherit', timeout: 60_000 })
  spawnSync('podman', ['network', 'rm', '-f', `${project}_bft-testnet`], { env, stdio: 'inherit', timeout: 30_000 })
  process.exit(1)
}, total)
watchdog.unref()
main().then(code => { process.exitCode = code }, (err: unknown) => {
  process.stderr.write(`chaos: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
  process.exitCode = 1
})
