import { jsonReplacer } from '../api/json.js'

/** Results go to stdout as JSON (bigints as decimal strings, bytes as hex), for people and scripts. */
export function printJson (value: unknown): void {
  process.stdout.write(JSON.stringify(value, jsonReplacer, 2) + '\n')
}
