import { describe, it, expect } from 'vitest';
import type { Result } from '../../../../core/errors.js';
import type { XmlElement } from '../../../../core/xml/xml-node.js';
import { parseXml } from '../../../../core/xml/xml-parser.js';
import { attr, childElements, textContent } from '../../../../core/xml/xml-query.js';
import { parseNodeSelector } from '../../../../core/xcap/node-selector.js';
import { alternatives, createAppUsageRegistry, fieldUri, type AppUsage } from '../../../../core/xcap/usages/app-usage.js';
import { pidfManipulationUsage } from '../../../../core/xcap/usages/pidf-manipulation.js';
import { omaPresRulesUsage, presRulesUsage } from '../../../../core/xcap/usages/pres-rules.js';
import { RESOURCE_LISTS_NS, checkEntryRefUri, checkListUri, resourceListsUsage } from '../../../../core/xcap/usages/resource-lists.js';
import { rlsServicesUsage, serviceUris } from '../../../../core/xcap/usages/rls-services.js';
import { XCAP_CAPS_NS, defaultAppUsageRegistry, renderXcapCaps, validateXcapCaps, xcapCapsUsage } from '../../../../core/xcap/usages/xcap-caps.js';
import { XCAP_DIRECTORY_NS, renderXcapDirectory, validateXcapDirectory, xcapDirectoryUsage } from '../../../../core/xcap/usages/xcap-directory.js';
import { XCAP_EL_MIME, deleteNode, getNode, putNode, xcapErrorDocument, type XcapResult } from '../../../../core/xcap/xcap-document.js';
import { RFC5025_EXAMPLE } from '../../../support/rfc-documents.js';

function value<T>(r: Result<T> | XcapResult<T>): T {
  if (!r.ok) throw new Error(`expected success, got ${r.error.code}: ${r.error.detail ?? ''}`);
  return r.value;
}
function code(r: Result<unknown> | XcapResult<unknown>): string {
  return r.ok ? 'ok' : r.error.code;
}
function xml(text: string): XmlElement {
  return value(parseXml(text));
}
function check(u: AppUsage, text: string): XcapResult<void> {
  return u.validate(xml(text), {});
}

// ---------------------------------------------------------------------------
// resource-lists (RFC 4826 §3)
// ---------------------------------------------------------------------------

/** RFC 4826 §3.3, the example document. */
const RFC4826_LISTS = `<?xml version="1.0" encoding="UTF-8"?>
<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <list name="friends">
  <entry uri="sip:bill@example.com">
   <display-name>Bill Doe</display-name>
  </entry>
  <entry-ref ref="resource-lists/users/sip:bill@example.com/index/~~/resource-lists/list%5b@name=%22list1%22%5d/entry%5b@uri=%22sip:petri@example.com%22%5d"/>
  <list name="close-friends">
   <display-name>Close Friends</display-name>
   <entry uri="sip:joe@example.com">
    <display-name>Joe Smith</display-name>
   </entry>
   <entry uri="sip:nancy@example.com">
    <display-name>Nancy Gross</display-name>
   </entry>
   <external anchor="http://xcap.example.org/resource-lists/users/sip:a@example.org/index/~~/resource-lists/list%5b@name=%22mkting%22%5d">
     <display-name>Marketing</display-name>
   </external>
  </list>
 </list>
</resource-lists>`;

const RL_HEAD = '<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists">';
const lists = (inner: string): string => `${RL_HEAD}${inner}</resource-lists>`;

