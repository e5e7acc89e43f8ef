/**
 * presenced: the Presence Server process. Starts the worker pool on the
 * embedded LMDB store and the JSON-RPC server Kamailio forwards presence
 * traffic to. Stops cleanly on SIGINT/SIGTERM (in-flight work finishes,
 * the store is closed).
 *
 *   node dist/integrations/cli/main.js [--config presenced.json]
 */
import { parseArgs } from 'node:util';
import { KamailioJsonRpcServer } from '../kamailio/jsonrpc-server.js';
import { PresenceService } from '../../workers/presence-service.js';
import { loadSettings, serviceOptions } from './settings.js';

function log(msg: string): void {
  process.stdout.write(`${new Date().toISOString()} presenced ${msg}\n`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: 'string' }, help: { type: 'boolean' } } });
  if (values.help) {
    process.stdout.write('usage: presenced [--config presenced.json]\nEnvironment: PRESENCED_DATA_DIR, PRESENCED_RPC_HOST, PRESENCED_RPC_PORT, PRESENCED_THREADS, PRESENCED_CONTACT, PRESENCED_NODE_ID, PRESENCED_DURABILITY, PRESENCED_MAP_SIZE_MB\n');
    return;
  }
  const loaded = loadSettings(values.config, process.env);
  if (!loaded.ok) {
    process.stderr.write(`presenced: invalid settings:\n  ${loaded.problems.join('\n  ')}\n`);
    process.exit(2);
  }
  const { settings, presence } = loaded;
  const service = await PresenceService.start(serviceOptions(settings, presence));
  service.onError = (code, detail) => log(`error ${code}: ${detail ?? ''}`);
  const rpc = new KamailioJsonRpcServer({ engine: service });
  const port = await rpc.listen(settings.rpc.port, settings.rpc.host);
  log(`ready: store ${settings.dataDir}, ${settings.pool.threads} worker threads, JSON-RPC on ${settings.rpc.host}:${port}`);

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping`);
    await rpc.close();
    await service.close();
    log('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(`presenced: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
