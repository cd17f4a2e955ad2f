import { run, type ExecResult } from './exec.js'

/**
 * The fault tools and compose lifecycle, all through podman with the repo's containers.conf
 * (runc, explicit ulimits). One instance per chaos run: it remembers the compose project so
 * that cleanup can always find what it created.
 */
export class Podman {
  private readonly env: NodeJS.ProcessEnv

  constructor (readonly containersConf: string, readonly project: string, readonly composeFile: string) {
    this.env = { ...process.env, CONTAINERS_CONF: containersConf }
  }

  async podman (args: string[], timeoutMs = 60_000, allowFail = false): Promise<ExecResult> {
    return await run('podman', args, { env: this.env, timeoutMs, allowFail })
  }

  async compose (args: string[], timeoutMs = 180_000, file = this.composeFile): Promise<ExecResult> {
    return await run('podman-compose', ['-p', this.project, '-f', file, ...args], { env: this.env, timeoutMs })
  }

  async up (services: string[] = [], file?: string): Promise<void> {
    await this.compose(['up', '-d', ...services], 180_000, file)
  }

  async down (): Promise<void> {
    await this.compose(['down', '-t', '5'], 180_000)
  }

  async imageExists (image: string): Promise<boolean> {
    return (await this.podman(['image', 'exists', image], 30_000, true)).code === 0
  }

  async kill (name: string, signal = 'KILL'): Promise<void> {
    await this.podman(['kill', '-s', signal, name])
  }

  async start (name: string): Promise<void> {
    await this.podman(['start', name])
  }

  async stop (name: string, seconds = 10): Promise<void> {
    await this.podman(['stop', '-t', String(seconds), name], (seconds + 30) * 1000)
  }

  async pause (name: string): Promise<void> {
    await this.podman(['pause', name])
  }

  async unpause (name: string): Promise<void> {
    await this.podman(['unpause', name])
  }

  async remove (name: string): Promise<void> {
    await this.podman(['rm', '-f', '-t', '5', name], 60_000)
  }

  async disconnect (network: string, name: string): Promise<void> {
    await this.podman(['network', 'disconnect', network, name])
  }

  async connect (network: string, name: string): Promise<void> {
    await this.podman(['network', 'connect', network, name])
  }

  /** Networks the container is attached to (compose prefixes them with the project name). */
  async networksOf (name: string): Promise<string[]> {
    const r = await this.podman(['inspect', '--format', '{{json .NetworkSettings.Networks}}', name])
    return Object.keys(JSON.parse(r.stdout) as Record<string, unknown>)
  }

  async state (name: string): Promise<string> {
    const r = await this.podman(['inspect', '--format', '{{.State.Status}}', name], 30_000, true)
    return r.code === 0 ? r.stdout.trim() : 'missing'
  }

  /** Containers of this compose project, by name. */
  async projectContainers (): Promise<string[]> {
    const r = await this.podman(['ps', '-a', '--filter', `label=io.podman.compose.project=${this.project}`, '--format', '{{.Names}}'], 30_000, true)
    return r.stdout.split('\n').map(s => s.trim()).filter(s => s !== '')
  }

  /** Log lines written since `since` (ms since the epoch), stdout and stderr interleaved. */
  async logsSince (name: string, since: number): Promise<string> {
    const r = await run('bash', ['-c', 'exec podman logs --since "$1" "$2" 2>&1', 'logs', new Date(since).toISOString(), name], { env: this.env, timeoutMs: 30_000, allowFail: true })
    return r.stdout
  }

  /** The container's stdout and stderr interleaved in the order they were written. */
  async logs (name: string, lines = 40): Promise<string> {
    const r = await run('bash', ['-c', 'exec podman logs --tail "$1" "$2" 2>&1', 'logs', String(lines), name], { env: this.env, timeoutMs: 30_000, allowFail: true })
    return r.stdout.trimEnd()
  }
}
