/**
 * Validation of the request fields every handler needs
 * (core/server/request-fields.ts): each protocol rule maps to one error.
 */
import { testConfig } from '../../../support/core-harness.js';
import { describe, expect, it } from 'vitest';
import type { SipRequest } from '../../../../core/contract.js';
import type { ExpiresPolicy } from '../../../../core/config.js';
import type { Result } from '../../../../core/errors.js';
import { PackageRegistry } from '../../../../core/packages/package-registry.js';
import { defaultPackages } from '../../../../core/server/presence-server.js';
import { grantExpires, requireEvent, requireFrom, requireResource, toTagOf, watcherIdentity, type Party } from '../../../../core/server/request-fields.js';
import { subscribe } from '../../../support/sip-requests.js';

const ALICE = 'sip:alice@example.com';
const BOB = 'sip:bob@example.com';
const packages = new PackageRegistry(defaultPackages(testConfig()));
const ALL = packages.names();
const PUBLISHABLE = packages.publishable();

const req = (o: Partial<SipRequest> = {}): SipRequest => ({ ...subscribe({ watcher: BOB, resource: ALICE }), ...o });

function error<T>(r: Result<T>): { code: string; headers?: readonly { name: string; value: string }[] } {
  if (r.ok) throw new Error(`expected an error, got ${JSON.stringify(r.value)}`);
  return r.error;
}

describe('requireEvent', () => {
  it('selects the package and the id parameter', () => {
    const r = requireEvent(req({ event: 'presence' }), packages, ALL);
    expect(r.ok && r.value.pkg.name).toBe('presence');
    expect(r.ok && 'id' in r.value).toBe(false);
    const withId = requireEvent(req({ event: 'presence;id=42' }), packages, ALL);
    expect(withId.ok && withId.value).toMatchObject({ id: '42' });
    expect(withId.ok && withId.value.pkg.name).toBe('presence');
    const winfo = requireEvent(req({ event: 'presence.winfo' }), packages, ALL);
    expect(winfo.ok && winfo.value.pkg.kind).toBe('watcherinfo');
  });

  it.each([undefined, '', '   '])('answers a missing Event (%j) with 489 and Allow-Events', (event) => {
    const { event: _present, ...noEvent } = req();
    const r = requireEvent(event === undefined ? noEvent : { ...noEvent, event }, packages, ALL);
    const e = error(r);
    expect(e.code).toBe('bad-event');
    expect(e.headers).toEqual([{ name: 'Allow-Events', value: 'presence, presence.winfo, xcap-diff' }]);
  });

  it('answers an unknown package with 489 and Allow-Events', () => {
    const e = error(requireEvent(req({ event: 'message-summary' }), packages, ALL));
    expect(e.code).toBe('bad-event');
    expect(e.headers).toEqual([{ name: 'Allow-Events', value: 'presence, presence.winfo, xcap-diff' }]);
  });

  it('answers a known package that is not allowed for the method with 489 listing only the allowed ones', () => {
    const e = error(requireEvent(req({ method: 'PUBLISH', event: 'presence.winfo' }), packages, PUBLISHABLE));
    expect(e.code).toBe('bad-event');
    expect(e.headers).toEqual([{ name: 'Allow-Events', value: 'presence' }]);
  });

  it.each(['presence;id=1;id=2', '.presence', 'presence..winfo', 'presence;id', '@presence'])('refuses the malformed Event %j as invalid-header', (event) => {
    expect(error(requireEvent(req({ event }), packages, ALL)).code).toBe('invalid-header');
  });
});

describe('requireResource', () => {
  it('gives the AOR of the Request-URI', () => {
    expect(requireResource(req({ requestUri: 'sip:alice@EXAMPLE.com:5060;transport=tcp' }), 8192)).toEqual({ ok: true, value: ALICE });
  });

  it('refuses a Request-URI that is not a SIP URI or is too long', () => {
    expect(error(requireResource(req({ requestUri: 'http://example.com/alice' }), 8192)).code).toBe('invalid-header');
    expect(error(requireResource(req({ requestUri: `sip:${'a'.repeat(100)}@example.com` }), 64)).code).toBe('invalid-header');
  });
});

