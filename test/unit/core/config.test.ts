/**
 * Configuration (core/config.ts): defaults are valid, overrides merge into
 * them, every problem is reported at once, and per-package expiry overrides
 * take precedence over the package's own policy.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, expiresPolicy, resolveConfig, type DeepPartial, type ExpiresPolicy, type PresenceConfig } from '../../../core/config.js';

function problems(overrides: DeepPartial<PresenceConfig>): string[] {
  const r = resolveConfig(overrides);
  return r.ok ? [] : r.problems;
}

/** A value a JSON config file can hold but the types do not allow. */
const untyped = (v: unknown): never => v as never;

describe('resolveConfig defaults', () => {
  it('accepts no overrides and yields the defaults', () => {
    const r = resolveConfig();
    expect(r).toEqual({ ok: true, config: DEFAULT_CONFIG });
  });

  it('has operator-sane default values', () => {
    expect(DEFAULT_CONFIG.pendingStatus).toBe(200);
    expect(DEFAULT_CONFIG.notifyRetry.maxRetries).toBeGreaterThanOrEqual(1);
    expect(DEFAULT_CONFIG.notifyRetry.backoffSeconds.length).toBeGreaterThan(0);
    for (const v of Object.values(DEFAULT_CONFIG.limits)) expect(Number.isInteger(v) && v > 0).toBe(true);
  });

  it('merges nested overrides into the defaults, keeping the rest', () => {
    const r = resolveConfig({ nodeId: 'ps-fra-2', contact: '<sip:10.0.0.1:5060;transport=tcp>', limits: { maxBodyBytes: 131_072 }, notifyRetry: { maxRetries: 5 } });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.nodeId).toBe('ps-fra-2');
    expect(r.config.contact).toBe('<sip:10.0.0.1:5060;transport=tcp>');
    expect(r.config.limits).toEqual({ ...DEFAULT_CONFIG.limits, maxBodyBytes: 131_072 });
    expect(r.config.notifyRetry).toEqual({ maxRetries: 5, backoffSeconds: DEFAULT_CONFIG.notifyRetry.backoffSeconds });
    expect(r.config.pendingStatus).toBe(DEFAULT_CONFIG.pendingStatus);
  });

  it('does not modify DEFAULT_CONFIG', () => {
    const before = JSON.stringify(DEFAULT_CONFIG);
    resolveConfig({ limits: { maxRouteSet: 4 }, packageExpires: { presence: { subscribe: { default: 600, min: 60, max: 3600 } } } });
    expect(JSON.stringify(DEFAULT_CONFIG)).toBe(before);
  });
});

