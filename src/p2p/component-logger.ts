import type { ComponentLogger, Logger as Libp2pLogger } from '@libp2p/interface'
import type { Logger } from '../log.js'

/**
 * libp2p modules (tcp, noise, yamux) log through a debug-style ComponentLogger. We route it
 * into our pino logger at trace level: their "error" lines are mostly ordinary resets and
 * aborts that we already report ourselves with context, so they must not reach info/warn.
 */
export function componentLogger (logger: Logger): ComponentLogger {
  return {
    forComponent: (name: string) => scoped(logger, name)
  }
}

function scoped (logger: Logger, name: string): Libp2pLogger {
  const enabled = logger.isLevelEnabled('trace')
  const write = (kind: string, formatter: unknown, args: unknown[]): void => {
    if (!enabled) return
    logger.trace({ component: name, kind, args: args.map(a => String(a)) }, String(formatter))
  }
  const log = ((formatter: unknown, ...args: unknown[]) => { write('log', formatter, args) }) as Libp2pLogger
  log.error = (formatter: unknown, ...args: unknown[]) => { write('error', formatter, args) }
  log.trace = (formatter: unknown, ...args: unknown[]) => { write('trace', formatter, args) }
  log.enabled = enabled
  log.newScope = (scope: string) => scoped(logger, `${name}:${scope}`)
  return log
}
