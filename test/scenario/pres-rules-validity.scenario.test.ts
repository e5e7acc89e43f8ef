/**
 * Time-limited permissions (RFC 4745 §7.3 `<validity>`) take effect when the
 * window opens and ends when it closes, without any request from anyone.
 */
import { describe, expect, it } from 'vitest';
import { CoreHarness } from '../support/core-harness.js';
import { publish, pidf, subscribe } from '../support/sip-requests.js';

const ALICE = 'sip:alice@example.com';
const BOB = 'sip:bob@example.com';

function rules(from: number, until: number): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<cr:ruleset xmlns="urn:ietf:params:xml:ns:pres-rules" xmlns:cr="urn:ietf:params:xml:ns:common-policy">
  <cr:rule id="office-hours">
    <cr:conditions>
      <cr:identity><cr:one id="${BOB}"/></cr:identity>
      <cr:validity><cr:from>${new Date(from).toISOString()}</cr:from><cr:until>${new Date(until).toISOString()}</cr:until></cr:validity>
    </cr:conditions>
    <cr:actions><sub-handling>allow</sub-handling></cr:actions>
    <cr:transformations><provide-services><all-services/></provide-services><provide-all-attributes/></cr:transformations>
  </cr:rule>
</cr:ruleset>`;
}

describe('pres-rules validity windows', () => {
  it('activates a pending watcher when the window opens and takes presence away when it closes', () => {
    const h = new CoreHarness({ defaultSubHandling: 'confirm' });
    h.send(publish({ aor: ALICE, body: pidf(ALICE, 'open', 'in the office') }));
    const start = h.now + 60_000;
    const end = h.now + 180_000;
    const put = h.server.xcap(
      { method: 'PUT', path: `pres-rules/users/${encodeURIComponent(ALICE)}/index`, user: ALICE, contentType: 'application/auth-policy+xml', body: rules(start, end) },
      h.kv,
      h.now,
    );
    expect(put.response.status).toBe(201);
    const sub = h.send(subscribe({ watcher: BOB, resource: ALICE, identity: `<${BOB}>`, expires: 3600 }));
    expect(sub.notifies[0]?.subscriptionState).toMatch(/^pending/);

    const opened = h.advance(61).filter((n) => n.event === 'presence');
    expect(opened).toHaveLength(1);
    expect(opened[0]?.subscriptionState).toMatch(/^active/);
    expect(opened[0]?.body?.text).toContain('open');

    const closed = h.advance(120).filter((n) => n.event === 'presence');
    expect(closed).toHaveLength(1);
    expect(closed[0]?.subscriptionState).toMatch(/^pending/);
    expect(closed[0]?.body).toBeUndefined();
  });
});
