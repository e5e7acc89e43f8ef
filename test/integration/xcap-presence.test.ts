/**
 * XDMS + Presence Server together over real HTTP: pres-rules written with
 * XCAP (HTTP Digest) decide what watchers get, and a change applies at once
 * to existing subscriptions (RFC 5025 §3.1).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Notify } from '../../core/contract.js';
import { XcapServer } from '../../integrations/xcap/xcap-server.js';
import { ha1 } from '../../integrations/xcap/digest-auth.js';
import type { PresenceService } from '../../workers/presence-service.js';
import { pidf, publish, subscribe } from '../support/sip-requests.js';
import { startService } from '../support/service-harness.js';
import { XcapClient } from '../support/xcap-client.js';

const ALICE = 'sip:alice@example.com';
const BOB = 'sip:bob@example.com';
const rules = (handling: string, who: string): string => `<?xml version="1.0" encoding="UTF-8"?>
<cr:ruleset xmlns="urn:ietf:params:xml:ns:pres-rules" xmlns:cr="urn:ietf:params:xml:ns:common-policy">
  <cr:rule id="r1">
    <cr:conditions><cr:identity><cr:one id="${who}"/></cr:identity></cr:conditions>
    <cr:actions><sub-handling>${handling}</sub-handling></cr:actions>
    <cr:transformations><provide-services><all-services/></provide-services><provide-persons><all-persons/></provide-persons><provide-devices><all-devices/></provide-devices><provide-all-attributes/></cr:transformations>
  </cr:rule>
</cr:ruleset>`;

describe('pres-rules over XCAP drive presence authorization', () => {
  let service: PresenceService;
  let cleanup: () => Promise<void>;
  let pushed: Notify[];
  let xcap: XcapServer;
  let alice: XcapClient;
  let port: number;
  const docPath = `/xcap-root/pres-rules/users/${encodeURIComponent(ALICE)}/index`;

  beforeAll(async () => {
    const s = await startService({ config: { defaultSubHandling: 'confirm' } });
    service = s.service;
    pushed = s.pushed;
    cleanup = s.cleanup;
    await service.putXcapUser('alice', { xui: ALICE, realm: 'presenced', ha1Md5: ha1('MD5', 'alice', 'presenced', 'secret'), ha1Sha256: ha1('SHA-256', 'alice', 'presenced', 'secret') });
    await service.putXcapUser('bob', { xui: BOB, realm: 'presenced', ha1Md5: ha1('MD5', 'bob', 'presenced', 'pw'), ha1Sha256: ha1('SHA-256', 'bob', 'presenced', 'pw') });
    xcap = new XcapServer({ engine: service, users: (u) => service.xcapUser(u), rootPath: '/xcap-root', realm: 'presenced', bodyLimit: 65536 });
    port = await xcap.listen(0, '127.0.0.1');
    alice = new XcapClient(`http://127.0.0.1:${port}`, 'alice', 'secret');
  });
  afterAll(async () => {
    await xcap?.close();
    await cleanup?.();
  });

  it('refuses without credentials and with wrong ones', async () => {
    const anon = await fetch(`http://127.0.0.1:${port}${docPath}`);
    expect(anon.status).toBe(401);
    expect(anon.headers.get('www-authenticate')).toContain('Digest');
    const wrong = await new XcapClient(`http://127.0.0.1:${port}`, 'alice', 'nope').request('GET', docPath);
    expect(wrong.status).toBe(401);
    const bob = await new XcapClient(`http://127.0.0.1:${port}`, 'bob', 'pw').request('GET', docPath);
    expect(bob.status).toBe(403);
  });

  it('a pending watcher becomes active when the owner allows it, and is cut off when blocked', async () => {
    await service.handle(publish({ aor: ALICE, body: pidf(ALICE, 'open', 'at my desk') }));
    // The edge authenticated Bob (identity rules only match authenticated watchers, RFC 4745 §7.1).
    const sub = await service.handle(subscribe({ watcher: BOB, resource: ALICE, localTag: 'px1', callId: 'xcap-bob', identity: `<${BOB}>` }));
    expect(sub.reply?.status).toBe(200);
    expect(sub.notifies[0]?.subscriptionState).toMatch(/^pending/);
    expect(sub.notifies[0]?.body).toBeUndefined();

    pushed.length = 0;
    const put = await alice.request('PUT', docPath, { body: rules('allow', BOB), contentType: 'application/auth-policy+xml' });
    expect(put.status).toBe(201);
    const etag = put.headers.get('etag');
    expect(etag).toMatch(/^".+"$/);
    const toBob = pushed.filter((n) => n.subscriptionId && n.event === 'presence');
    expect(toBob).toHaveLength(1);
    expect(toBob[0]?.subscriptionState).toMatch(/^active/);
    expect(toBob[0]?.body?.text).toContain('at my desk');

    const get = await alice.request('GET', docPath);
    expect(get.status).toBe(200);
    expect(get.headers.get('etag')).toBe(etag);
    expect(get.headers.get('content-type')).toBe('application/auth-policy+xml');
    const notModified = await alice.request('GET', docPath, { headers: { 'If-None-Match': etag as string } });
    expect(notModified.status).toBe(304);

    pushed.length = 0;
    const stale = await alice.request('PUT', docPath, { body: rules('block', BOB), contentType: 'application/auth-policy+xml', headers: { 'If-Match': '"not-the-etag"' } });
    expect(stale.status).toBe(412);
    expect(pushed).toHaveLength(0);
    const block = await alice.request('PUT', docPath, { body: rules('block', BOB), contentType: 'application/auth-policy+xml', headers: { 'If-Match': etag as string } });
    expect(block.status).toBe(200);
    const end = pushed.filter((n) => n.event === 'presence');
    expect(end).toHaveLength(1);
    expect(end[0]?.subscriptionState).toBe('terminated;reason=rejected');
    expect(end[0]?.body).toBeUndefined();
  });

  it('answers XCAP conflicts with an xcap-error body and changes nothing', async () => {
    const before = await alice.request('GET', docPath);
    const bad = await alice.request('PUT', docPath, { body: '<cr:ruleset xmlns:cr="urn:ietf:params:xml:ns:common-policy"><oops', contentType: 'application/auth-policy+xml' });
    expect(bad.status).toBe(409);
    expect(bad.headers.get('content-type')).toBe('application/xcap-error+xml');
    expect(bad.body).toContain('not-well-formed');
    const xxe = await alice.request('PUT', docPath, {
      body: '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><cr:ruleset xmlns:cr="urn:ietf:params:xml:ns:common-policy">&x;</cr:ruleset>',
      contentType: 'application/auth-policy+xml',
    });
    expect(xxe.status).toBe(409);
    const latin1 = await alice.request('PUT', docPath, { body: Buffer.from([0x3c, 0x61, 0xe9, 0x2f, 0x3e]), contentType: 'application/auth-policy+xml' });
    expect(latin1.status).toBe(409);
    expect(latin1.body).toContain('not-utf-8');
    const after = await alice.request('GET', docPath);
    expect(after.body).toBe(before.body);
    expect(after.headers.get('etag')).toBe(before.headers.get('etag'));
  });

  it('serves xcap-caps and the user directory', async () => {
    const caps = await alice.request('GET', '/xcap-root/xcap-caps/global/index');
    expect(caps.status).toBe(200);
    expect(caps.body).toContain('pres-rules');
    const dir = await alice.request('GET', `/xcap-root/org.openmobilealliance.xcap-directory/users/${encodeURIComponent(ALICE)}/directory.xml`);
    expect(dir.status).toBe(200);
    expect(dir.body).toContain('pres-rules');
    const put = await alice.request('PUT', '/xcap-root/xcap-caps/global/index', { body: '<x/>', contentType: 'application/xcap-caps+xml' });
    expect(put.status).toBe(405);
  });
});