describe('resource-lists (RFC 4826 §3.4)', () => {
  it('has the AUID, MIME type and default namespace of RFC 4826 §3.4', () => {
    expect([resourceListsUsage.auid, resourceListsUsage.mimeType, resourceListsUsage.defaultNamespace]).toEqual([
      'resource-lists',
      'application/resource-lists+xml',
      RESOURCE_LISTS_NS,
    ]);
  });

  it('accepts the RFC 4826 example document', () => {
    expect(code(check(resourceListsUsage, RFC4826_LISTS))).toBe('ok');
  });

  it('entry uri must be unique within its list: uniqueness-failure naming the field', () => {
    const r = check(resourceListsUsage, lists('<list name="l"><entry uri="sip:a@x"/><entry uri="sip:a@x"/></list>'));
    expect(code(r)).toBe('xcap-uniqueness-failure');
    expect(!r.ok && r.error.xcap?.exists).toEqual([{ field: 'resource-lists/list%5B1%5D/entry%5B2%5D/@uri', value: 'sip:a@x', altValues: [] }]);
    // …but may repeat in different lists.
    expect(code(check(resourceListsUsage, lists('<list name="a"><entry uri="sip:a@x"/></list><list name="b"><entry uri="sip:a@x"/></list>')))).toBe('ok');
  });

  it('list names must be unique among siblings, with alternatives suggested', () => {
    const r = check(resourceListsUsage, lists('<list name="friends"/><list name="friends-2"/><list name="friends"/>'));
    expect(code(r)).toBe('xcap-uniqueness-failure');
    expect(!r.ok && r.error.xcap?.exists).toEqual([{ field: 'resource-lists/list%5B3%5D/@name', value: 'friends', altValues: ['friends-3', 'friends-4'] }]);
    expect(code(check(resourceListsUsage, lists('<list name="a"><list name="x"/></list><list name="b"><list name="x"/></list>')))).toBe('ok');
    expect(code(check(resourceListsUsage, lists('<list name="a"><list name="x"/><list name="x"/></list>')))).toBe('xcap-uniqueness-failure');
  });

  it('entry-ref refs and external anchors must be unique among siblings', () => {
    const ref = 'resource-lists/users/sip:b@x/index/~~/resource-lists/list%5b@name=%22l%22%5d/entry%5b@uri=%22sip:p@x%22%5d';
    expect(code(check(resourceListsUsage, lists(`<list><entry-ref ref="${ref}"/><entry-ref ref="${ref}"/></list>`)))).toBe('xcap-uniqueness-failure');
    const anchor = 'http://x.org/resource-lists/users/sip:a@x/index/~~/resource-lists/list%5b@name=%22m%22%5d';
    expect(code(check(resourceListsUsage, lists(`<list><external anchor="${anchor}"/><external anchor="${anchor}"/></list>`)))).toBe('xcap-uniqueness-failure');
  });

  it('entry-ref must be relative to the XCAP root and select an <entry>: constraint-failure', () => {
    expect(checkEntryRefUri('resource-lists/users/sip:b@x/index/~~/resource-lists/list/entry')).toBeUndefined();
    expect(checkEntryRefUri('http://x/resource-lists/users/sip:b@x/index/~~/resource-lists/list/entry')).toMatch(/relative/);
    expect(checkEntryRefUri('/resource-lists/users/sip:b@x/index/~~/resource-lists/list/entry')).toMatch(/relative/);
    expect(checkEntryRefUri('resource-lists/users/sip:b@x/index/~~/resource-lists/list')).toMatch(/<entry>/);
    expect(checkEntryRefUri('pres-rules/users/sip:b@x/index/~~/resource-lists/list/entry')).toMatch(/resource-lists/);
    expect(checkEntryRefUri('resource-lists/users/sip:b@x/index')).toBeDefined();
    expect(code(check(resourceListsUsage, lists('<list><entry-ref ref="sip:bob@example.com"/></list>')))).toBe('xcap-constraint-failure');
  });

  it('external anchor must be an absolute HTTP URI selecting a <list>: constraint-failure', () => {
    expect(checkListUri('https://x.org/root/resource-lists/users/sip:a@x/index/~~/resource-lists/list%5b@name=%22m%22%5d')).toBeUndefined();
    expect(checkListUri('sip:a@x')).toMatch(/HTTP/);
    expect(checkListUri('http://x.org/resource-lists/users/sip:a@x/index')).toBeDefined();
    expect(checkListUri('http://x.org/resource-lists/users/sip:a@x/index/~~/resource-lists/list/entry')).toMatch(/<list>/);
    expect(code(check(resourceListsUsage, lists('<list><external anchor="ftp://x/y"/></list>')))).toBe('xcap-constraint-failure');
    expect(code(check(resourceListsUsage, lists('<list><external/></list>')))).toBe('ok');
  });

  it('enforces the schema: root, required attributes, placement, namespaces, text', () => {
    const bad = [
      '<lists xmlns="urn:ietf:params:xml:ns:resource-lists"/>',
      '<resource-lists/>',
      lists('<entry uri="sip:a@x"/>'),
      lists('<list><entry/></list>'),
      lists('<list><entry uri="sip:a@x"/><display-name>late</display-name></list>'),
      lists('<list><display-name>a</display-name><display-name>b</display-name></list>'),
      lists('<list><bogus/></list>'),
      lists('<list><x xmlns=""/></list>'),
      lists('<list>text</list>'),
      lists('<list colour="red"/>'),
      lists('<list><entry uri="sip:a@x"><display-name><b xmlns="urn:x"/></display-name></entry></list>'),
      lists('<list><entry uri="sip:a@x"><x:e xmlns:x="urn:x"/><display-name>late</display-name></entry></list>'),
      lists('<list><entry uri="not a uri"/></list>'),
      lists('<list><entry-ref/></list>'),
      `${RL_HEAD}<x:ext xmlns:x="urn:x"/></resource-lists>`,
    ];
    for (const b of bad) expect(code(check(resourceListsUsage, b)), b).toBe('xcap-schema-validation-error');
  });

  it('accepts extension elements and attributes from other namespaces (##other)', () => {
    expect(
      code(
        check(
          resourceListsUsage,
          lists(
            '<list name="l" xmlns:x="urn:x" x:a="1"><display-name xml:lang="en">L</display-name><entry uri="sip:a@x" x:b="2"><display-name>A</display-name><x:extra/></entry><x:ext/></list>',
          ),
        ),
      ),
    ).toBe('ok');
  });

  it('through PUT: a duplicate entry gives 409 with an xcap-error body naming the field', () => {
    const doc = xml(RFC4826_LISTS);
    const sel = value(parseNodeSelector('resource-lists/list[@name="friends"]/entry[2][@uri="sip:bill@example.com"]', {}, RESOURCE_LISTS_NS));
    const r = putNode(doc, sel, '<entry uri="sip:bill@example.com"/>', XCAP_EL_MIME, { usage: resourceListsUsage });
    expect(code(r)).toBe('xcap-uniqueness-failure');
    if (r.ok) return;
    const body = xcapErrorDocument(r.error)!;
    expect(body).toContain('<uniqueness-failure');
    expect(body).toContain('<exists field="resource-lists/list%5B1%5D/entry%5B2%5D/@uri"/>');
    const ok2 = putNode(doc, value(parseNodeSelector('resource-lists/list[@name="friends"]/entry[@uri="sip:new@example.com"]', {}, RESOURCE_LISTS_NS)), '<entry uri="sip:new@example.com"/>', XCAP_EL_MIME, { usage: resourceListsUsage });
    expect(code(ok2)).toBe('ok');
  });

  it('through DELETE: removing a required attribute is a schema-validation-error', () => {
    const doc = xml(RFC4826_LISTS);
    const sel = value(parseNodeSelector('resource-lists/list/entry[@uri="sip:bill@example.com"]/@uri', {}, RESOURCE_LISTS_NS));
    expect(code(deleteNode(doc, sel, { usage: resourceListsUsage }))).toBe('xcap-schema-validation-error');
    const sel2 = value(parseNodeSelector('resource-lists/list/list/entry[@uri="sip:joe@example.com"]', {}, RESOURCE_LISTS_NS));
    expect(code(deleteNode(doc, sel2, { usage: resourceListsUsage }))).toBe('ok');
  });
});

