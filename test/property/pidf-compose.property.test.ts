import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { XML_NS, type XmlElement, type XmlNode } from '../../core/xml/xml-node.js';
import { elementEquals } from '../../core/xml/xml-query.js';
import {
  DATA_MODEL_NS,
  PIDF_NS,
  RPID_NS,
  parsePidf,
  type PidfDocument,
  type PidfItem,
} from '../../core/packages/presence/pidf-document.js';
import { composePidf, type PublishedPidf } from '../../core/packages/presence/pidf-compose.js';
import { renderPidf } from '../../core/packages/presence/pidf-render.js';

const ENTITY = 'sip:alice@example.com';
const IDS = ['a', 'b', 'c', 'd', 'e', 'f'];
type Kind = 'tuple' | 'person' | 'device';
const KINDS: readonly Kind[] = ['tuple', 'person', 'device'];

function el(ns: string, local: string, prefix: string, attrs: XmlElement['attrs'], children: XmlNode[]): XmlElement {
  return { kind: 'element', ns, local, prefix, attrs, children };
}
const text = (t: string): XmlNode => ({ kind: 'text', text: t });

/** An element of the given kind; `marker` makes each generated element distinguishable. */
function item(kind: Kind, id: string, marker: string, flavour: number): XmlElement {
  const idAttr = [{ ns: '', local: 'id', prefix: '', value: id }];
  switch (kind) {
    case 'tuple':
      return el(PIDF_NS, 'tuple', '', idAttr, [
        el(PIDF_NS, 'status', '', [], [el(PIDF_NS, 'basic', '', [], [text(flavour % 2 === 0 ? 'open' : 'closed')])]),
        el(PIDF_NS, 'note', '', [], [text(marker)]),
      ]);
    case 'person':
      return el(DATA_MODEL_NS, 'person', flavour % 2 === 0 ? 'dm' : 'p', idAttr, [
        el(RPID_NS, 'activities', 'rpid', [], [el(RPID_NS, flavour % 3 === 0 ? 'away' : 'busy', 'rpid', [], [])]),
        el(DATA_MODEL_NS, 'note', 'dm', [{ ns: XML_NS, local: 'lang', prefix: 'xml', value: 'en' }], [text(marker)]),
      ]);
    case 'device':
      return el(DATA_MODEL_NS, 'device', 'dm', idAttr, [el(DATA_MODEL_NS, 'deviceID', 'dm', [], [text(`urn:x:${marker}`)])]);
  }
}

const noteArb = fc
  .record({ lang: fc.constantFrom(undefined, 'en', 'fr'), text: fc.constantFrom('Lunch', 'Busy & <away>', 'Back soon') })
  .map(({ lang, text: t }) =>
    el(PIDF_NS, 'note', '', lang === undefined ? [] : [{ ns: XML_NS, local: 'lang', prefix: 'xml', value: lang }], [text(t)]),
  );
const extensionArb = fc
  .record({ prefix: fc.constantFrom('v', 'w', 'vendor'), value: fc.constantFrom('1', '2'), local: fc.constantFrom('ext', 'flag') })
  .map(({ prefix, value, local }) => el('urn:vendor', local, prefix, [{ ns: 'urn:vendor', local: 'k', prefix, value }], []));

/** One publication's content: items with ids unique within the document (as parsePidf guarantees). */
const docArb = (index: number): fc.Arbitrary<PidfDocument> =>
  fc
    .record({
      items: fc.uniqueArray(
        fc.record({ id: fc.constantFrom(...IDS), kind: fc.constantFrom(...KINDS), flavour: fc.nat(5) }),
        { selector: (i) => i.id, maxLength: 5 },
      ),
      notes: fc.array(noteArb, { maxLength: 3 }),
      extensions: fc.array(extensionArb, { maxLength: 3 }),
    })
    .map(({ items, notes, extensions }) => {
      const of = (kind: Kind): PidfItem[] =>
        items.filter((i) => i.kind === kind).map((i) => ({ id: i.id, element: item(kind, i.id, `pub${index}-${i.id}`, i.flavour) }));
      return { entity: `sip:device${index}@example.com`, tuples: of('tuple'), persons: of('person'), devices: of('device'), notes, extensions };
    });

