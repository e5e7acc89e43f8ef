/**
 * Composition of all live publications of one presentity into a single PIDF
 * document (RFC 3903 §2: the compositor; RFC 3863 §4 / RFC 4479 §4 / RFC
 * 4480: what the document may contain).
 *
 * Composition policy (deterministic):
 *
 * 1. Publications are processed newest first, by descending `order` (larger
 *    = more recently published or modified); equal orders, which should not
 *    occur, are broken by position in the input.
 * 2. Tuples, persons and devices are unioned by `id`. The id space is shared
 *    by all three kinds (they are all xs:ID in one document, RFC 4479 §4), so
 *    an id is kept once: the element from the newest publication carrying
 *    that id wins and every older element with the same id — whatever its
 *    kind — is dropped. A client that republishes under a new entity-tag
 *    therefore never duplicates its tuples.
 * 3. Output order is newest publication first, document order within one
 *    publication, separately for tuples, persons and devices.
 * 4. Presence-level notes are unioned, de-duplicated by (xml:lang, text),
 *    newest first.
 * 5. Other presence-level elements (extensions) are unioned, de-duplicated by
 *    their canonical form (namespace-aware, prefixes and attribute order
 *    ignored), newest first.
 * 6. The `entity` of the result is the presentity URI given, not the one
 *    found in the publications.
 *
 * The result depends only on the publications and their `order`, never on
 * the order of the input array.
 */
import { XML_NS, type XmlElement } from '../../xml/xml-node.js';
import { attr, canonicalKey, textContent } from '../../xml/xml-query.js';
import type { PidfDocument, PidfItem } from './pidf-document.js';

/** One live publication (RFC 3903 §4.1) of the presentity. */
export interface PublishedPidf {
  readonly doc: PidfDocument;
  /** larger order = more recently published/modified */
  readonly order: number;
}

function addItems(items: readonly PidfItem[], seen: Set<string>, out: PidfItem[]): void {
  for (const item of items) {
    if (seen.has(item.id)) continue;
    seen.add(item.id);
    out.push(item);
  }
}

function addUnique(
  elements: readonly XmlElement[],
  key: (el: XmlElement) => string,
  seen: Set<string> | undefined,
  out: XmlElement[],
): void {
  for (const el of elements) {
    if (seen === undefined) {
      out.push(el);
      continue;
    }
    const k = key(el);
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(el);
  }
}

const noteKey = (note: XmlElement): string => `${attr(note, 'lang', XML_NS) ?? ''}\u0000${textContent(note)}`;

/**
 * Composes the live publications of `entity` into one PIDF document
 * following the policy above (RFC 3903 §2 leaves the policy to the
 * compositor; RFC 4479 §4 gives the id semantics).
 */
export function composePidf(entity: string, publications: readonly PublishedPidf[]): PidfDocument {
  const byRecency = publications.map((_, i) => i);
  byRecency.sort((a, b) => publications[b]!.order - publications[a]!.order || a - b);

  const ids = new Set<string>();
  let noteCount = 0;
  let extensionCount = 0;
  for (const p of publications) {
    noteCount += p.doc.notes.length;
    extensionCount += p.doc.extensions.length;
  }
  // Keys are only computed when there is something to de-duplicate.
  const noteKeys = noteCount > 1 ? new Set<string>() : undefined;
  const extensionKeys = extensionCount > 1 ? new Set<string>() : undefined;
  const tuples: PidfItem[] = [];
  const persons: PidfItem[] = [];
  const devices: PidfItem[] = [];
  const notes: XmlElement[] = [];
  const extensions: XmlElement[] = [];
  for (const i of byRecency) {
    const doc = publications[i]!.doc;
    addItems(doc.tuples, ids, tuples);
    addItems(doc.persons, ids, persons);
    addItems(doc.devices, ids, devices);
    addUnique(doc.notes, noteKey, noteKeys, notes);
    addUnique(doc.extensions, canonicalKey, extensionKeys, extensions);
  }
  return { entity, tuples, persons, devices, notes, extensions };
}