// ---------------------------------------------------------------------------
// rls-services (RFC 4826 §4)
// ---------------------------------------------------------------------------

/** RFC 4826 §4.3, the example document. */
const RFC4826_RLS = `<?xml version="1.0" encoding="UTF-8"?>
<rls-services xmlns="urn:ietf:params:xml:ns:rls-services"
   xmlns:rl="urn:ietf:params:xml:ns:resource-lists"
   xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <service uri="sip:mybuddies@example.com">
  <resource-list>http://xcap.example.com/resource-lists/users/sip:joe@example.com/index/~~/resource-lists/list%5b@name=%22l1%22%5d</resource-list>
  <packages>
   <package>presence</package>
  </packages>
 </service>
 <service uri="sip:marketing@example.com">
   <list name="marketing">
     <rl:entry uri="sip:joe@example.com"/>
     <rl:entry uri="sip:sudhir@example.com"/>
   </list>
   <packages>
     <package>presence</package>
   </packages>
 </service>
</rls-services>`;

const RLS_HEAD = '<rls-services xmlns="urn:ietf:params:xml:ns:rls-services" xmlns:rl="urn:ietf:params:xml:ns:resource-lists">';
const services = (inner: string): string => `${RLS_HEAD}${inner}</rls-services>`;
const RL_URI = 'http://xcap.example.com/resource-lists/users/sip:joe@example.com/index/~~/resource-lists/list%5b@name=%22l1%22%5d';

