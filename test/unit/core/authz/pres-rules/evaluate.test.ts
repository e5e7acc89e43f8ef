/**
 * Rule evaluation and combination (RFC 4745 §7 conditions, §10 combining;
 * RFC 5025 §3.2.1 sub-handling ordering), identity matching for
 * authenticated and unauthenticated watchers, sphere and validity.
 */
import { describe, expect, it } from 'vitest';
import { parseXml } from '../../../../../core/xml/xml-parser.js';
import { parsePresRules, type PresRulesModel } from '../../../../../core/authz/pres-rules/pres-rules-model.js';
import { evaluatePresRules, isAnonymousIdentity, type EvaluationContext } from '../../../../../core/authz/pres-rules/evaluate.js';
import { NO_PERMISSIONS } from '../../../../../core/authz/pres-rules/presence-permissions.js';

const NOW = Date.UTC(2026, 0, 1, 12);
const HEAD = `<cr:ruleset xmlns:pr="urn:ietf:params:xml:ns:pres-rules" xmlns:cr="urn:ietf:params:xml:ns:common-policy" xmlns:ocp="urn:oma:xml:xdm:common-policy">`;

function rules(body: string): PresRulesModel {
  const r = parseXml(`${HEAD}${body}</cr:ruleset>`);
  if (!r.ok) throw new Error(r.error.detail ?? r.error.code);
  return parsePresRules(r.value);
}

function rule(id: string, conditions: string, handling?: string, transformations = ''): string {
  return (
    `<cr:rule id="${id}"><cr:conditions>${conditions}</cr:conditions>` +
    (handling === undefined ? '' : `<cr:actions><pr:sub-handling>${handling}</pr:sub-handling></cr:actions>`) +
    `<cr:transformations>${transformations}</cr:transformations></cr:rule>`
  );
}

const ctx = (watcher: string, o: Partial<EvaluationContext> = {}): EvaluationContext => ({ watcher, authenticated: true, now: NOW, ...o });
const one = (id: string): string => `<cr:identity><cr:one id="${id}"/></cr:identity>`;

describe('evaluatePresRules: sub-handling', () => {
  it('defaults to confirm when no rule matches, or to the configured default', () => {
    const m = rules(rule('bob', one('sip:bob@example.com'), 'allow'));
    expect(evaluatePresRules(m, ctx('sip:carol@example.com'))).toEqual({ handling: 'confirm', permissions: NO_PERMISSIONS, matchedRules: [] });
    expect(evaluatePresRules(m, ctx('sip:carol@example.com', { defaultHandling: 'block' })).handling).toBe('block');
    expect(evaluatePresRules(rules(''), ctx('sip:carol@example.com')).handling).toBe('confirm');
  });

  it('defaults when the matching rules do not set sub-handling', () => {
    const m = rules(rule('t', one('sip:bob@example.com'), undefined, '<pr:provide-note>true</pr:provide-note>'));
    const r = evaluatePresRules(m, ctx('sip:bob@example.com'));
    expect(r.handling).toBe('confirm');
    expect(r.matchedRules).toEqual(['t']);
    expect(r.permissions.attributes).toEqual(['note']);
  });

  it('an explicit block of a matching rule blocks (it is not the absence of a decision)', () => {
    const m = rules(rule('b', one('sip:bob@example.com'), 'block'));
    expect(evaluatePresRules(m, ctx('sip:bob@example.com')).handling).toBe('block');
  });

  it('combines by the maximum value: block 0 < confirm 10 < polite-block 20 < allow 30', () => {
    const order = ['block', 'confirm', 'polite-block', 'allow'] as const;
    for (const a of order) {
      for (const b of order) {
        const m = rules(rule('1', '', a) + rule('2', one('sip:bob@example.com'), b));
        const expected = order[Math.max(order.indexOf(a), order.indexOf(b))];
        expect(evaluatePresRules(m, ctx('sip:bob@example.com')).handling, `${a} + ${b}`).toBe(expected);
      }
    }
  });
});

