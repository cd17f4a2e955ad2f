// Prints ed25519 sign/verify rates of libsodium, node:crypto and @noble/ed25519 on one core, the cost of the
// validity pre-check, and sha256 throughput. Run: npx tsc -p . && node dist/bench/verify.js [--seconds 1] [--json]
import '../src/polyfill.js'
import * as ed from '@noble/ed25519'
import { createPublicKey, verify as opensslVerify } from 'node:crypto'
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js'
import {
  generateKeyPair, sign, signNoble, verify, verifyMany, verifyOpenssl, verifyNoble, nodeVerifier, batchVerifier, precheck, clearKeyCache,
  measureVerifyRate, sha256
} from '../src/crypto/index.js'
import { sodium } from '../src/crypto/sodium.js'

const args = process.argv.slice(2)
const secondsArg = args.indexOf('--seconds')
const SECONDS = secondsArg >= 0 ? Number(args[secondsArg + 1]) : 1
const JSON_OUT = args.includes('--json')
if (!(SECONDS > 0)) {
  console.error('usage: node dist/bench/verify.js [--seconds N] [--json]')
  process.exit(2)
}

interface Result { name: string, opsPerCpuSecond: number, opsPerWallSecond: number, microsPerOp: number }
const results: Result[] = []

/**
 * Runs fn(i) until `seconds` of wall time pass; rate per CPU-second is the per-core figure on a
 * busy machine. `perCall`: operations one call does (a batch), so rates are per operation.
 */
function measure (name: string, fn: (i: number) => void, seconds = SECONDS, perCall = 1): Result {
  for (let i = 0; i < 50; i++) fn(i) // JIT warm-up
  let n = 0
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  let wall = 0
  while (wall < seconds * 1000) {
    for (let j = 0; j < 16; j++) fn(n++)
    wall = performance.now() - t0
  }
  const c = process.cpuUsage(cpu0)
  const cpuS = Math.min((c.user + c.system) / 1e6, wall / 1000)
  const ops = n * perCall
  const r = { name, opsPerCpuSecond: Math.round(ops / cpuS), opsPerWallSecond: Math.round(ops / (wall / 1000)), microsPerOp: Number((cpuS * 1e6 / ops).toFixed(2)) }
  results.push(r)
  if (!JSON_OUT) console.log(`${name.padEnd(48)} ${String(r.opsPerCpuSecond).padStart(10)} /cpu-s ${String(r.opsPerWallSecond).padStart(10)} /wall-s ${r.microsPerOp.toFixed(2).padStart(10)} us/op`)
  return r
}

const kp = generateKeyPair()
const msgs = Array.from({ length: 64 }, (_, i) => new Uint8Array(200).fill(i))
const sigs = msgs.map(m => sign(m, kp.secretKey))
const SPKI = Buffer.from('302a300506032b6570032100', 'hex')
const keyObject = createPublicKey({ key: Buffer.concat([SPKI, kp.publicKey]), format: 'der', type: 'spki' })
// Fresh keys for the cold pre-check (a key the cache has not seen).
const freshKeys = Array.from({ length: 4096 }, () => generateKeyPair().publicKey)

if (!JSON_OUT) {
  console.log(`node ${process.version}, openssl ${process.versions.openssl}, ${SECONDS}s per row, 200-byte messages, one thread`)
  console.log(`${'operation'.padEnd(48)} ${'rate'.padStart(17)} ${'rate'.padStart(17)} ${'cost'.padStart(16)}`)
}
measure('sign   node:crypto (sign)', i => { sign(msgs[i & 63]!, kp.secretKey) })
measure('sign   noble (signNoble)', i => { signNoble(msgs[i & 63]!, kp.secretKey) })
measure('verify node:crypto raw (no pre-check)', i => { opensslVerify(null, msgs[i & 63]!, keyObject, sigs[i & 63]!) })
measure('verify node:crypto + precheck (verifyOpenssl)', i => { verifyOpenssl(sigs[i & 63]!, msgs[i & 63]!, kp.publicKey) })
if (sodium !== null) {
  const lib = sodium
  measure('verify libsodium raw (no pre-check)', i => { lib.crypto_sign_verify_detached(sigs[i & 63]!, msgs[i & 63]!, kp.publicKey) })
}
measure(`verify node path, ${nodeVerifier()} + precheck (verify)`, i => { verify(sigs[i & 63]!, msgs[i & 63]!, kp.publicKey) })
measure('verify noble raw (zip215:false)', i => { ed.verify(sigs[i & 63]!, msgs[i & 63]!, kp.publicKey, { zip215: false }) })
measure('verify noble + precheck (verifyNoble)', i => { verifyNoble(sigs[i & 63]!, msgs[i & 63]!, kp.publicKey) })
const batch = sigs.map((signature, i) => ({ signature, message: msgs[i]!, publicKey: kp.publicKey }))
measure(`verify batches of 64, per signature (verifyMany, ${batchVerifier() ?? 'one at a time'})`, () => { verifyMany(batch) }, SECONDS, batch.length)
measure(`verify batches of 8, per signature (verifyMany, ${batchVerifier() ?? 'one at a time'})`, i => { verifyMany(batch.slice(i & 56, (i & 56) + 8)) }, SECONDS, 8)
measure('precheck, cached key (node hot path)', i => { precheck(sigs[i & 63]!, kp.publicKey) })
clearKeyCache()
measure(`precheck, first sight of a key (cold, ${nodeVerifier() === 'libsodium' ? 'libsodium' : 'noble'})`, i => { precheck(sigs[0]!, freshKeys[i % freshKeys.length]!) }, Math.min(SECONDS, 1))
const big = new Uint8Array(1 << 20).fill(7)
const mb = (r: Result): string => `${(r.opsPerCpuSecond).toFixed(0)} MB/cpu-s`
const hNode = measure('sha256 node:crypto, 1 MiB', () => { sha256(big) })
const hNoble = measure('sha256 @noble/hashes, 1 MiB', () => { nobleSha256(big) })
const rate = measureVerifyRate(SECONDS * 1000)
const nodeRate = measureVerifyRate(SECONDS * 1000, 'node')
if (JSON_OUT) {
  console.log(JSON.stringify({ node: process.version, openssl: process.versions.openssl, verifier: nodeVerifier(), seconds: SECONDS, results, measureVerifyRate: rate, measureVerifyRateNode: nodeRate }))
} else {
  console.log(`sha256: node:crypto ${mb(hNode)}, noble ${mb(hNoble)}`)
  console.log(`measureVerifyRate(${SECONDS * 1000}) = ${rate} verifies/s (node:crypto); ${nodeRate} on the node path (${nodeVerifier()})`)
}
