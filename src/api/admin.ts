import { jwtVerify, errors as joseErrors } from 'jose'
import type { FastifyRequest } from 'fastify'
import { HttpError } from './errors.js'

/**
 * Admin routes take `Authorization: Bearer <JWT>`, HS256 with the node's adminJwtSecret and a
 * `role: "admin"` claim. No or bad token: 401 (authenticate); valid token, other role: 403.
 */
export function adminGuard (secret: string | undefined): (req: FastifyRequest) => Promise<void> {
  const key = secret === undefined || secret === '' ? undefined : new TextEncoder().encode(secret)
  return async (req) => {
    if (key === undefined) throw new HttpError(403, 'ERR_ADMIN_DISABLED', 'admin API disabled: the node has no adminJwtSecret configured')
    const header = req.headers.authorization
    if (header === undefined) throw new HttpError(401, 'ERR_UNAUTHORIZED', 'missing Authorization: Bearer <token> header')
    const m = /^Bearer\s+(\S+)$/i.exec(header)
    if (m === null) throw new HttpError(401, 'ERR_UNAUTHORIZED', 'Authorization header must be "Bearer <token>"')
    let role: unknown
    try {
      const { payload } = await jwtVerify(m[1]!, key, { algorithms: ['HS256'] })
      role = payload.role
    } catch (err) {
      const why = err instanceof joseErrors.JWTExpired ? 'token expired' : 'invalid token'
      throw new HttpError(401, 'ERR_UNAUTHORIZED', why)
    }
    if (role !== 'admin') throw new HttpError(403, 'ERR_FORBIDDEN', `role ${JSON.stringify(role ?? null)} may not use the admin API; "admin" required`)
  }
}
