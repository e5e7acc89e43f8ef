import { describe, it, expect } from 'vitest';
import { XML_NS } from '../../../../../core/xml/xml-node.js';
import { attr, textContent } from '../../../../../core/xml/xml-query.js';
import { DATA_MODEL_NS, PIDF_NS, RPID_NS, parsePidf, type PidfDocument } from '../../../../../core/packages/presence/pidf-document.js';
import { composePidf, type PublishedPidf } from '../../../../../core/packages/presence/pidf-compose.js';
import { neutralPidf } from '../../../../../core/packages/presence/pidf-render.js';
import { BRIA_PUBLISH, LINPHONE_PUBLISH, RFC3863_EXAMPLE } from './pidf-examples.js';

const ENTITY = 'sip:alice@example.com';

function doc(inner: string, entity = ENTITY): PidfDocument {
  const r = parsePidf(
    `<presence xmlns="${PIDF_NS}" xmlns:dm="${DATA_MODEL_NS}" xmlns:rpid="${RPID_NS}" entity="${entity}">${inner}</presence>`,
  );
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.detail ?? ''}`);
  return r.value;
}
function parsed(text: string): PidfDocument {
  const r = parsePidf(text);
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.detail ?? ''}`);
  return r.value;
}
const tuple = (id: string, basic: string, note = ''): string =>
  `<tuple id="${id}"><status><basic>${basic}</basic></status>${note === '' ? '' : `<note>${note}</note>`}</tuple>`;
const person = (id: string, activity: string): string =>
  `<dm:person id="${id}"><rpid:activities><rpid:${activity}/></rpid:activities></dm:person>`;

/** A compact view of a composed document for assertions. */
function summary(d: PidfDocument): { tuples: string[]; notes: string[] } {
  return {
    tuples: d.tuples.map((t) => `${t.id}=${textContent(t.element)}`),
    notes: d.notes.map((n) => `${attr(n, 'lang', XML_NS) ?? '-'}:${textContent(n)}`),
  };
}

describe('composePidf', () => {
  it('unions the tuples and persons of different devices, newest publication first', () => {
    const phone: PublishedPidf = { doc: doc(tuple('phone', 'open') + person('pp', 'on-the-phone')), order: 2 };
    const pc: PublishedPidf = { doc: doc(tuple('pc', 'closed') + person('pc-person', 'away')), order: 1 };
    const c = composePidf(ENTITY, [pc, phone]);
    expect(c.tuples.map((t) => t.id)).toEqual(['phone', 'pc']);
    expect(c.persons.map((t) => t.id)).toEqual(['pp', 'pc-person']);
  });

  it('lets the newer publication win for an id and never duplicates it (republish)', () => {
    const old: PublishedPidf = { doc: doc(tuple('t1', 'open', 'old') + tuple('t2', 'open')), order: 5 };
    const newer: PublishedPidf = { doc: doc(tuple('t1', 'closed', 'new')), order: 9 };
    const c = composePidf(ENTITY, [old, newer]);
    expect(summary(c).tuples).toEqual(['t1=closednew', 't2=open']);
    expect(c.tuples[0]!.element).toBe(newer.doc.tuples[0]!.element);
  });

  it('shares one id space across tuples, persons and devices (xs:ID)', () => {
    const older: PublishedPidf = { doc: doc(person('x', 'away') + '<dm:device id="d"><dm:deviceID>urn:x</dm:deviceID></dm:device>'), order: 1 };
    const newer: PublishedPidf = { doc: doc(tuple('x', 'open') + tuple('d', 'open')), order: 2 };
    const c = composePidf(ENTITY, [older, newer]);
    expect(c.tuples.map((t) => t.id)).toEqual(['x', 'd']);
    expect(c.persons).toEqual([]);
    expect(c.devices).toEqual([]);
  });

  it('keeps document order within one publication', () => {
    const p: PublishedPidf = { doc: doc(tuple('c', 'open') + tuple('a', 'open') + tuple('b', 'open')), order: 1 };
    expect(composePidf(ENTITY, [p]).tuples.map((t) => t.id)).toEqual(['c', 'a', 'b']);
  });

  it('de-duplicates presence-level notes by (xml:lang, text), newest first', () => {
    const a: PublishedPidf = { doc: doc('<note xml:lang="en">Lunch</note><note>Lunch</note><note xml:lang="fr">Déjeuner</note>'), order: 1 };
    const b: PublishedPidf = { doc: doc('<note xml:lang="en">Lunch</note><note xml:lang="de">Mittag</note><note xml:lang="en">Lunch</note>'), order: 2 };
    expect(summary(composePidf(ENTITY, [a, b])).notes).toEqual(['en:Lunch', 'de:Mittag', '-:Lunch', 'fr:Déjeuner']);
  });

  it('de-duplicates extensions by canonical form, whatever their prefixes', () => {
    const a: PublishedPidf = { doc: doc('<v:ext xmlns:v="urn:vendor" v:k="1">x</v:ext><v:other xmlns:v="urn:vendor"/>'), order: 1 };
    const b: PublishedPidf = { doc: doc('<w:ext xmlns:w="urn:vendor" w:k="1">x</w:ext><w:ext xmlns:w="urn:vendor" w:k="2">x</w:ext>'), order: 2 };
    const c = composePidf(ENTITY, [a, b]);
    expect(c.extensions.map((e) => `${e.prefix}:${e.local}=${attr(e, 'k', 'urn:vendor') ?? ''}`)).toEqual([
      'w:ext=1',
      'w:ext=2',
      'v:other=',
    ]);
  });

  it('uses the given presentity as entity', () => {
    const p: PublishedPidf = { doc: doc(tuple('t', 'open'), 'sip:other@example.com'), order: 1 };
    expect(composePidf(ENTITY, [p]).entity).toBe(ENTITY);
  });

  it('composes nothing into a neutral document', () => {
    expect(composePidf(ENTITY, [])).toEqual(neutralPidf(ENTITY));
  });

  it('does not depend on the order of the input array', () => {
    const pubs: PublishedPidf[] = [
      { doc: parsed(BRIA_PUBLISH), order: 3 },
      { doc: parsed(LINPHONE_PUBLISH), order: 7 },
      { doc: parsed(RFC3863_EXAMPLE), order: 1 },
      { doc: doc(tuple('qmlxid', 'closed') + '<note>x</note>'), order: 5 },
    ];
    const expected = composePidf(ENTITY, pubs);
    expect(expected.tuples.map((t) => t.id)).toEqual(['qmlxid', 't4b2e8c1a', 'bs35r9', 'eg92n8']);
    expect(expected.tuples[0]!.element).toBe(pubs[1]!.doc.tuples[0]!.element);
    for (const perm of [[3, 2, 1, 0], [1, 3, 0, 2], [2, 0, 3, 1]]) {
      expect(composePidf(ENTITY, perm.map((i) => pubs[i]!))).toEqual(expected);
    }
  });
});