describe('rls-services (RFC 4826 §4.4)', () => {
  it('has the AUID, MIME type and default namespace of RFC 4826 §4.4', () => {
    expect([rlsServicesUsage.auid, rlsServicesUsage.mimeType, rlsServicesUsage.defaultNamespace]).toEqual([
      'rls-services',
      'application/rls-services+xml',
      'urn:ietf:params:xml:ns:rls-services',
    ]);
  });

  it('accepts the RFC 4826 example document and lists its service URIs', () => {
    expect(code(check(rlsServicesUsage, RFC4826_RLS))).toBe('ok');
    expect(serviceUris(xml(RFC4826_RLS))).toEqual(['sip:mybuddies@example.com', 'sip:marketing@example.com']);
  });

  it('service URIs are unique in the document: uniqueness-failure with alternative URIs', () => {
    const r = check(
      rlsServicesUsage,
      services(`<service uri="sip:mybuddies@example.com"><resource-list>${RL_URI}</resource-list></service><service uri="sip:mybuddies-2@example.com"><resource-list>${RL_URI}</resource-list></service><service uri="sip:mybuddies@example.com"><resource-list>${RL_URI}</resource-list></service>`),
    );
    expect(code(r)).toBe('xcap-uniqueness-failure');
    expect(!r.ok && r.error.xcap?.exists).toEqual([
      { field: 'rls-services/service%5B3%5D/@uri', value: 'sip:mybuddies@example.com', altValues: ['sip:mybuddies-3@example.com', 'sip:mybuddies-4@example.com'] },
    ]);
  });

  it('service URIs are unique across the server (serviceUriTaken)', () => {
    const doc = xml(services(`<service uri="sip:taken@example.com"><resource-list>${RL_URI}</resource-list></service>`));
    const taken = new Set(['sip:taken@example.com', 'sip:taken-2@example.com']);
    const r = rlsServicesUsage.validate(doc, { serviceUriTaken: (u) => taken.has(u) });
    expect(code(r)).toBe('xcap-uniqueness-failure');
    expect(!r.ok && r.error.xcap?.exists?.[0]?.altValues).toEqual(['sip:taken-3@example.com', 'sip:taken-4@example.com']);
    expect(code(rlsServicesUsage.validate(doc, { serviceUriTaken: () => false }))).toBe('ok');
  });

  it('a service holds exactly one <list> or <resource-list>, then <packages>', () => {
    const bad = [
      services('<service uri="sip:a@x"/>'),
      services(`<service uri="sip:a@x"><resource-list>${RL_URI}</resource-list><list/></service>`),
      services(`<service uri="sip:a@x"><packages/><resource-list>${RL_URI}</resource-list></service>`),
      services(`<service uri="sip:a@x"><resource-list>${RL_URI}</resource-list><packages/><packages/></service>`),
      services(`<service><resource-list>${RL_URI}</resource-list></service>`),
      services(`<service uri="sip:a@x"><resource-list>${RL_URI}</resource-list><packages><bogus/></packages></service>`),
      services(`<service uri="sip:a@x"><resource-list>${RL_URI}</resource-list><packages><package/></packages></service>`),
      services('<service uri="sip:a@x"><list><entry uri="sip:b@x"/></list></service>'), // <entry> must be in the resource-lists namespace
      '<rls-services xmlns="urn:ietf:params:xml:ns:resource-lists"/>',
    ];
    for (const b of bad) expect(code(check(rlsServicesUsage, b)), b).toBe('xcap-schema-validation-error');
    expect(code(check(rlsServicesUsage, services(`<service uri="sip:a@x"><resource-list>${RL_URI}</resource-list><x:e xmlns:x="urn:x"/></service>`)))).toBe('ok');
    expect(code(check(rlsServicesUsage, services('<service uri="sip:a@x"><list/></service>')))).toBe('ok');
  });

  it('<resource-list> must be an HTTP URI of a resource-lists <list>: constraint-failure', () => {
    expect(code(check(rlsServicesUsage, services('<service uri="sip:a@x"><resource-list>sip:list@example.com</resource-list></service>')))).toBe('xcap-constraint-failure');
  });

  it('an inline list obeys the resource-lists constraints; the field uses an xmlns() query for rl:', () => {
    const r = check(rlsServicesUsage, services('<service uri="sip:a@x"><list><rl:entry uri="sip:b@x"/><rl:entry uri="sip:b@x"/></list></service>'));
    expect(code(r)).toBe('xcap-uniqueness-failure');
    expect(!r.ok && r.error.xcap?.exists?.[0]?.field).toBe(
      'rls-services/service%5B1%5D/list%5B1%5D/rl:entry%5B2%5D/@uri?xmlns(rl=urn:ietf:params:xml:ns:resource-lists)',
    );
  });
});

