/**
 * Parsing of pres-rules documents (RFC 4745 common policy + RFC 5025) into
 * the plain-data model, from the examples of both RFCs, with the
 * extensibility rules: unknown conditions make a rule unmatchable, unknown
 * actions and transformations are ignored.
 */
import { describe, expect, it } from 'vitest';
import { parseXml } from '../../../../../core/xml/xml-parser.js';
import {
  COMMON_POLICY_NS,
  EMPTY_MODEL,
  canonicalIdentity,
  identityDomain,
  parseDateTime,
  parsePresRules,
  type PresRulesModel,
} from '../../../../../core/authz/pres-rules/pres-rules-model.js';
import { FULL_PERMISSIONS, NO_PERMISSIONS } from '../../../../../core/authz/pres-rules/presence-permissions.js';
import { RFC5025_EXAMPLE } from '../../../../support/rfc-documents.js';

const HEAD = `<?xml version="1.0" encoding="UTF-8"?>
<cr:ruleset xmlns="urn:ietf:params:xml:ns:pres-rules" xmlns:pr="urn:ietf:params:xml:ns:pres-rules"
  xmlns:cr="urn:ietf:params:xml:ns:common-policy" xmlns:ocp="urn:oma:xml:xdm:common-policy">`;

function model(xml: string): PresRulesModel {
  const r = parseXml(xml);
  if (!r.ok) throw new Error(r.error.detail ?? r.error.code);
  return parsePresRules(r.value);
}
const rules = (body: string): PresRulesModel => model(`${HEAD}${body}</cr:ruleset>`);

