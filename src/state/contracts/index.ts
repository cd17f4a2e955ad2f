import * as bank from './bank.js'
import * as kv from './kv.js'
import * as lock from './lock.js'
import type { AtomicExecArgs } from './schemas.js'
import { TxFailure, type CallEnv, type Handler } from './types.js'

/** contract -> method -> handler; mirrors METHODS in schemas.ts (a test checks they match). */
export const HANDLERS: Readonly<Record<string, Readonly<Record<string, Handler>>>> = {
  bank: { transfer: bank.transfer as Handler },
  kv: { set: kv.set as Handler, delete: kv.del as Handler },
  lock: { acquire: lock.acquire as Handler, renew: lock.renew as Handler, release: lock.release as Handler },
  atomic: { exec: exec as Handler }
}

/** Runs one already schema-checked call. */
export async function dispatch (env: CallEnv, contract: string, method: string, args: unknown): Promise<unknown> {
  const h = Object.hasOwn(HANDLERS, contract) && Object.hasOwn(HANDLERS[contract]!, method) ? HANDLERS[contract]![method] : undefined
  if (h === undefined) throw new TxFailure('ERR_UNKNOWN_METHOD', `no handler for ${contract}.${method}`)
  return await h(env, args as never)
}

/**
 * All calls or none: they run in order on the transaction's overlay, and the executor drops
 * that overlay when any call fails. The failure names the call's index (details.failedCall).
 */
async function exec (env: CallEnv, args: AtomicExecArgs): Promise<unknown> {
  const results: unknown[] = []
  for (let i = 0; i < args.calls.length; i++) {
    const c = args.calls[i]!
    try {
      results.push(await dispatch(env, c.contract, c.method, c.args))
    } catch (err) {
      if (!(err instanceof TxFailure)) throw err
      throw new TxFailure(err.code, `atomic call ${i} (${c.contract}.${c.method}) failed: ${err.message}`, { failedCall: i })
    }
  }
  return { results }
}