describe('resolveConfig validation', () => {
  it.each<[string, DeepPartial<PresenceConfig>, RegExp]>([
    ['nodeId with a space', { nodeId: 'node 1' }, /^nodeId /],
    ['nodeId with a dot (the etag separator)', { nodeId: 'ps.1' }, /^nodeId /],
    ['nodeId of 17 characters', { nodeId: 'a'.repeat(17) }, /^nodeId /],
    ['empty nodeId', { nodeId: '' }, /^nodeId /],
    ['contact that is an HTTP URI', { contact: 'http://ps.example.com' }, /^contact /],
    ['contact with white space', { contact: '<sip:ps.example.com; transport=tcp>' }, /^contact /],
    ['contact that is a tel URI', { contact: 'tel:+15551234567' }, /^contact /],
    ['negative maxRetries', { notifyRetry: { maxRetries: -1 } }, /^notifyRetry\.maxRetries /],
    ['fractional maxRetries', { notifyRetry: { maxRetries: 1.5 } }, /^notifyRetry\.maxRetries /],
    ['empty backoff list', { notifyRetry: { backoffSeconds: [] } }, /^notifyRetry\.backoffSeconds /],
    ['zero backoff', { notifyRetry: { backoffSeconds: [2, 0] } }, /^notifyRetry\.backoffSeconds /],
    ['NaN backoff', { notifyRetry: { backoffSeconds: [Number.NaN] } }, /^notifyRetry\.backoffSeconds /],
    ['zero body limit', { limits: { maxBodyBytes: 0 } }, /^limits\.maxBodyBytes /],
    ['fractional route set limit', { limits: { maxRouteSet: 2.5 } }, /^limits\.maxRouteSet /],
    ['string header limit', { limits: { maxHeaderLength: untyped('8192') } }, /^limits\.maxHeaderLength /],
    ['policy min 0', { packageExpires: { presence: { publish: { default: 60, min: 0, max: 3600 } } } }, /^packageExpires\.presence\.publish\.min /],
    ['policy max fractional', { packageExpires: { presence: { subscribe: { default: 60, min: 60, max: 3600.5 } } } }, /^packageExpires\.presence\.subscribe\.max /],
    ['policy default above max', { packageExpires: { presence: { subscribe: { default: 7200, min: 60, max: 3600 } } } }, /^packageExpires\.presence\.subscribe\.default /],
    ['policy default below min', { packageExpires: { 'presence.winfo': { subscribe: { default: 30, min: 60, max: 3600 } } } }, /^packageExpires\.presence\.winfo\.subscribe\.default /],
  ])('reports exactly one problem for %s', (_name, overrides, message) => {
    const p = problems(overrides);
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(message);
  });

  it.each<[string, DeepPartial<PresenceConfig>]>([
    ['nodeId of 16 characters', { nodeId: 'ABCDEFGHijkl-_09' }],
    ['sips contact without brackets', { contact: 'sips:ps.example.com' }],
    ['contact with parameters', { contact: '<sip:ps.example.com:5061;transport=tls>' }],
    ['zero retries', { notifyRetry: { maxRetries: 0 } }],
    ['fractional positive backoff', { notifyRetry: { backoffSeconds: [0.5, 5] } }],
    ['min = default = max', { packageExpires: { presence: { publish: { default: 600, min: 600, max: 600 } } } }],
    ['202 for pending subscriptions', { pendingStatus: 202 }],
  ])('accepts %s', (_name, overrides) => {
    expect(problems(overrides)).toEqual([]);
  });

  it('reports every problem at once', () => {
    const p = problems({
      nodeId: 'node #1',
      contact: 'mailto:ops@example.com',
      packageExpires: {
        presence: { publish: { default: 10, min: 0, max: -1 }, subscribe: { default: 60, min: 60, max: 3600 } },
        'presence.winfo': { subscribe: { default: 99_999, min: 60, max: 86_400 } },
      },
      notifyRetry: { maxRetries: -2, backoffSeconds: [] },
      limits: { maxBodyBytes: 0, maxXmlDepth: -4, maxSubscriptionsPerResource: 1.25 },
    });
    expect(p).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^nodeId /),
        expect.stringMatching(/^contact /),
        expect.stringMatching(/^packageExpires\.presence\.publish\.min /),
        expect.stringMatching(/^packageExpires\.presence\.publish\.max /),
        expect.stringMatching(/^packageExpires\.presence\.publish\.default /),
        expect.stringMatching(/^packageExpires\.presence\.winfo\.subscribe\.default /),
        expect.stringMatching(/^notifyRetry\.maxRetries /),
        expect.stringMatching(/^notifyRetry\.backoffSeconds /),
        expect.stringMatching(/^limits\.maxBodyBytes /),
        expect.stringMatching(/^limits\.maxXmlDepth /),
        expect.stringMatching(/^limits\.maxSubscriptionsPerResource /),
      ]),
    );
    expect(p).toHaveLength(11);
  });

  it('reports a policy whose max is below its min (its default cannot fit either)', () => {
    const p = problems({ packageExpires: { presence: { subscribe: { default: 60, min: 60, max: 30 } } } });
    expect(p).toEqual([expect.stringMatching(/^packageExpires\.presence\.subscribe\.max /), expect.stringMatching(/^packageExpires\.presence\.subscribe\.default /)]);
  });

  it('reports a partial expiry policy (possible in a JSON file) instead of using it', () => {
    const p = problems({ packageExpires: { presence: { subscribe: untyped({ min: 120 }) } } });
    expect(p.length).toBeGreaterThan(0);
    expect(p.every((m) => m.startsWith('packageExpires.presence.subscribe.'))).toBe(true);
  });

  // Regression (was a bug found by the unit tests): resolveConfig is fed the "presence" section of the operator's JSON
  // file (integrations/cli/settings.ts) and promises to report every problem;
  // a backoffSeconds that is not a list (`"backoffSeconds": 10`) makes it throw
  // `TypeError: ...some is not a function` instead, so the CLI reports
  // nothing useful and no other problem is listed.
  it('reports a backoffSeconds that is not a list instead of throwing', () => {
    const r = resolveConfig({ notifyRetry: { backoffSeconds: untyped(10) } });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems).toEqual([expect.stringMatching(/^notifyRetry\.backoffSeconds /)]);
  });

  // Regression (was a bug found by the unit tests): the contact check /^<?sips?:[^\s]+>?$/ makes each angle bracket
  // optional on its own, so "<sip:ps.example.com" (a typo) is accepted and
  // then sent verbatim as the Contact of every 2xx and NOTIFY, where it is
  // not a valid name-addr.
  it('refuses a contact with unbalanced angle brackets', () => {
    expect(problems({ contact: '<sip:ps.example.com' })).toEqual([expect.stringMatching(/^contact /)]);
    expect(problems({ contact: 'sip:ps.example.com>' })).toEqual([expect.stringMatching(/^contact /)]);
  });

  // Regression (was a bug found by the unit tests): same source (JSON file): `"packageExpires": { "presence": null }`
  // throws `TypeError: Cannot read properties of null (reading 'publish')`
  // instead of being reported as a problem.
  it('reports a packageExpires entry that is null instead of throwing', () => {
    const r = resolveConfig({ packageExpires: { presence: untyped(null) } });
    expect(r.ok).toBe(false);
  });
});