/** Publications with distinct orders. */
const publicationsArb: fc.Arbitrary<PublishedPidf[]> = fc
  .uniqueArray(fc.integer({ min: -1000, max: 1000 }), { maxLength: 6 })
  .chain((orders) => fc.tuple(...orders.map((order, i) => docArb(i).map((doc): PublishedPidf => ({ doc, order })))))
  .map((pubs) => [...pubs]);

const allItems = (d: PidfDocument): PidfItem[] => [...d.tuples, ...d.persons, ...d.devices];

function sameItems(a: readonly PidfItem[], b: readonly PidfItem[]): boolean {
  return a.length === b.length && a.every((x, i) => x.id === b[i]!.id && elementEquals(x.element, b[i]!.element));
}
function sameElements(a: readonly XmlElement[], b: readonly XmlElement[]): boolean {
  return a.length === b.length && a.every((x, i) => elementEquals(x, b[i]!));
}

describe('composePidf (property)', () => {
  it('(a) is invariant under permutation of the input array', () => {
    fc.assert(
      fc.property(
        publicationsArb.chain((pubs) => fc.tuple(fc.constant(pubs), fc.shuffledSubarray(pubs, { minLength: pubs.length, maxLength: pubs.length }))),
        ([pubs, shuffled]) => {
          expect(composePidf(ENTITY, shuffled)).toEqual(composePidf(ENTITY, pubs));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('(b) keeps every id at most once per kind, and once across kinds', () => {
    fc.assert(
      fc.property(publicationsArb, (pubs) => {
        const c = composePidf(ENTITY, pubs);
        for (const list of [c.tuples, c.persons, c.devices]) {
          const ids = list.map((i) => i.id);
          expect(new Set(ids).size).toBe(ids.length);
        }
        const all = allItems(c).map((i) => i.id);
        expect(new Set(all).size).toBe(all.length);
      }),
      { numRuns: 300 },
    );
  });

  it('(c) takes the element for an id from the highest-order publication that has it, and loses no id', () => {
    fc.assert(
      fc.property(publicationsArb, (pubs) => {
        const c = composePidf(ENTITY, pubs);
        const result = new Map(allItems(c).map((i) => [i.id, i.element]));
        const published = new Set(pubs.flatMap((p) => allItems(p.doc).map((i) => i.id)));
        expect(new Set(result.keys())).toEqual(published);
        for (const id of published) {
          const newest = pubs
            .filter((p) => allItems(p.doc).some((i) => i.id === id))
            .reduce((a, b) => (b.order > a.order ? b : a));
          const expected = allItems(newest.doc).find((i) => i.id === id)!.element;
          expect(result.get(id)).toBe(expected);
        }
        // Newest publication first: the orders of the publications behind the tuples never increase.
        const orderOf = (e: XmlElement): number => pubs.find((p) => allItems(p.doc).some((i) => i.element === e))!.order;
        for (const list of [c.tuples, c.persons, c.devices]) {
          const orders = list.map((i) => orderOf(i.element));
          expect([...orders].sort((x, y) => y - x)).toEqual(orders);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('de-duplicates notes and extensions and keeps the entity given', () => {
    fc.assert(
      fc.property(publicationsArb, (pubs) => {
        const c = composePidf(ENTITY, pubs);
        expect(c.entity).toBe(ENTITY);
        for (const list of [c.notes, c.extensions]) {
          for (let i = 0; i < list.length; i++) {
            for (let j = i + 1; j < list.length; j++) expect(elementEquals(list[i]!, list[j]!)).toBe(false);
          }
        }
        const everyNote = pubs.flatMap((p) => p.doc.notes);
        for (const n of everyNote) expect(c.notes.some((m) => elementEquals(m, n))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('(d) render → parsePidf gives back the same model', () => {
    fc.assert(
      fc.property(publicationsArb, (pubs) => {
        const c = composePidf(ENTITY, pubs);
        const body = renderPidf(c);
        const r = parsePidf(body);
        if (!r.ok) throw new Error(`${r.error.code}: ${r.error.detail ?? ''}\n${body}`);
        const back = r.value;
        expect(back.entity).toBe(c.entity);
        expect(sameItems(back.tuples, c.tuples)).toBe(true);
        expect(sameItems(back.persons, c.persons)).toBe(true);
        expect(sameItems(back.devices, c.devices)).toBe(true);
        expect(sameElements(back.notes, c.notes)).toBe(true);
        expect(sameElements(back.extensions, c.extensions)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
