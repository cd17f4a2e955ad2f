import { execFile } from 'node:child_process'

export interface ExecResult {
  code: number
  stdout: string
  stderr: string
}

export interface ExecOptions {
  timeoutMs?: number
  env?: NodeJS.ProcessEnv
  cwd?: string
  /** Resolve with the non-zero exit code instead of throwing. */
  allowFail?: boolean
}

export class CommandError extends Error {
  readonly code: string = 'ERR_COMMAND'
  constructor (readonly command: string, readonly result: ExecResult) {
    super(`command failed (exit ${result.code}): ${command}\n${tail(result.stderr || result.stdout, 20)}`)
    this.name = 'CommandError'
  }
}

/**
 * Runs a program without a shell (arguments are never interpreted) with a hard timeout, so
 * a hung podman call cannot hang the chaos run.
 */
export async function run (cmd: string, args: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const timeout = opts.timeoutMs ?? 60_000
  return await new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024, env: opts.env ?? process.env, cwd: opts.cwd, encoding: 'utf8' }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: number | string, killed?: boolean }) | null
      const result: ExecResult = { code: e === null ? 0 : typeof e.code === 'number' ? e.code : 1, stdout, stderr }
      const line = [cmd, ...args].join(' ')
      if (e !== null && e.killed === true) { reject(new CommandError(`${line} (killed after ${timeout} ms)`, result)); return }
      if (e !== null && typeof e.code === 'string') { reject(new CommandError(`${line} (${e.code}: ${e.message})`, result)); return }
      if (result.code !== 0 && opts.allowFail !== true) { reject(new CommandError(line, result)); return }
      resolve(result)
    })
  })
}

export function tail (text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n')
}
