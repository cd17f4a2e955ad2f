import { pino, type Logger } from 'pino'

export type { Logger }

/**
 * Structured JSON logs. Library code takes a Logger from its caller; this is the root one.
 * LOG_LEVEL overrides the level (e.g. `silent` in tests).
 */
export function createLogger (name: string, level?: string): Logger {
  return pino({ name, level: level ?? process.env.LOG_LEVEL ?? 'info', base: { name } })
}

/** A logger that drops everything, for tests and the simulator. */
export const silentLogger: Logger = pino({ level: 'silent' })