describe('evaluatePresRules: permissions (RFC 4745 §10.3)', () => {
  it('ORs booleans, unions sets, takes the largest user-input level, across matching rules only', () => {
    const m = rules(
      rule('a', one('sip:bob@example.com'), 'allow', '<pr:provide-activities>true</pr:provide-activities><pr:provide-services><pr:service-uri-scheme>sip</pr:service-uri-scheme></pr:provide-services><pr:provide-user-input>bare</pr:provide-user-input>') +
        rule('b', '<cr:identity><cr:many domain="example.com"/></cr:identity>', 'confirm', '<pr:provide-mood>true</pr:provide-mood><pr:provide-activities>false</pr:provide-activities><pr:provide-services><pr:occurrence-id>t1</pr:occurrence-id><pr:service-uri-scheme>sip</pr:service-uri-scheme></pr:provide-services><pr:provide-user-input>thresholds</pr:provide-user-input>') +
        rule('c', one('sip:carol@example.com'), 'allow', '<pr:provide-all-attributes/>'),
    );
    const r = evaluatePresRules(m, ctx('sip:bob@example.com'));
    expect(r.matchedRules).toEqual(['a', 'b']);
    expect(r.handling).toBe('allow');
    expect(r.permissions).toEqual({
      ...NO_PERMISSIONS,
      services: { ...NO_PERMISSIONS.services, serviceUriSchemes: ['sip'], occurrenceIds: ['t1'] },
      attributes: ['activities', 'mood'],
      userInput: 'thresholds',
    });
  });

  it('is independent of rule order', () => {
    const a = rule('a', '', 'confirm', '<pr:provide-persons><pr:class>x</pr:class></pr:provide-persons>');
    const b = rule('b', one('sip:bob@example.com'), 'allow', '<pr:provide-persons><pr:occurrence-id>p</pr:occurrence-id><pr:class>w</pr:class></pr:provide-persons>');
    const r1 = evaluatePresRules(rules(a + b), ctx('sip:bob@example.com'));
    const r2 = evaluatePresRules(rules(b + a), ctx('sip:bob@example.com'));
    expect(r1.permissions).toEqual(r2.permissions);
    expect(r1.handling).toBe(r2.handling);
  });
});

describe('evaluatePresRules: identity (RFC 4745 §7.1)', () => {
  const m = rules(
    rule('one', `<cr:identity><cr:one id="sip:alice@example.com"/><cr:one id="tel:+1-212-555-1234"/></cr:identity>`, 'allow') +
      rule('dom', `<cr:identity><cr:many domain="example.com"><cr:except id="sip:bob@example.com"/></cr:many></cr:identity>`, 'polite-block') +
      rule('any', `<cr:identity><cr:many><cr:except domain="example.org"/><cr:except id="sip:mallory@evil.example.net"/></cr:many></cr:identity>`, 'confirm'),
  );
  const matched = (w: string, authenticated = true): string[] => evaluatePresRules(m, ctx(w, { authenticated })).matchedRules;

  it('<one> matches the exact identity, after canonicalisation of the rule', () => {
    expect(matched('sip:alice@example.com')).toEqual(['one', 'dom', 'any']);
    expect(matched('tel:+12125551234')).toEqual(['one', 'any']);
    expect(matched('sip:alice@example.org')).toEqual([]);
    expect(matched('sip:Alice@example.com')).toEqual(['dom', 'any']); // the user part is case-sensitive
  });

  it('<many domain> matches the domain (case-insensitively) except the listed identities', () => {
    expect(matched('sip:carol@example.com')).toEqual(['dom', 'any']);
    expect(matched('sip:carol@EXAMPLE.com')).toEqual(['dom', 'any']);
    expect(matched('sip:bob@example.com')).toEqual(['any']);
    expect(matched('sip:carol@sub.example.com')).toEqual(['any']); // no subdomain matching
  });

  it('<many/> matches every authenticated identity except the excepted domains and identities', () => {
    expect(matched('sip:dave@example.net')).toEqual(['any']);
    expect(matched('sip:dave@example.org')).toEqual([]);
    expect(matched('sip:mallory@evil.example.net')).toEqual([]);
    expect(matched('tel:+15550000')).toEqual(['any']);
  });

  it('never matches an unauthenticated watcher, whatever identity it claims', () => {
    for (const w of ['sip:alice@example.com', 'sip:carol@example.com', 'sip:dave@example.net']) {
      expect(matched(w, false)).toEqual([]);
      expect(evaluatePresRules(m, ctx(w, { authenticated: false })).handling).toBe('confirm');
    }
  });

  it('treats the RFC 3323 anonymous identity as unauthenticated', () => {
    expect(isAnonymousIdentity('sip:anonymous@anonymous.invalid')).toBe(true);
    expect(isAnonymousIdentity('sip:bob@example.com')).toBe(false);
    expect(matched('sip:anonymous@anonymous.invalid')).toEqual([]);
  });

  it('lets rules without identity conditions (everybody) match unauthenticated watchers', () => {
    const open = rules(rule('everyone', '', 'allow', '<pr:provide-services><pr:all-services/></pr:provide-services>') + rule('bob', one('sip:bob@example.com'), 'allow', '<pr:provide-note>true</pr:provide-note>'));
    const r = evaluatePresRules(open, ctx('sip:bob@example.com', { authenticated: false }));
    expect(r.matchedRules).toEqual(['everyone']);
    expect(r.permissions.attributes).toEqual([]); // not bob's grants
    expect(r.permissions.services.all).toBe(true);
  });

  it('OMA anonymous-request matches exactly the unauthenticated watchers', () => {
    const oma = rules(rule('anon', '<ocp:anonymous-request/>', 'block') + rule('rest', '', 'confirm'));
    expect(evaluatePresRules(oma, ctx('sip:x@example.com', { authenticated: false })).handling).toBe('confirm');
    expect(evaluatePresRules(oma, ctx('sip:x@example.com', { authenticated: false })).matchedRules).toEqual(['anon', 'rest']);
    expect(evaluatePresRules(oma, ctx('sip:x@example.com')).matchedRules).toEqual(['rest']);
  });

  it('OMA other-identity matches authenticated identities no identity condition names', () => {
    const oma = rules(rule('friends', one('sip:bob@example.com'), 'allow') + rule('others', '<ocp:other-identity/>', 'polite-block'));
    expect(evaluatePresRules(oma, ctx('sip:bob@example.com')).matchedRules).toEqual(['friends']);
    expect(evaluatePresRules(oma, ctx('sip:carol@example.com')).matchedRules).toEqual(['others']);
    expect(evaluatePresRules(oma, ctx('sip:carol@example.com', { authenticated: false })).matchedRules).toEqual([]);
  });

  it('OMA other-identity never matches when some condition cannot be evaluated (external-list)', () => {
    const oma = rules(rule('blocked', '<ocp:external-list><ocp:entry anc="http://x/list"/></ocp:external-list>', 'block') + rule('others', '<ocp:other-identity/>', 'allow'));
    expect(evaluatePresRules(oma, ctx('sip:carol@example.com'))).toMatchObject({ matchedRules: [], handling: 'confirm' });
  });
});

