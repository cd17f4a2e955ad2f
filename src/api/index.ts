export { createApiServer, DEFAULT_RATE_LIMIT, type ApiServer, type ApiServerOptions, type RateLimit } from './server.js'
export { statusFor, HttpError, type ApiErrorBody } from './errors.js'
export type { AccountView } from './accounts.js'
