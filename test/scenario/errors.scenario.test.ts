/** Every refusal gets the right status and leaves the store exactly as it was. */
import { describe, expect, it } from 'vitest';
import type { HandleResult, SipRequest } from '../../core/contract.js';
import { TABLES } from '../../core/store/kv.js';
import { CoreHarness } from '../support/core-harness.js';
import { pidf, publish, subscribe } from '../support/sip-requests.js';

const ALICE = 'sip:alice@example.com';
const BOB = 'sip:bob@example.com';

function snapshot(h: CoreHarness): string {
  return JSON.stringify(TABLES.map((t) => [...h.kv.prefix(t, [])]));
}

function seeded(): CoreHarness {
  const h = new CoreHarness();
  h.send(publish({ aor: ALICE, body: pidf(ALICE, 'open') }));
  h.send(subscribe({ watcher: BOB, resource: ALICE, localTag: 'ok1', callId: 'okc' }));
  return h;
}

function refused(req: SipRequest, status: number, check?: (r: HandleResult, h: CoreHarness) => void): void {
  const h = seeded();
  const before = snapshot(h);
  const r = h.send(req);
  expect(r.reply?.status, JSON.stringify(r.reply)).toBe(status);
  expect(r.notifies).toHaveLength(0);
  expect(snapshot(h)).toBe(before);
  check?.(r, h);
}

describe('PUBLISH refusals (RFC 3903 §6)', () => {
  it('489 + Allow-Events for an unknown event package', () =>
    refused(publish({ aor: ALICE, body: pidf(ALICE, 'open'), event: 'dialog' }), 489, (r, h) => {
      expect(h.header(r, 'Allow-Events')).toBe('presence');
    }));
  it('489 for PUBLISH of a template package', () => refused(publish({ aor: ALICE, body: 'x', event: 'presence.winfo' }), 489));
  it('489 without Event header', () => {
    const req = { ...publish({ aor: ALICE, body: pidf(ALICE, 'open') }) } as Record<string, unknown>;
    delete req.event;
    refused(req as unknown as SipRequest, 489);
  });
  it('415 + Accept for another Content-Type', () =>
    refused(publish({ aor: ALICE, body: pidf(ALICE, 'open'), contentType: 'application/xpidf+xml' }), 415, (r, h) => {
      expect(h.header(r, 'Accept')).toBe('application/pidf+xml');
    }));
  it('accepts a Content-Type with parameters', () => {
    const h = new CoreHarness();
    expect(h.send(publish({ aor: ALICE, body: pidf(ALICE, 'open'), contentType: 'Application/PIDF+XML; charset=UTF-8' })).reply?.status).toBe(200);
  });
  it('400 for malformed XML', () => refused(publish({ aor: ALICE, body: '<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="x"><tuple>' }), 400));
  it('400 for well-formed XML that is not PIDF', () => refused(publish({ aor: ALICE, body: '<foo xmlns="urn:x"/>' }), 400));
  it('400 for a DOCTYPE (no entity expansion, ever)', () =>
    refused(
      publish({
        aor: ALICE,
        body: '<?xml version="1.0"?><!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b">&x;</presence>',
      }),
      400,
    ));
  it('413 for a body above the limit', () =>
    refused(publish({ aor: ALICE, body: pidf(ALICE, 'open', 'x'.repeat(70_000)) }), 413));
  it('400 for an initial PUBLISH without body', () => refused(publish({ aor: ALICE }), 400));
  it('412 for an unknown entity-tag', () => refused(publish({ aor: ALICE, etag: 'nope', expires: 60 }), 412));
  it('412 for an entity-tag of another resource', () => {
    const h = new CoreHarness();
    const p = h.send(publish({ aor: ALICE, body: pidf(ALICE, 'open') }));
    const etag = h.header(p, 'SIP-ETag') as string;
    expect(h.send(publish({ aor: BOB, etag })).reply?.status).toBe(412);
  });
  it('412 for an expired entity-tag, even before the sweeper ran', () => {
    const h = new CoreHarness();
    const p = h.send(publish({ aor: ALICE, body: pidf(ALICE, 'open'), expires: 60 }));
    h.now += 61_000;
    expect(h.send(publish({ aor: ALICE, etag: h.header(p, 'SIP-ETag') as string })).reply?.status).toBe(412);
  });
  it('423 + Min-Expires below the minimum', () =>
    refused(publish({ aor: ALICE, body: pidf(ALICE, 'open'), expires: 10 }), 423, (r, h) => {
      expect(h.header(r, 'Min-Expires')).toBe('60');
    }));
  it('400 for a non-numeric Expires', () => refused(publish({ aor: ALICE, body: pidf(ALICE, 'open'), expires: 'soon' }), 400));
  it('clamps Expires to the maximum', () => {
    const h = new CoreHarness();
    expect(h.header(h.send(publish({ aor: ALICE, body: pidf(ALICE, 'open'), expires: 99999 })), 'Expires')).toBe('7200');
  });
  it('403 beyond the per-resource publication limit', () => {
    const h = new CoreHarness({ limits: { maxPublicationsPerResource: 2 } });
    h.send(publish({ aor: ALICE, body: pidf(ALICE, 'open', undefined, 'a') }));
    h.send(publish({ aor: ALICE, body: pidf(ALICE, 'open', undefined, 'b') }));
    expect(h.send(publish({ aor: ALICE, body: pidf(ALICE, 'open', undefined, 'c') })).reply?.status).toBe(403);
  });
  it('400 for a Request-URI that is not a SIP URI', () => refused({ ...publish({ aor: ALICE, body: pidf(ALICE, 'open') }), requestUri: 'http://x' }, 400));
  it('405 + Allow for other methods', () =>
    refused({ ...publish({ aor: ALICE, body: pidf(ALICE, 'open') }), method: 'MESSAGE' }, 405, (r, h) => {
      expect(h.header(r, 'Allow')).toBe('PUBLISH, SUBSCRIBE');
    }));
  it('400 for an out-of-range CSeq or empty Call-ID', () => {
    refused({ ...publish({ aor: ALICE, body: pidf(ALICE, 'open') }), cseq: 2 ** 31 }, 400);
    refused({ ...publish({ aor: ALICE, body: pidf(ALICE, 'open') }), callId: '' }, 400);
  });
});