// ---------------------------------------------------------------------------
// pres-rules (RFC 5025)
// ---------------------------------------------------------------------------

const CP = 'urn:ietf:params:xml:ns:common-policy';
const PR = 'urn:ietf:params:xml:ns:pres-rules';

const rules = (inner: string): string => `<cr:ruleset xmlns:cr="${CP}" xmlns:pr="${PR}">${inner}</cr:ruleset>`;
const rule = (id: string, inner: string): string => `<cr:rule id="${id}">${inner}</cr:rule>`;

describe('pres-rules (RFC 5025 §9) and the OMA alias', () => {
  it('AUIDs, MIME type and default namespace (RFC 5025 §9.1–§9.4)', () => {
    for (const u of [presRulesUsage, omaPresRulesUsage]) {
      expect([u.mimeType, u.defaultNamespace]).toEqual(['application/auth-policy+xml', PR]);
    }
    expect([presRulesUsage.auid, omaPresRulesUsage.auid]).toEqual(['pres-rules', 'org.openmobilealliance.pres-rules']);
  });

  it('accepts the RFC 5025 example under both AUIDs', () => {
    expect(code(check(presRulesUsage, RFC5025_EXAMPLE))).toBe('ok');
    expect(code(check(omaPresRulesUsage, RFC5025_EXAMPLE))).toBe('ok');
  });

  it('accepts every condition form of RFC 4745 and OMA extensions', () => {
    const doc = rules(
      rule(
        'r1',
        `<cr:conditions><cr:identity><cr:many domain="example.com"><cr:except id="sip:bad@example.com"/><cr:except domain="x.example.com"/></cr:many><cr:one id="tel:+123"/></cr:identity>` +
          `<cr:sphere value="work"/><cr:validity><cr:from>2024-01-01T00:00:00Z</cr:from><cr:until>2024-12-31T23:59:59.5+02:00</cr:until></cr:validity>` +
          `<ocp:external-list xmlns:ocp="urn:oma:xml:xdm:common-policy"><ocp:entry anc="http://x/resource-lists/users/sip:a@x/index/~~/resource-lists/list"/></ocp:external-list></cr:conditions>` +
          `<cr:actions><pr:sub-handling>polite-block</pr:sub-handling></cr:actions><cr:transformations><pr:provide-devices><pr:deviceID>urn:uuid:1</pr:deviceID><pr:class>x</pr:class></pr:provide-devices><pr:provide-all-attributes/><pr:provide-note>false</pr:provide-note></cr:transformations>`,
      ) + rule('r2', ''),
    );
    expect(code(check(omaPresRulesUsage, doc))).toBe('ok');
  });

  it('rule ids are unique: uniqueness-failure with an alternative id', () => {
    const r = check(presRulesUsage, rules(rule('a', '') + rule('a', '')));
    expect(code(r)).toBe('xcap-uniqueness-failure');
    expect(!r.ok && r.error.xcap?.exists).toEqual([
      { field: 'cr:ruleset/cr:rule%5B2%5D/@id?xmlns(cr=urn:ietf:params:xml:ns:common-policy)', value: 'a', altValues: ['a-2', 'a-3'] },
    ]);
  });

  it('enforces the schema and the placement of pres-rules elements', () => {
    const bad = [
      `<ruleset xmlns="${PR}"/>`,
      rules('<cr:rule/>'),
      rules(rule('1abc', '')),
      rules(rule('a', '<cr:actions/><cr:conditions/>')),
      rules(rule('a', '<cr:actions/><cr:actions/>')),
      rules(rule('a', '<cr:bogus/>')),
      rules(rule('a', '<x:ext xmlns:x="urn:x"/>')),
      rules('<x:ext xmlns:x="urn:x"/>'),
      rules(rule('a', '<cr:actions><pr:sub-handling>maybe</pr:sub-handling></cr:actions>')),
      rules(rule('a', '<cr:actions><pr:provide-note>true</pr:provide-note></cr:actions>')),
      rules(rule('a', '<cr:transformations><pr:sub-handling>allow</pr:sub-handling></cr:transformations>')),
      rules(rule('a', '<cr:transformations><pr:provide-services><pr:all-services/><pr:class>x</pr:class></pr:provide-services></cr:transformations>')),
      rules(rule('a', '<cr:transformations><pr:provide-persons><pr:deviceID>x</pr:deviceID></pr:provide-persons></cr:transformations>')),
      rules(rule('a', '<cr:transformations><pr:provide-activities>yes</pr:provide-activities></cr:transformations>')),
      rules(rule('a', '<cr:transformations><pr:provide-user-input>some</pr:provide-user-input></cr:transformations>')),
      rules(rule('a', '<cr:transformations><pr:provide-unknown-attribute name="x">true</pr:provide-unknown-attribute></cr:transformations>')),
      rules(rule('a', '<cr:transformations><pr:provide-everything/></cr:transformations>')),
      rules(rule('a', '<cr:transformations><cr:identity/></cr:transformations>')),
      rules(rule('a', '<cr:conditions><cr:identity/></cr:conditions>')),
      rules(rule('a', '<cr:conditions><cr:identity><cr:one/></cr:identity></cr:conditions>')),
      rules(rule('a', '<cr:conditions><cr:sphere/></cr:conditions>')),
      rules(rule('a', '<cr:conditions><cr:validity><cr:from>yesterday</cr:from><cr:until>2024-01-01T00:00:00Z</cr:until></cr:validity></cr:conditions>')),
      rules(rule('a', '<cr:conditions><cr:validity><cr:from>2024-01-01T00:00:00Z</cr:from></cr:validity></cr:conditions>')),
      rules(rule('a', '<cr:conditions><cr:nearby/></cr:conditions>')),
      rules(rule('a', '<cr:conditions>text</cr:conditions>')),
    ];
    for (const b of bad) expect(code(check(presRulesUsage, b)), b).toBe('xcap-schema-validation-error');
  });

  it('node selectors use the pres-rules default namespace: common-policy needs a prefix', () => {
    const doc = xml(RFC5025_EXAMPLE);
    const cp = { cr: CP };
    expect(value(getNode(doc, value(parseNodeSelector('cr:ruleset/cr:rule[@id="a"]/cr:actions/sub-handling', cp, PR)))).body).toBe(
      `<sub-handling xmlns="${PR}">allow</sub-handling>`,
    );
    expect(code(getNode(doc, value(parseNodeSelector('ruleset/rule', {}, PR))))).toBe('not-found');
  });

  it('through PUT: changing sub-handling to an invalid value is refused, to a valid one accepted', () => {
    const doc = xml(RFC5025_EXAMPLE);
    const sel = value(parseNodeSelector('cr:ruleset/cr:rule[@id="a"]/cr:actions/sub-handling', { cr: CP }, PR));
    const ctx = { usage: presRulesUsage, namespaces: { cr: CP } };
    expect(code(putNode(doc, sel, '<sub-handling>maybe</sub-handling>', XCAP_EL_MIME, ctx))).toBe('xcap-schema-validation-error');
    const r = value(putNode(doc, sel, '<sub-handling>block</sub-handling>', XCAP_EL_MIME, ctx));
    expect(value(getNode(r.doc, sel)).body).toBe(`<sub-handling xmlns="${PR}">block</sub-handling>`);
  });
});

