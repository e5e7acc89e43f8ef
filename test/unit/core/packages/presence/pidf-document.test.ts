import { describe, it, expect } from 'vitest';
import type { Result } from '../../../../../core/errors.js';
import { XML_NS } from '../../../../../core/xml/xml-node.js';
import { parseXml } from '../../../../../core/xml/xml-parser.js';
import { attr, childElements, textContent } from '../../../../../core/xml/xml-query.js';
import {
  CIPID_NS,
  DATA_MODEL_NS,
  PIDF_NS,
  RPID_NS,
  parsePidf,
  pidfFromElement,
  type PidfDocument,
} from '../../../../../core/packages/presence/pidf-document.js';
import {
  BLF_MINIMAL,
  BRIA_PUBLISH,
  LINPHONE_PUBLISH,
  RFC3863_EXAMPLE,
  RFC4479_EXAMPLE,
  RFC4480_EXAMPLE,
} from './pidf-examples.js';

function doc(text: string): PidfDocument {
  const r = parsePidf(text);
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.detail ?? ''}`);
  return r.value;
}

function error(r: Result<unknown>): { code: string; detail: string } {
  if (r.ok) throw new Error('expected a failure');
  return { code: r.error.code, detail: r.error.detail ?? '' };
}

const P = `xmlns="${PIDF_NS}" xmlns:dm="${DATA_MODEL_NS}" xmlns:rpid="${RPID_NS}"`;
const OPEN = '<status><basic>open</basic></status>';
/** A presence document around `inner`. */
const presence = (inner: string, entity = 'sip:alice@example.com'): string =>
  `<presence ${P} entity="${entity}">${inner}</presence>`;

describe('parsePidf: realistic documents', () => {
  it('RFC 3863 §5 (prefixed PIDF namespace)', () => {
    const d = doc(RFC3863_EXAMPLE);
    expect(d.entity).toBe('pres:someone@example.com');
    expect(d.tuples.map((t) => t.id)).toEqual(['bs35r9', 'eg92n8']);
    expect(d.persons).toEqual([]);
    expect(d.devices).toEqual([]);
    expect(d.notes.map(textContent)).toEqual(["I'll be in Tokyo next week"]);
    expect(d.extensions).toEqual([]);
    const t = d.tuples[0]!.element;
    const notes = childElements(t, PIDF_NS, 'note');
    expect(notes.map((n) => attr(n, 'lang', XML_NS))).toEqual(['en', 'fr']);
    expect(textContent(notes[1]!)).toBe("Ne dérangez pas, s'il vous plait");
    const status = childElements(t, PIDF_NS, 'status')[0]!;
    expect(childElements(status).map((c) => c.ns)).toEqual([
      PIDF_NS,
      'urn:ietf:params:xml:ns:pidf:im',
      'http://id.example.com/presence/',
    ]);
  });

  it('RFC 4479 (tuple, person, device)', () => {
    const d = doc(RFC4479_EXAMPLE);
    expect(d.tuples.map((t) => t.id)).toEqual(['sg89ae']);
    expect(d.persons.map((p) => p.id)).toEqual(['p1']);
    expect(d.devices.map((p) => p.id)).toEqual(['pc122']);
    expect(d.persons[0]!.element.ns).toBe(DATA_MODEL_NS);
    const activities = childElements(d.persons[0]!.element, RPID_NS, 'activities')[0]!;
    expect(childElements(activities).map((a) => a.local)).toEqual(['on-the-phone']);
  });

  it('RFC 4480 RPID (activities, mood, place-type, privacy)', () => {
    const d = doc(RFC4480_EXAMPLE);
    expect(d.tuples.map((t) => t.id)).toEqual(['bs35r9', 'ty4658', 'eg92n8']);
    expect(d.devices.map((x) => x.id)).toEqual(['pc147']);
    expect(d.persons.map((x) => x.id)).toEqual(['p1']);
    expect(d.notes.length).toBe(1);
    const person = d.persons[0]!.element;
    expect(childElements(person, RPID_NS).map((c) => c.local)).toEqual([
      'activities', 'class', 'mood', 'place-is', 'place-type', 'privacy', 'sphere', 'status-icon', 'time-offset',
    ]);
    const placeType = childElements(person, RPID_NS, 'place-type')[0]!;
    expect(childElements(placeType)[0]).toMatchObject({ ns: 'urn:ietf:params:xml:ns:location-type', local: 'residence' });
    expect(attr(childElements(person, RPID_NS, 'activities')[0]!, 'until')).toBe('2005-05-30T17:00:00+05:00');
  });

  it('Bria-style publish (dm:person + rpid:activities + dm:note)', () => {
    const d = doc(BRIA_PUBLISH);
    expect(d.entity).toBe('sip:1001@pbx.example.com');
    expect(d.tuples.map((t) => t.id)).toEqual(['t4b2e8c1a']);
    expect(d.persons.map((t) => t.id)).toEqual(['p2f9a0c1']);
    expect(textContent(childElements(d.persons[0]!.element, DATA_MODEL_NS, 'note')[0]!)).toBe('On the phone');
    expect(CIPID_NS).toBe('urn:ietf:params:xml:ns:pidf:cipid');
  });

  it('Linphone-style publish', () => {
    const d = doc(LINPHONE_PUBLISH);
    expect(d.tuples.map((t) => t.id)).toEqual(['qmlxid']);
    expect(d.persons.map((t) => t.id)).toEqual(['bbjqdr']);
  });

  it('BLF-ish minimal tuple', () => {
    const d = doc(BLF_MINIMAL);
    expect(d.entity).toBe('sip:200@pbx.example.com');
    expect(d.tuples.length).toBe(1);
    expect(d.notes.map(textContent)).toEqual(['On the phone']);
  });

  it('accepts a presence with no children at all', () => {
    const d = doc(`<presence xmlns="${PIDF_NS}" entity="pres:x@example.com"/>`);
    expect(d).toEqual({ entity: 'pres:x@example.com', tuples: [], persons: [], devices: [], notes: [], extensions: [] });
  });

  it('keeps unknown namespaces verbatim as extensions and accepts them anywhere', () => {
    const d = doc(
      presence(
        `<x:vendor xmlns:x="urn:vendor" x:a="1"><x:deep>v</x:deep></x:vendor>` +
          `<tuple id="t1"><status><basic>open</basic><x:s xmlns:x="urn:vendor"/></status><x:t xmlns:x="urn:vendor"/></tuple>` +
          `<dm:person id="p"><x:p xmlns:x="urn:vendor"/></dm:person>`,
      ),
    );
    expect(d.extensions.map((e) => `${e.ns}|${e.local}`)).toEqual(['urn:vendor|vendor']);
    expect(attr(d.extensions[0]!, 'a', 'urn:vendor')).toBe('1');
    expect(d.tuples.length).toBe(1);
  });

  it('does not enforce the order of presence-level children', () => {
    const d = doc(presence(`<dm:person id="p"/><note>n</note><tuple id="t">${OPEN}</tuple>`));
    expect([d.tuples.length, d.persons.length, d.notes.length]).toEqual([1, 1, 1]);
  });

  it('accepts a tuple whose status has no <basic> and trims ids and basic values', () => {
    const d = doc(presence(`<tuple id=" t1 "><status><basic> closed </basic></status></tuple><tuple id="t2"><status/></tuple>`));
    expect(d.tuples.map((t) => t.id)).toEqual(['t1', 't2']);
  });

  it('accepts contact priorities on the 0..1 scale', () => {
    for (const p of ['0', '1', '0.5', '1.0', '.25', '0.', '+0.3', '0.000']) {
      expect(parsePidf(presence(`<tuple id="t">${OPEN}<contact priority="${p}">sip:a@b</contact></tuple>`)).ok).toBe(true);
    }
  });

  it('pidfFromElement validates an already parsed tree', () => {
    const parsed = parseXml(BLF_MINIMAL);
    if (!parsed.ok) throw new Error('parse');
    const r = pidfFromElement(parsed.value);
    expect(r.ok && r.value.tuples[0]!.id).toBe('ext200');
  });
});

describe('parsePidf: refusals', () => {
  const invalid: Record<string, [string, RegExp]> = {
    'root not presence': [`<tuple xmlns="${PIDF_NS}" id="t">${OPEN}</tuple>`, /root element must be <presence>/],
    'presence in the wrong namespace': ['<presence xmlns="urn:other" entity="sip:a@b"/>', /root element/],
    'presence in no namespace': ['<presence entity="sip:a@b"/>', /root element/],
    'no entity': [`<presence xmlns="${PIDF_NS}"/>`, /no entity attribute/],
    'empty entity': [presence('', ''), /not a URI/],
    'entity not a URI': [presence('', 'alice at example'), /not a URI/],
    'tuple without id': [presence(`<tuple>${OPEN}</tuple>`), /<tuple> #1 has no id/],
    'tuple without status': [presence('<tuple id="t"><contact>sip:a@b</contact></tuple>'), /exactly one <status>, found 0/],
    'tuple with two statuses': [presence(`<tuple id="t">${OPEN}${OPEN}</tuple>`), /exactly one <status>, found 2/],
    'basic neither open nor closed': [presence('<tuple id="t"><status><basic>busy</basic></status></tuple>'), /"open" or "closed", found "busy"/],
    'two basics': [presence('<tuple id="t"><status><basic>open</basic><basic>open</basic></status></tuple>'), /more than one <basic>/],
    'unknown PIDF element in status': [presence('<tuple id="t"><status><busy/></status></tuple>'), /unknown PIDF element <busy> in <status>/],
    'priority above 1': [presence(`<tuple id="t">${OPEN}<contact priority="1.5">sip:a@b</contact></tuple>`), /outside 0\.\.1/],
    'negative priority': [presence(`<tuple id="t">${OPEN}<contact priority="-0.1">sip:a@b</contact></tuple>`), /outside 0\.\.1/],
    'priority not a decimal': [presence(`<tuple id="t">${OPEN}<contact priority="high">sip:a@b</contact></tuple>`), /not a decimal/],
    'priority in exponent form': [presence(`<tuple id="t">${OPEN}<contact priority="1e-1">sip:a@b</contact></tuple>`), /not a decimal/],
    'two contacts': [presence(`<tuple id="t">${OPEN}<contact>sip:a@b</contact><contact>sip:c@d</contact></tuple>`), /more than one <contact>/],
    'two timestamps': [presence(`<tuple id="t">${OPEN}<timestamp>2001-10-27T16:49:29Z</timestamp><timestamp>2001-10-27T16:49:29Z</timestamp></tuple>`), /more than one <timestamp>/],
    'unknown PIDF element in tuple': [presence(`<tuple id="t">${OPEN}<location>home</location></tuple>`), /unknown PIDF element <location> in <tuple>/],
    'person without id': [presence('<dm:person/>'), /<person> #1 has no id/],
    'device without id': [presence('<dm:device><dm:deviceID>x</dm:deviceID></dm:device>'), /<device> #1 has no id/],
    'person id with whitespace': [presence('<dm:person id="a b"/>'), /invalid id/],
    'duplicate tuple ids': [presence(`<tuple id="x">${OPEN}</tuple><tuple id="x">${OPEN}</tuple>`), /id "x" is used more than once/],
    'tuple and person sharing an id': [presence(`<tuple id="x">${OPEN}</tuple><dm:person id="x"/>`), /id "x" is used more than once/],
    'person and device sharing an id': [presence('<dm:person id="x"/><dm:device id="x"/>'), /id "x" is used more than once/],
    'unknown PIDF element at presence level': [presence('<status><basic>open</basic></status>'), /unknown PIDF element <status> in <presence>/],
    'text in presence': [presence('hello'), /character data/],
  };
  for (const [name, [body, detail]] of Object.entries(invalid)) {
    it(`${name} → invalid-document`, () => {
      const e = error(parsePidf(body));
      expect(e.code).toBe('invalid-document');
      expect(e.detail).toMatch(detail);
    });
  }

  it('maps XML-level problems to malformed-body / body-too-large', () => {
    expect(error(parsePidf('<presence')).code).toBe('malformed-body');
    expect(error(parsePidf(`<!DOCTYPE presence [<!ENTITY e SYSTEM "file:///etc/passwd">]>${presence('&e;')}`)).code).toBe('malformed-body');
    expect(error(parsePidf(`<?xml version="1.0" encoding="ISO-8859-1"?>${presence('')}`)).code).toBe('malformed-body');
    expect(error(parsePidf(presence(`<tuple id="t">${OPEN}<note>${'x'.repeat(70 * 1024)}</note></tuple>`))).code).toBe('body-too-large');
    expect(error(parsePidf(RFC4480_EXAMPLE, { maxBytes: 512 })).code).toBe('body-too-large');
  });
});

describe('interoperability', () => {
  it('accepts the numeric tuple ids PBXes publish (not NCNames)', () => {
    const r = parsePidf(
      '<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:1001@pbx.example"><tuple id="1001"><status><basic>open</basic></status></tuple></presence>',
    );
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.value.tuples[0]?.id).toBe('1001');
  });
});
