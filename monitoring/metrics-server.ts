/**
 * Serves the Prometheus text exposition on its own HTTP port at /metrics
 * (a separate port from any traffic, so scraping can be firewalled apart).
 */
import { createServer, type Server } from 'node:http';
import type { PresenceMetrics } from './presence-metrics.js';

export class MetricsServer {
  private server: Server | undefined;

  constructor(private readonly metrics: PresenceMetrics) {}

  listen(port: number, host: string): Promise<number> {
    const server = createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(req.url === '/metrics' ? 405 : 404, { 'content-type': 'text/plain' }).end();
        return;
      }
      this.metrics
        .metrics()
        .then((text) => res.writeHead(200, { 'content-type': this.metrics.contentType }).end(text))
        .catch((err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err)));
    });
    server.keepAliveTimeout = 65_000;
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        const a = server.address();
        resolve(typeof a === 'object' && a !== null ? a.port : port);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