// ---------------------------------------------------------------------------
// pidf-manipulation (RFC 4827)
// ---------------------------------------------------------------------------

/** RFC 4827 §5-style example: a person with an activity and a note, a service tuple. */
const RFC4827_DOC = `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf"
   xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model"
   xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid"
   entity="sip:someone@example.com">
  <dm:person id="a1">
    <rpid:activities><rpid:on-the-phone/></rpid:activities>
    <dm:note>On the phone</dm:note>
  </dm:person>
  <tuple id="t1"><status><basic>open</basic></status><contact>sip:someone@example.com</contact></tuple>
</presence>`;

describe('pidf-manipulation (RFC 4827)', () => {
  it('AUID, MIME type and default namespace (RFC 4827 §4)', () => {
    expect([pidfManipulationUsage.auid, pidfManipulationUsage.mimeType, pidfManipulationUsage.defaultNamespace]).toEqual([
      'pidf-manipulation',
      'application/pidf+xml',
      'urn:ietf:params:xml:ns:pidf',
    ]);
  });

  it('accepts a PIDF document and refuses invalid ones with the PIDF detail', () => {
    expect(code(check(pidfManipulationUsage, RFC4827_DOC))).toBe('ok');
    const r = check(pidfManipulationUsage, '<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@x"><tuple id="t"/></presence>');
    expect(code(r)).toBe('xcap-schema-validation-error');
    expect(!r.ok && r.error.detail).toMatch(/status/);
    expect(code(check(pidfManipulationUsage, '<presence xmlns="urn:ietf:params:xml:ns:pidf"/>'))).toBe('xcap-schema-validation-error');
  });
});

