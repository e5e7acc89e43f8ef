/**
 * The README's run command: `npm start` = `node dist/integrations/cli/main.js
 * --local-kamailio` brings up presenced plus a local Kamailio with the example
 * config, and a SIP client can SUBSCRIBE and PUBLISH right away. Here on
 * per-test ports (the same settings as environment variables), with NOTIFYs
 * going to Kamailio over TCP (the default) although Kamailio starts after
 * presenced; SIGTERM then stops both (Kamailio by PID).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kamailioBinary } from '../../integrations/kamailio/kamailio-process.js';
import { ensureDist, repo } from '../bench/bench-run.js';
import { freePort } from '../support/free-port.js';
import { header, UdpSipUa } from '../support/udp-sip-ua.js';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe.skipIf(kamailioBinary() === null)('npm start: presenced + local Kamailio, ready for a SIP client', () => {
  const dir = mkdtempSync(join(tmpdir(), 'presenced-start-'));
  let child: ChildProcess | undefined;
  let out = '';
  let proxyPort = 0;
  let kamailioPid = 0;
  let ua: UdpSipUa | undefined;

  beforeAll(async () => {
    ensureDist(join('integrations', 'cli', 'main.js'), ['core', 'workers', 'integrations', 'monitoring']);
    proxyPort = await freePort();
    const env = {
      ...process.env,
      PRESENCED_DATA_DIR: join(dir, 'data'),
      PRESENCED_PROXY_PORT: String(proxyPort),
      PRESENCED_RPC_PORT: String(await freePort()),
      PRESENCED_SIP_PORT: String(await freePort()),
      PRESENCED_METRICS_PORT: '0',
      PRESENCED_XCAP_PORT: '0',
      PRESENCED_THREADS: '1',
      PRESENCED_DEFAULT_SUB_HANDLING: 'allow',
      PRESENCED_CONTACT: `<sip:presence@127.0.0.1:${proxyPort}>`,
    };
    delete (env as Record<string, string | undefined>)['PRESENCED_DELIVERY_TRANSPORT'];
    child = spawn(process.execPath, [join(repo, 'dist', 'integrations', 'cli', 'main.js'), '--local-kamailio'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (out += d));
    const deadline = Date.now() + 30_000;
    while (!/local Kamailio (\d+) listening/.test(out)) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`presenced did not come up:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    kamailioPid = Number(/local Kamailio (\d+) listening/.exec(out)?.[1]);
    ua = new UdpSipUa(proxyPort);
    await ua.start();
  }, 60_000);

  afterAll(async () => {
    ua?.close();
    if (child && child.exitCode === null) child.kill('SIGKILL');
    if (kamailioPid > 0 && alive(kamailioPid)) process.kill(-kamailioPid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('SUBSCRIBE → 200 + NOTIFY; PUBLISH → 200 and the watcher is notified; SIGTERM stops presenced and Kamailio', async () => {
    const u = ua as UdpSipUa;
    expect(out).toContain('NOTIFYs via SIP');
    // the link to Kamailio (TCP by default) comes up by itself after Kamailio starts: retry the SUBSCRIBE until presenced answers
    let ok;
    for (let attempt = 0; attempt < 20 && ok === undefined; attempt++) {
      const mark = u.received.length;
      u.send(
        `SUBSCRIBE sip:alice@127.0.0.1:${proxyPort} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${u.port};branch=z9hG4bK-st${attempt};rport\r\n` +
          `From: <sip:bob@127.0.0.1>;tag=bob${attempt}\r\nTo: <sip:alice@127.0.0.1>\r\nCall-ID: start-${attempt}\r\nCSeq: 1 SUBSCRIBE\r\n` +
          `Contact: <sip:bob@127.0.0.1:${u.port}>\r\nMax-Forwards: 70\r\nEvent: presence\r\nExpires: 300\r\nContent-Length: 0\r\n\r\n`,
      );
      const final = await u.waitFor((m) => m.startLine.startsWith('SIP/2.0 ') && !m.startLine.startsWith('SIP/2.0 1') && header(m, 'call-id') === `start-${attempt}`, 5000, mark);
      if (final.startLine.startsWith('SIP/2.0 200')) ok = final;
      else await new Promise((r) => setTimeout(r, 500));
    }
    expect(ok, out).toBeDefined();
    const cid = header(ok!, 'call-id') as string;
    const first = await u.waitFor((m) => m.startLine.startsWith('NOTIFY') && header(m, 'call-id') === cid);
    expect(header(first, 'subscription-state')).toMatch(/^active/);
    const body = `<?xml version="1.0"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@127.0.0.1"><tuple id="t1"><status><basic>open</basic></status><note>npm start</note></tuple></presence>`;
    u.send(
      `PUBLISH sip:alice@127.0.0.1:${proxyPort} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${u.port};branch=z9hG4bK-stp;rport\r\n` +
        `From: <sip:alice@127.0.0.1>;tag=al\r\nTo: <sip:alice@127.0.0.1>\r\nCall-ID: start-pub\r\nCSeq: 1 PUBLISH\r\nMax-Forwards: 70\r\n` +
        `Event: presence\r\nExpires: 300\r\nContent-Type: application/pidf+xml\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    const pubOk = await u.waitFor((m) => m.startLine.startsWith('SIP/2.0 200') && header(m, 'call-id') === 'start-pub');
    expect(header(pubOk, 'sip-etag')).toBeTruthy();
    const notify = await u.waitFor((m) => m.startLine.startsWith('NOTIFY') && header(m, 'call-id') === cid && m.body.includes('npm start'));
    expect(notify.body).toContain('<basic>open</basic>');

    const exited = new Promise<number | null>((r) => child?.once('exit', (code) => r(code)));
    child?.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(out).toContain('stopped');
    expect(alive(kamailioPid)).toBe(false);
  }, 60_000);
});