describe('grantExpires', () => {
  const POLICY: ExpiresPolicy = { default: 3600, min: 60, max: 7200 };

  it.each<[string | undefined, number]>([
    [undefined, 3600],
    ['0', 0],
    ['60', 60],
    ['61', 61],
    ['3600', 3600],
    ['7200', 7200],
    ['7201', 7200],
    ['86400', 7200],
    ['4294967296', 7200],
    [' 600 ', 600],
    ['0600', 600],
  ])('Expires %j → %d', (raw, granted) => {
    expect(grantExpires(raw, POLICY)).toEqual({ ok: true, value: granted });
  });

  it.each(['1', '59'])('Expires %s is below the minimum: 423 with Min-Expires', (raw) => {
    expect(grantExpires(raw, POLICY)).toEqual({
      ok: false,
      error: { code: 'interval-too-brief', detail: 'minimum is 60s', headers: [{ name: 'Min-Expires', value: '60' }] },
    });
  });

  it.each(['', 'soon', '-1', '3.5', '1e3', '+60', '60 s', '0x10'])('Expires %j is not delta-seconds: invalid-header', (raw) => {
    expect(error(grantExpires(raw, POLICY)).code).toBe('invalid-header');
  });

  it('uses the policy it is given', () => {
    const winfo: ExpiresPolicy = { default: 600, min: 300, max: 900 };
    expect(grantExpires(undefined, winfo)).toEqual({ ok: true, value: 600 });
    expect(error(grantExpires('299', winfo)).headers).toEqual([{ name: 'Min-Expires', value: '300' }]);
    expect(grantExpires('1000', winfo)).toEqual({ ok: true, value: 900 });
  });
});

describe('requireFrom', () => {
  it('gives the AOR, display name and tag', () => {
    expect(requireFrom(req({ from: '"Bob Jones" <sip:bob@Example.COM;transport=udp>;tag=a73kszlfl' }), 8192)).toEqual({
      ok: true,
      value: { aor: BOB, displayName: 'Bob Jones', tag: 'a73kszlfl' },
    });
    expect(requireFrom(req({ from: 'sip:bob@example.com;tag=88sja8x' }), 8192)).toEqual({ ok: true, value: { aor: BOB, tag: '88sja8x' } });
  });

  it('drops an empty display name', () => {
    const r = requireFrom(req({ from: '"" <sip:bob@example.com>;tag=1928301774' }), 8192);
    expect(r.ok && 'displayName' in r.value).toBe(false);
  });

  it.each([
    ['without tag', '<sip:bob@example.com>'],
    ['with an empty tag', '<sip:bob@example.com>;tag='],
    ['with a valueless tag', '<sip:bob@example.com>;tag'],
    ['with the tag inside the URI only', '<sip:bob@example.com;tag=abc>'],
  ])('refuses a From %s', (_name, from) => {
    expect(error(requireFrom(req({ from }), 8192)).code).toBe('invalid-header');
  });

  it.each([
    ['malformed', '<sip:bob@example.com;tag=1'],
    ['not a SIP URI', '<http://example.com/bob>;tag=1'],
    ['empty', ''],
  ])('refuses a %s From', (_name, from) => {
    expect(error(requireFrom(req({ from }), 8192)).code).toBe('invalid-header');
  });

  it('refuses a From longer than the limit', () => {
    const from = `<sip:bob@example.com>;tag=${'x'.repeat(100)}`;
    expect(error(requireFrom(req({ from }), 64)).code).toBe('invalid-header');
    expect(requireFrom(req({ from }), from.length).ok).toBe(true);
  });
});

describe('watcherIdentity', () => {
  const from: Party = { aor: BOB, displayName: 'Bob', tag: 'wf1' };

  it('prefers the asserted identity, as name-addr or bare URI', () => {
    expect(watcherIdentity(req({ identity: '"Robert" <sip:robert@example.com>' }), from)).toEqual({ aor: 'sip:robert@example.com', authenticated: true });
    expect(watcherIdentity(req({ identity: 'sip:robert@EXAMPLE.com' }), from)).toEqual({ aor: 'sip:robert@example.com', authenticated: true });
    expect(watcherIdentity(req({ identity: '<tel:+15551234567>' }), from)).toEqual({ aor: 'tel:+15551234567', authenticated: true });
  });

  it('falls back to the From AOR, unauthenticated, without or with an unusable identity', () => {
    expect(watcherIdentity(req({}), from)).toEqual({ aor: BOB, authenticated: false });
    expect(watcherIdentity(req({ identity: 'not a uri' }), from)).toEqual({ aor: BOB, authenticated: false });
    expect(watcherIdentity(req({ identity: '' }), from)).toEqual({ aor: BOB, authenticated: false });
  });
});

describe('toTagOf', () => {
  it('gives the To tag of an in-dialog request and undefined otherwise', () => {
    expect(toTagOf(req({ to: `<${ALICE}>;tag=ps-8f2a` }))).toBe('ps-8f2a');
    expect(toTagOf(req({ to: `<${ALICE}>` }))).toBeUndefined();
    expect(toTagOf(req({ to: `<${ALICE}>;tag=` }))).toBeUndefined();
    expect(toTagOf(req({ to: `<${ALICE}>;tag` }))).toBeUndefined();
  });
});