describe('parsePresRules', () => {
  it('parses the RFC 5025 §6 example', () => {
    const m = model(RFC5025_EXAMPLE);
    expect(m.rules).toHaveLength(1);
    const r = m.rules[0]!;
    expect(r.id).toBe('a');
    expect(r.conditions).toEqual([{ kind: 'identity', one: ['sip:user@example.com'], many: [] }]);
    expect(r.subHandling).toBe('allow');
    expect(r.grants).toEqual({
      services: { all: false, serviceUris: [], serviceUriSchemes: ['mailto', 'sip'], occurrenceIds: [], classes: [] },
      persons: { all: true, occurrenceIds: [], classes: [] },
      devices: { all: false, deviceIds: [], occurrenceIds: [], classes: [] },
      allAttributes: false,
      attributes: ['activities'],
      userInput: 'bare',
      unknownAttributes: [{ ns: 'urn:vendor-specific:foo-namespace', name: 'foo' }],
    });
    expect(m.usesSphere).toBe(false);
    expect(m.hasUnknownConditions).toBe(false);
  });

  it('parses the RFC 4745 identity examples: one, many with domain and except', () => {
    const m = model(`<?xml version="1.0" encoding="UTF-8"?>
<ruleset xmlns="urn:ietf:params:xml:ns:common-policy">
  <rule id="f3g44r1">
    <conditions>
      <identity>
        <one id="sip:alice@example.com"/>
        <one id="tel:+1-212-555-1234" />
        <many domain="example.com">
          <except id="sip:bob@example.com"/>
        </many>
      </identity>
      <validity>
        <from>2003-12-24T17:00:00+01:00</from>
        <until>2003-12-24T19:00:00+01:00</until>
      </validity>
    </conditions>
    <actions/>
    <transformations/>
  </rule>
  <rule id="f3g44r2">
    <conditions>
      <identity>
        <many>
          <except domain="example.com"/>
          <except domain="example.org"/>
          <except id="sip:alice@bad.example.net"/>
          <except id="tel:+1-212-555-1234" />
        </many>
      </identity>
      <sphere value="work"/>
    </conditions>
  </rule>
</ruleset>`);
    expect(m.rules.map((r) => r.id)).toEqual(['f3g44r1', 'f3g44r2']);
    expect(m.rules[0]!.conditions).toEqual([
      {
        kind: 'identity',
        one: ['sip:alice@example.com', 'tel:+12125551234'],
        many: [{ domain: 'example.com', exceptIds: ['sip:bob@example.com'], exceptDomains: [] }],
      },
      { kind: 'validity', intervals: [{ from: Date.UTC(2003, 11, 24, 16), until: Date.UTC(2003, 11, 24, 18) }] },
    ]);
    expect(m.rules[0]!.subHandling).toBeUndefined();
    expect(m.rules[0]!.grants).toEqual(NO_PERMISSIONS);
    expect(m.rules[1]!.conditions).toEqual([
      {
        kind: 'identity',
        one: [],
        many: [{ exceptIds: ['sip:alice@bad.example.net', 'tel:+12125551234'], exceptDomains: ['example.com', 'example.org'] }],
      },
      { kind: 'sphere', values: ['work'] },
    ]);
    expect(m.usesSphere).toBe(true);
  });

  it('canonicalises identities like the request layer (scheme, host case, parameters)', () => {
    expect(canonicalIdentity(' sips:Bob@EXAMPLE.com;transport=tls ')).toBe('sip:Bob@example.com');
    expect(canonicalIdentity('pres:bob@example.com')).toBe('sip:bob@example.com');
    expect(canonicalIdentity('tel:+1-212-555-1234')).toBe('tel:+12125551234');
    expect(canonicalIdentity('mailto:bob@example.com')).toBe('mailto:bob@example.com');
    expect(identityDomain('sip:bob@Example.COM')).toBe('example.com');
    expect(identityDomain('tel:+12125551234')).toBeUndefined();
    const m = rules(`<cr:rule id="r"><cr:conditions><cr:identity><cr:many domain=" Example.COM "/></cr:identity></cr:conditions></cr:rule>`);
    expect(m.rules[0]!.conditions).toEqual([{ kind: 'identity', one: [], many: [{ domain: 'example.com', exceptIds: [], exceptDomains: [] }] }]);
  });

  it('keeps a rule without conditions (it matches everybody)', () => {
    const m = rules(`<cr:rule id="all"><cr:actions><pr:sub-handling>polite-block</pr:sub-handling></cr:actions></cr:rule><cr:rule id="empty"><cr:conditions/></cr:rule>`);
    expect(m.rules.map((r) => [r.id, r.conditions.length, r.subHandling])).toEqual([
      ['all', 0, 'polite-block'],
      ['empty', 0, undefined],
    ]);
  });

  it('marks unknown conditions (the rule will never match) and understands the OMA ones', () => {
    const m = rules(`
      <cr:rule id="x"><cr:conditions><foo:bar xmlns:foo="urn:example:foo"/></cr:conditions><cr:actions><pr:sub-handling>allow</pr:sub-handling></cr:actions></cr:rule>
      <cr:rule id="list"><cr:conditions><ocp:external-list><ocp:entry anc="http://xcap/resource-lists/users/sip:a@b/index/~~/resource-lists/list"/></ocp:external-list></cr:conditions></cr:rule>
      <cr:rule id="anon"><cr:conditions><ocp:anonymous-request/></cr:conditions></cr:rule>
      <cr:rule id="other"><cr:conditions><ocp:other-identity/></cr:conditions></cr:rule>`);
    expect(m.rules.map((r) => r.conditions)).toEqual([
      [{ kind: 'unknown', ns: 'urn:example:foo', name: 'bar' }],
      [{ kind: 'unknown', ns: 'urn:oma:xml:xdm:common-policy', name: 'external-list' }],
      [{ kind: 'anonymous-request' }],
      [{ kind: 'other-identity' }],
    ]);
    expect(m.hasUnknownConditions).toBe(true);
  });

  it('ignores unknown actions and transformations, and unknown children of provide-*', () => {
    const m = rules(`<cr:rule id="r">
      <cr:actions><x:forward xmlns:x="urn:x">yes</x:forward><pr:sub-handling>confirm</pr:sub-handling></cr:actions>
      <cr:transformations>
        <op:provide-willingness xmlns:op="urn:oma:xml:prs:pres-rules">true</op:provide-willingness>
        <pr:provide-something-new>true</pr:provide-something-new>
        <pr:provide-services><op:service-id xmlns:op="urn:oma:xml:prs:pres-rules">org.openmobilealliance:PoC</op:service-id><pr:occurrence-id>t1</pr:occurrence-id></pr:provide-services>
      </cr:transformations></cr:rule>`);
    const r = m.rules[0]!;
    expect(r.conditions).toEqual([]);
    expect(r.subHandling).toBe('confirm');
    expect(r.grants).toEqual({ ...NO_PERMISSIONS, services: { ...NO_PERMISSIONS.services, occurrenceIds: ['t1'] } });
  });

  it('takes the largest of several sub-handling values and ignores unknown values', () => {
    const m = rules(`<cr:rule id="r"><cr:actions>
      <pr:sub-handling>confirm</pr:sub-handling><pr:sub-handling> polite-block </pr:sub-handling><pr:sub-handling>block</pr:sub-handling>
      </cr:actions></cr:rule>
      <cr:rule id="bad"><cr:actions><pr:sub-handling>30</pr:sub-handling><pr:sub-handling>Allow</pr:sub-handling></cr:actions></cr:rule>`);
    expect(m.rules[0]!.subHandling).toBe('polite-block');
    expect(m.rules[1]!.subHandling).toBeUndefined();
  });

  it('parses every attribute permission of RFC 5025 §3.3.2 (xs:boolean values)', () => {
    const all = ['activities', 'class', 'deviceID', 'mood', 'place-is', 'place-type', 'privacy', 'relationship', 'status-icon', 'sphere', 'time-offset', 'note'];
    const m = rules(`<cr:rule id="r"><cr:transformations>${all.map((a, i) => `<pr:provide-${a}>${i % 2 === 0 ? 'true' : ' 1 '}</pr:provide-${a}>`).join('')}</cr:transformations></cr:rule>
      <cr:rule id="f"><cr:transformations><pr:provide-mood>false</pr:provide-mood><pr:provide-note>0</pr:provide-note><pr:provide-sphere>yes</pr:provide-sphere></cr:transformations></cr:rule>`);
    expect(m.rules[0]!.grants.attributes).toEqual([...all].sort());
    expect(m.rules[1]!.grants).toEqual(NO_PERMISSIONS);
  });

  it('parses provide-user-input levels, keeping the largest and ignoring invalid values', () => {
    const level = (body: string): string => rules(`<cr:rule id="r"><cr:transformations>${body}</cr:transformations></cr:rule>`).rules[0]!.grants.userInput;
    expect(level('<pr:provide-user-input>false</pr:provide-user-input>')).toBe('false');
    expect(level('<pr:provide-user-input>bare</pr:provide-user-input>')).toBe('bare');
    expect(level('<pr:provide-user-input>thresholds</pr:provide-user-input><pr:provide-user-input>bare</pr:provide-user-input>')).toBe('thresholds');
    expect(level('<pr:provide-user-input> full </pr:provide-user-input>')).toBe('full');
    expect(level('<pr:provide-user-input>everything</pr:provide-user-input>')).toBe('false');
  });

  it('parses component selections: services, persons, devices', () => {
    const m = rules(`<cr:rule id="r"><cr:transformations>
      <pr:provide-services><pr:service-uri>sip:alice@example.com;gr=abc</pr:service-uri><pr:service-uri-scheme>SIP</pr:service-uri-scheme><pr:occurrence-id>t9</pr:occurrence-id><pr:class>work</pr:class><pr:service-uri>  </pr:service-uri></pr:provide-services>
      <pr:provide-persons><pr:occurrence-id>p1</pr:occurrence-id><pr:class>home</pr:class></pr:provide-persons>
      <pr:provide-devices><pr:deviceID>urn:uuid:d1</pr:deviceID><pr:occurrence-id>pc</pr:occurrence-id><pr:class>c</pr:class></pr:provide-devices>
    </cr:transformations></cr:rule>`);
    expect(m.rules[0]!.grants).toMatchObject({
      services: { all: false, serviceUris: ['sip:alice@example.com;gr=abc'], serviceUriSchemes: ['sip'], occurrenceIds: ['t9'], classes: ['work'] },
      persons: { all: false, occurrenceIds: ['p1'], classes: ['home'] },
      devices: { all: false, deviceIds: ['urn:uuid:d1'], occurrenceIds: ['pc'], classes: ['c'] },
    });
  });

  it('provide-all-attributes with all components is the full grant', () => {
    const m = rules(`<cr:rule id="r"><cr:transformations>
      <pr:provide-services><pr:all-services/></pr:provide-services><pr:provide-persons><pr:all-persons/></pr:provide-persons>
      <pr:provide-devices><pr:all-devices/></pr:provide-devices><pr:provide-all-attributes/></cr:transformations></cr:rule>`);
    expect(m.rules[0]!.grants).toEqual(FULL_PERMISSIONS);
  });

  it('drops provide-unknown-attribute for attributes that have their own permission, or without ns/name', () => {
    const m = rules(`<cr:rule id="r"><cr:transformations>
      <pr:provide-unknown-attribute ns="urn:ietf:params:xml:ns:pidf:rpid" name="activities">true</pr:provide-unknown-attribute>
      <pr:provide-unknown-attribute ns="urn:ietf:params:xml:ns:pidf:data-model" name="deviceID">true</pr:provide-unknown-attribute>
      <pr:provide-unknown-attribute name="foo">true</pr:provide-unknown-attribute>
      <pr:provide-unknown-attribute ns="urn:x" name="off">false</pr:provide-unknown-attribute>
      <pr:provide-unknown-attribute ns="urn:ietf:params:xml:ns:pidf:cipid" name="card">true</pr:provide-unknown-attribute>
      <pr:provide-unknown-attribute ns="urn:ietf:params:xml:ns:pidf:rpid" name="service-class">true</pr:provide-unknown-attribute>
    </cr:transformations></cr:rule>`);
    expect(m.rules[0]!.grants.unknownAttributes).toEqual([
      { ns: 'urn:ietf:params:xml:ns:pidf:cipid', name: 'card' },
      { ns: 'urn:ietf:params:xml:ns:pidf:rpid', name: 'service-class' },
    ]);
    expect(m.rules[0]!.grants.attributes).toEqual([]);
  });

  it('drops validity pairs with a missing or invalid end', () => {
    const m = rules(`<cr:rule id="r"><cr:conditions><cr:validity>
      <cr:from>2026-01-01T00:00:00Z</cr:from><cr:until>2026-02-01T00:00:00Z</cr:until>
      <cr:from>not a date</cr:from><cr:until>2026-03-01T00:00:00Z</cr:until>
      <cr:until>2026-04-01T00:00:00Z</cr:until>
      <cr:from>2026-05-01T00:00:00.500-02:30</cr:from><cr:until>2026-06-01T00:00:00</cr:until>
    </cr:validity></cr:conditions></cr:rule>`);
    expect(m.rules[0]!.conditions).toEqual([
      {
        kind: 'validity',
        intervals: [
          { from: Date.UTC(2026, 0, 1), until: Date.UTC(2026, 1, 1) },
          { from: Date.UTC(2026, 4, 1, 2, 30, 0, 500), until: Date.UTC(2026, 5, 1) },
        ],
      },
    ]);
  });

  it('parses xs:dateTime strictly', () => {
    expect(parseDateTime('2003-12-24T17:00:00+01:00')).toBe(Date.UTC(2003, 11, 24, 16));
    expect(parseDateTime('2003-12-24T17:00:00.250Z')).toBe(Date.UTC(2003, 11, 24, 17, 0, 0, 250));
    expect(parseDateTime('2003-12-24T24:00:00Z')).toBe(Date.UTC(2003, 11, 25));
    expect(parseDateTime('2003-02-30T10:00:00Z')).toBeUndefined();
    expect(parseDateTime('2003-12-24 17:00:00Z')).toBeUndefined();
    expect(parseDateTime('2003-13-01T00:00:00Z')).toBeUndefined();
    expect(parseDateTime('yesterday')).toBeUndefined();
  });

  it('yields the empty model for a root other than <cr:ruleset>', () => {
    expect(model('<ruleset xmlns="urn:example:other"><rule id="a"/></ruleset>')).toBe(EMPTY_MODEL);
    expect(model(`<rule xmlns="${COMMON_POLICY_NS}" id="a"/>`)).toBe(EMPTY_MODEL);
  });

  it('identity children in other namespaces and <one> without id match nobody', () => {
    const m = rules(`<cr:rule id="r"><cr:conditions><cr:identity><cr:one/><cr:one id=" "/><x:one xmlns:x="urn:x" id="sip:a@b"/><cr:many domain=""/></cr:identity></cr:conditions></cr:rule>`);
    expect(m.rules[0]!.conditions).toEqual([{ kind: 'identity', one: [], many: [] }]);
  });
});
