import { Counter, Histogram, Registry } from 'prom-client'

/**
 * The API's own request metrics, in a registry per server (not prom-client's global one) so
 * several nodes in one process, as in tests and localnet, never collide on metric names.
 */
export class ApiMetrics {
  readonly registry = new Registry()
  private readonly requests: Counter<'route' | 'method' | 'status'>
  private readonly duration: Histogram<'route' | 'method'>

  constructor () {
    this.requests = new Counter({
      name: 'bft_api_http_requests_total',
      help: 'HTTP API requests by route, method and status',
      labelNames: ['route', 'method', 'status'],
      registers: [this.registry]
    })
    this.duration = new Histogram({
      name: 'bft_api_http_request_duration_seconds',
      help: 'HTTP API request duration by route',
      labelNames: ['route', 'method'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers: [this.registry]
    })
  }

  observe (route: string, method: string, status: number, seconds: number): void {
    this.requests.inc({ route, method, status: String(status) })
    this.duration.observe({ route, method }, seconds)
  }

  async text (): Promise<string> {
    return await this.registry.metrics()
  }
}