// ---------------------------------------------------------------------------
// xcap-caps (RFC 4825 §12) and the registry
// ---------------------------------------------------------------------------

describe('xcap-caps (RFC 4825 §12) and the registry', () => {
  it('accepts the RFC 4825 §12.2 style example', () => {
    const ex = `<?xml version="1.0" encoding="UTF-8"?>
<xcap-caps xmlns="urn:ietf:params:xml:ns:xcap-caps">
  <auids>
    <auid>xcap-caps</auid>
    <auid>resource-lists</auid>
    <auid>rls-services</auid>
  </auids>
  <extensions>
  </extensions>
  <namespaces>
    <namespace>urn:ietf:params:xml:ns:xcap-caps</namespace>
    <namespace>urn:ietf:params:xml:ns:xcap-error</namespace>
    <namespace>urn:ietf:params:xml:ns:resource-lists</namespace>
    <namespace>urn:ietf:params:xml:ns:rls-services</namespace>
  </namespaces>
</xcap-caps>`;
    expect(code(validateXcapCaps(xml(ex)))).toBe('ok');
    expect(code(validateXcapCaps(xml(`<xcap-caps xmlns="${XCAP_CAPS_NS}"><namespaces/></xcap-caps>`)))).toBe('xcap-schema-validation-error');
    expect(code(validateXcapCaps(xml(`<xcap-caps xmlns="${XCAP_CAPS_NS}"><auids><x/></auids><namespaces/></xcap-caps>`)))).toBe('xcap-schema-validation-error');
  });

  it('renders the capabilities of the registry: every AUID and namespace, valid against its own schema', () => {
    const doc = renderXcapCaps(defaultAppUsageRegistry());
    expect(code(validateXcapCaps(doc))).toBe('ok');
    const [auids, extensions, namespaces] = childElements(doc);
    expect(childElements(auids!).map(textContent)).toEqual([
      'xcap-caps',
      'resource-lists',
      'rls-services',
      'pres-rules',
      'org.openmobilealliance.pres-rules',
      'pidf-manipulation',
      'org.openmobilealliance.xcap-directory',
    ]);
    expect(childElements(extensions!)).toEqual([]);
    const ns = childElements(namespaces!).map(textContent);
    for (const n of [XCAP_CAPS_NS, RESOURCE_LISTS_NS, CP, PR, 'urn:ietf:params:xml:ns:pidf', XCAP_DIRECTORY_NS]) expect(ns).toContain(n);
    expect(new Set(ns).size).toBe(ns.length);
    // Node selectors work on the generated document.
    expect(value(getNode(doc, value(parseNodeSelector('xcap-caps/auids/auid[2]', {}, XCAP_CAPS_NS)))).body).toBe(
      `<auid xmlns="${XCAP_CAPS_NS}">resource-lists</auid>`,
    );
  });

  it('xcap-caps and xcap-directory are read-only', () => {
    expect(xcapCapsUsage.readOnly).toBe(true);
    expect(xcapDirectoryUsage.readOnly).toBe(true);
  });

  it('resolves AUIDs and trees: unknown AUID or wrong tree is 404', () => {
    const reg = defaultAppUsageRegistry();
    expect(value(reg.resolve({ auid: 'xcap-caps', tree: 'global' })).auid).toBe('xcap-caps');
    expect(code(reg.resolve({ auid: 'xcap-caps', tree: 'users' }))).toBe('not-found');
    expect(code(reg.resolve({ auid: 'pres-rules', tree: 'global' }))).toBe('not-found');
    expect(value(reg.resolve({ auid: 'rls-services', tree: 'global' })).auid).toBe('rls-services');
    expect(value(reg.resolve({ auid: 'org.openmobilealliance.pres-rules', tree: 'users' })).mimeType).toBe('application/auth-policy+xml');
    expect(code(reg.resolve({ auid: 'nope', tree: 'users' }))).toBe('not-found');
    expect(createAppUsageRegistry([resourceListsUsage]).all()).toEqual([resourceListsUsage]);
  });
});