describe('expiresPolicy', () => {
  const PACKAGE: ExpiresPolicy = { default: 3600, min: 60, max: 7200 };

  function config(packageExpires: NonNullable<DeepPartial<PresenceConfig>['packageExpires']>): PresenceConfig {
    const r = resolveConfig({ packageExpires });
    if (!r.ok) throw new Error(r.problems.join('; '));
    return r.config;
  }

  it('is the package default without override', () => {
    expect(expiresPolicy(config({}), 'presence', 'subscribe', PACKAGE)).toBe(PACKAGE);
    expect(expiresPolicy(config({}), 'presence', 'publish', PACKAGE)).toBe(PACKAGE);
  });

  it('prefers the operator override of that package and kind', () => {
    const sub: ExpiresPolicy = { default: 600, min: 30, max: 1800 };
    const pub: ExpiresPolicy = { default: 900, min: 120, max: 900 };
    const c = config({ presence: { subscribe: sub, publish: pub } });
    expect(expiresPolicy(c, 'presence', 'subscribe', PACKAGE)).toEqual(sub);
    expect(expiresPolicy(c, 'presence', 'publish', PACKAGE)).toEqual(pub);
  });

  it('falls back to the package default for the kind without override', () => {
    const sub: ExpiresPolicy = { default: 600, min: 30, max: 1800 };
    const c = config({ presence: { subscribe: sub } });
    expect(expiresPolicy(c, 'presence', 'subscribe', PACKAGE)).toEqual(sub);
    expect(expiresPolicy(c, 'presence', 'publish', PACKAGE)).toBe(PACKAGE);
  });

  it('does not apply one package override to another package', () => {
    const c = config({ presence: { subscribe: { default: 600, min: 30, max: 1800 } } });
    expect(expiresPolicy(c, 'presence.winfo', 'subscribe', PACKAGE)).toBe(PACKAGE);
    expect(expiresPolicy(c, 'dialog', 'subscribe', PACKAGE)).toBe(PACKAGE);
  });
});
