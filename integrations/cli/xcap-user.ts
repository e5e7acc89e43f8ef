/**
 * Manage XCAP users (HTTP Digest credentials) in presenced's store. Works
 * while presenced runs (LMDB is multi-process safe).
 *
 *   node dist/integrations/cli/xcap-user.js add <username> <xui> --password <pw> [--realm presenced] [--data ./data]
 *   node dist/integrations/cli/xcap-user.js remove <username> [--data ./data]
 */
import { parseArgs } from 'node:util';
import type { XcapUserRecord } from '../../core/store/records.js';
import { aorOf } from '../../core/sip/uri.js';
import { ha1 } from '../xcap/digest-auth.js';
import { LmdbStore } from '../../workers/store/lmdb-store.js';

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { password: { type: 'string' }, realm: { type: 'string', default: 'presenced' }, data: { type: 'string', default: process.env.PRESENCED_DATA_DIR ?? './data' } },
  });
  const [cmd, username, xui] = positionals;
  const store = LmdbStore.open({ path: values.data as string });
  try {
    if (cmd === 'add' && username && xui && values.password) {
      const canonical = aorOf(xui);
      if (canonical === undefined) throw new Error(`${xui} is not a SIP URI`);
      const realm = values.realm as string;
      const rec: XcapUserRecord = {
        xui: canonical,
        realm,
        ha1Md5: ha1('MD5', username, realm, values.password),
        ha1Sha256: ha1('SHA-256', username, realm, values.password),
      };
      await store.commit([{ table: 'xcapUsers', key: [username], value: rec }]);
      process.stdout.write(`added ${username} → ${canonical} (realm ${realm})\n`);
    } else if (cmd === 'remove' && username) {
      await store.commit([{ table: 'xcapUsers', key: [username], value: undefined }]);
      process.stdout.write(`removed ${username}\n`);
    } else {
      process.stderr.write('usage: xcap-user add <username> <xui> --password <pw> [--realm presenced] [--data ./data] | remove <username>\n');
      process.exitCode = 2;
    }
  } finally {
    await store.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`xcap-user: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
