import { jsonReplacer } from '../api/json.js'

/**
 * Where the CLI writes. Tests that run commands in-process swap these instead of patching
 * process.stdout (which node's test runner itself reports through).
 */
export const io = {
  out: (s: string): void => { process.stdout.write(s) },
  err: (s: string): void => { process.stderr.write(s) }
}

/** Results go to stdout as JSON (bigints as decimal strings, bytes as hex), for people and scripts. */
export function printJson (value: unknown): void {
  io.out(JSON.stringify(value, jsonReplacer, 2) + '\n')
}