describe('evaluatePresRules: other conditions', () => {
  it('an unknown condition makes the rule never match', () => {
    const m = rules(rule('x', `<foo:cond xmlns:foo="urn:foo"/>`, 'allow') + rule('y', `${one('sip:bob@example.com')}<foo:cond xmlns:foo="urn:foo"/>`, 'allow'));
    expect(evaluatePresRules(m, ctx('sip:bob@example.com'))).toMatchObject({ matchedRules: [], handling: 'confirm' });
  });

  it('all conditions of a rule must hold (conjunction)', () => {
    const m = rules(rule('r', `${one('sip:bob@example.com')}<cr:sphere value="work"/>`, 'allow'));
    expect(evaluatePresRules(m, ctx('sip:bob@example.com', { sphere: 'work' })).handling).toBe('allow');
    expect(evaluatePresRules(m, ctx('sip:bob@example.com', { sphere: 'home' })).handling).toBe('confirm');
    expect(evaluatePresRules(m, ctx('sip:carol@example.com', { sphere: 'work' })).handling).toBe('confirm');
  });

  it('<sphere> matches when the current sphere is one of its values; unknown sphere never matches', () => {
    const m = rules(rule('r', `<cr:sphere value="work  bowling-league"/>`, 'allow'));
    expect(evaluatePresRules(m, ctx('sip:bob@example.com', { sphere: 'work' })).handling).toBe('allow');
    expect(evaluatePresRules(m, ctx('sip:bob@example.com', { sphere: 'bowling-league' })).handling).toBe('allow');
    expect(evaluatePresRules(m, ctx('sip:bob@example.com', { sphere: 'Work' })).handling).toBe('confirm');
    expect(evaluatePresRules(m, ctx('sip:bob@example.com')).handling).toBe('confirm');
  });

  it('<validity> holds in [from, until) of any interval', () => {
    const m = rules(
      rule('r', `<cr:validity><cr:from>2026-01-01T11:00:00Z</cr:from><cr:until>2026-01-01T12:00:00Z</cr:until><cr:from>2026-01-02T00:00:00+01:00</cr:from><cr:until>2026-01-03T00:00:00Z</cr:until></cr:validity>`, 'allow'),
    );
    const at = (t: number): string => evaluatePresRules(m, ctx('sip:bob@example.com', { now: t })).handling;
    expect(at(Date.UTC(2026, 0, 1, 11))).toBe('allow');
    expect(at(Date.UTC(2026, 0, 1, 11, 59, 59, 999))).toBe('allow');
    expect(at(Date.UTC(2026, 0, 1, 12))).toBe('confirm');
    expect(at(Date.UTC(2026, 0, 1, 22, 59))).toBe('confirm');
    expect(at(Date.UTC(2026, 0, 1, 23))).toBe('allow');
    expect(at(Number.NaN)).toBe('confirm');
  });

  it('a validity without a usable interval never holds', () => {
    const m = rules(rule('r', `<cr:validity><cr:from>whenever</cr:from><cr:until>2030-01-01T00:00:00Z</cr:until></cr:validity>`, 'allow'));
    expect(evaluatePresRules(m, ctx('sip:bob@example.com')).handling).toBe('confirm');
  });
});
