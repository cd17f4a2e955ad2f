import type { ChildProcess } from 'node:child_process'

/**
 * Stops a validator process: SIGTERM first (it flushes LevelDB, and a --cpu-prof child writes
 * its profile), SIGKILL if it has not exited after `graceMs`. Resolves once it has exited.
 */
export async function stopChild (c: ChildProcess, graceMs: number): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return
  const exited = new Promise<void>(resolve => c.once('exit', () => resolve()))
  c.kill('SIGTERM')
  const timer = setTimeout(() => c.kill('SIGKILL'), graceMs)
  await exited
  clearTimeout(timer)
}