describe('SUBSCRIBE refusals (RFC 6665 §4.2.1)', () => {
  it('489 + Allow-Events for an unknown event package', () =>
    refused(subscribe({ watcher: BOB, resource: ALICE, event: 'conference' }), 489, (r, h) => {
      expect(h.header(r, 'Allow-Events')).toBe('presence, presence.winfo, xcap-diff');
    }));
  it('406 when Accept excludes PIDF', () => refused(subscribe({ watcher: BOB, resource: ALICE, accept: ['application/xpidf+xml'] }), 406));
  it('accepts Accept lists that include PIDF or wildcards', () => {
    const h = new CoreHarness();
    expect(h.send(subscribe({ watcher: BOB, resource: ALICE, accept: ['application/xpidf+xml, application/pidf+xml;q=0.5'] })).reply?.status).toBe(200);
    expect(h.send(subscribe({ watcher: 'sip:c@example.com', resource: ALICE, accept: ['application/*'] })).reply?.status).toBe(200);
  });
  it('481 for a refresh of an unknown dialog', () =>
    refused(subscribe({ watcher: BOB, resource: ALICE, inDialog: true, localTag: 'zzz', cseq: 2 }), 481));
  it('481 for a refresh with another event package in the dialog', () =>
    refused(subscribe({ watcher: BOB, resource: ALICE, inDialog: true, localTag: 'ok1', callId: 'okc', cseq: 2, event: 'presence.winfo' }), 481));
  it('500 for a refresh with a CSeq lower than the last one', () =>
    refused(subscribe({ watcher: BOB, resource: ALICE, inDialog: true, localTag: 'ok1', callId: 'okc', cseq: 0 }), 500));
  it('423 + Min-Expires below the minimum', () => refused(subscribe({ watcher: BOB, resource: ALICE, expires: 5 }), 423));
  it('400 without Contact', () => {
    const req = { ...subscribe({ watcher: BOB, resource: ALICE }) } as Record<string, unknown>;
    delete req.contact;
    refused(req as unknown as SipRequest, 400);
  });
  it('400 without From tag', () => refused({ ...subscribe({ watcher: BOB, resource: ALICE }), from: `<${BOB}>` }, 400));
  it('403 for watcher info of somebody else', () => refused(subscribe({ watcher: BOB, resource: ALICE, event: 'presence.winfo' }), 403));
  it('403 beyond the per-resource subscription limit', () => {
    const h = new CoreHarness({ limits: { maxSubscriptionsPerResource: 1 } });
    h.send(subscribe({ watcher: BOB, resource: ALICE }));
    expect(h.send(subscribe({ watcher: 'sip:c@example.com', resource: ALICE })).reply?.status).toBe(403);
  });
});