// ---------------------------------------------------------------------------
// OMA xcap-directory
// ---------------------------------------------------------------------------

describe('org.openmobilealliance.xcap-directory', () => {
  it('AUID, MIME type and namespace', () => {
    expect([xcapDirectoryUsage.auid, xcapDirectoryUsage.mimeType, xcapDirectoryUsage.defaultNamespace]).toEqual([
      'org.openmobilealliance.xcap-directory',
      'application/vnd.oma.xcap-directory+xml',
      'urn:oma:xml:xdm:xcap-directory',
    ]);
  });

  it('renders one folder per AUID with the documents and their ETags', () => {
    const doc = renderXcapDirectory(
      [
        { uri: 'http://xcap.example.com/resource-lists/users/sip:joe@example.com/index', etag: 'e1', lastModified: Date.UTC(2024, 0, 2, 3, 4, 5), size: 1234 },
        { uri: 'http://xcap.example.com/pres-rules/users/sip:joe@example.com/index', etag: 'e2' },
        { uri: 'http://xcap.example.com/x/rls-services/users/sip%3Ajoe%40example.com/index', etag: 'e3', lastModified: '2024-05-06T07:08:09Z', auid: 'rls-services' },
      ],
      ['resource-lists', 'rls-services', 'pidf-manipulation'],
    );
    expect(code(validateXcapDirectory(doc))).toBe('ok');
    const folders = childElements(doc);
    expect(folders.map((f) => [attr(f, 'auid'), childElements(f).map((e) => attr(e, 'etag'))])).toEqual([
      ['resource-lists', ['e1']],
      ['rls-services', ['e3']],
      ['pidf-manipulation', []],
      ['pres-rules', ['e2']],
    ]);
    const e1 = childElements(folders[0]!)[0]!;
    expect([attr(e1, 'last-modified'), attr(e1, 'size')]).toEqual(['2024-01-02T03:04:05.000Z', '1234']);
  });

  it('validates the OMA schema', () => {
    const D = `xmlns="${XCAP_DIRECTORY_NS}"`;
    expect(code(validateXcapDirectory(xml(`<xcap-directory ${D}><folder auid="a"><error-code>500</error-code></folder></xcap-directory>`)))).toBe('ok');
    for (const b of [
      `<xcap-directory ${D}><folder/></xcap-directory>`,
      `<xcap-directory ${D}><folder auid="a"><entry uri="u"/></folder></xcap-directory>`,
      `<xcap-directory ${D}><folder auid="a"><entry uri="u" etag="e" size="-1"/></folder></xcap-directory>`,
      `<xcap-directory ${D}><folder auid="a"><entry uri="u" etag="e"/><error-code>1</error-code></folder></xcap-directory>`,
      `<directory ${D}/>`,
    ]) {
      expect(code(validateXcapDirectory(xml(b))), b).toBe('xcap-schema-validation-error');
    }
  });
});

describe('schema toolkit', () => {
  it('fieldUri addresses an element by names and positions from the root', () => {
    const doc = xml(RFC4826_LISTS);
    const friends = childElements(doc)[0]!;
    const close = childElements(friends, RESOURCE_LISTS_NS, 'list')[0]!;
    const nancy = childElements(close, RESOURCE_LISTS_NS, 'entry')[1]!;
    const f = fieldUri([doc, friends, close, nancy], RESOURCE_LISTS_NS, 'uri');
    expect(f).toBe('resource-lists/list%5B1%5D/list%5B1%5D/entry%5B2%5D/@uri');
    const s = value(parseNodeSelector(decodeURIComponent(f), {}, RESOURCE_LISTS_NS));
    expect(value(getNode(doc, s)).body).toBe('sip:nancy@example.com');
  });

  it('alternatives number the user part of URIs and suffix other values', () => {
    expect(alternatives('sip:joe@example.com', () => false, 1)).toEqual(['sip:joe-2@example.com']);
    expect(alternatives('friends', (v) => v === 'friends-2', 2)).toEqual(['friends-3', 'friends-4']);
  });
});
