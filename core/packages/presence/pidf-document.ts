/**
 * The PIDF document model: RFC 3863 (PIDF) with the RFC 4479 data model
 * (`person`, `device`) and RFC 4480 (RPID) / RFC 4482 (CIPID) extensions kept
 * as opaque elements.
 *
 * Validation follows the schemas where it matters for composition and
 * privacy (root, entity, ids, status, contact priority) and is lenient where
 * deployed clients differ: the order of presence-level children is not
 * enforced, `<basic>` and ids are compared after trimming white space, and
 * elements in namespaces other than PIDF are accepted anywhere (the schema's
 * `##other` wildcards, RFC 3863 §4.4; `mustUnderstand` is not used).
 */
import { fail, ok, type Result } from '../../errors.js';
import type { XmlElement } from '../../xml/xml-node.js';
import { parseXml, type XmlLimits } from '../../xml/xml-parser.js';
import { attr } from '../../xml/xml-query.js';

export const PIDF_NS = 'urn:ietf:params:xml:ns:pidf';
export const DATA_MODEL_NS = 'urn:ietf:params:xml:ns:pidf:data-model';
export const RPID_NS = 'urn:ietf:params:xml:ns:pidf:rpid';
export const CIPID_NS = 'urn:ietf:params:xml:ns:pidf:cipid';

/** A `<tuple>`, `<person>` or `<device>` with its (trimmed) `id`. */
export interface PidfItem {
  readonly id: string;
  readonly element: XmlElement;
}

export interface PidfDocument {
  /** The presentity URI (`entity` attribute of `<presence>`, RFC 3863 §4.1.1). */
  readonly entity: string;
  /** `<tuple>` elements (PIDF_NS, RFC 3863 §4.1.2), in document order. */
  readonly tuples: readonly PidfItem[];
  /** `<person>` elements (DATA_MODEL_NS, RFC 4479 §3.2). */
  readonly persons: readonly PidfItem[];
  /** `<device>` elements (DATA_MODEL_NS, RFC 4479 §3.3). */
  readonly devices: readonly PidfItem[];
  /** Presence-level `<note>` elements (PIDF_NS, RFC 3863 §4.1.6). */
  readonly notes: readonly XmlElement[];
  /**
   * Any other presence-level child, kept verbatim (unknown namespaces survive):
   * RPID/CIPID or vendor elements placed at presence level, data-model
   * elements other than person/device, elements in no namespace.
   */
  readonly extensions: readonly XmlElement[];
}

const URI_RE = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s\u0000-\u001f\u007f]+$/;
const DECIMAL_RE = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$/;

/** XML white space trimming (XSD whiteSpace="collapse" for tokens without inner spaces). */
function trimXml(s: string): string {
  return s.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');
}

function isBlank(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x09 && c !== 0x0d) return false;
  }
  return true;
}

/** Concatenated direct text of an element (simple-content elements such as `<basic>`). */
function ownText(el: XmlElement): string {
  let s = '';
  for (const c of el.children) {
    if (c.kind === 'text') s += c.text;
  }
  return s;
}

/**
 * The `id` of a tuple/person/device, or an error detail. The schema says
 * xs:ID (an NCName; RFC 3863 §4.1.2, RFC 4479 §3.2/§3.3), but deployed
 * PBXes publish extension numbers (`<tuple id="1001">`). Interoperability
 * wins: any non-empty token without whitespace of at most 256 characters is
 * accepted; uniqueness is still enforced.
 */
function itemId(el: XmlElement, what: string, index: number): { id: string } | { detail: string } {
  const raw = attr(el, 'id');
  if (raw === undefined) return { detail: `<${what}> #${index + 1} has no id attribute` };
  const id = trimXml(raw);
  if (id === '' || id.length > 256 || /\s/.test(id)) {
    return { detail: `<${what}> #${index + 1} has an invalid id ${JSON.stringify(raw)} (must be a non-empty token)` };
  }
  return { id };
}

/** Validates `<status>` (RFC 3863 §4.1.3, §4.1.4): at most one `<basic>`, which is `open` or `closed`. */
function checkStatus(status: XmlElement, where: string): string | undefined {
  let basics = 0;
  for (const c of status.children) {
    if (c.kind !== 'element' || c.ns !== PIDF_NS) continue;
    if (c.local !== 'basic') return `${where}: unknown PIDF element <${c.local}> in <status>`;
    if (++basics > 1) return `${where}: <status> has more than one <basic>`;
    const value = trimXml(ownText(c));
    if (value !== 'open' && value !== 'closed') {
      return `${where}: <basic> must be "open" or "closed", found ${JSON.stringify(value)}`;
    }
  }
  return undefined;
}

/** Validates `<contact>` (RFC 3863 §4.1.5): optional priority, a decimal in [0, 1]. */
function checkContact(contact: XmlElement, where: string): string | undefined {
  const priority = attr(contact, 'priority');
  if (priority === undefined) return undefined;
  const p = trimXml(priority);
  if (!DECIMAL_RE.test(p)) return `${where}: <contact> priority ${JSON.stringify(priority)} is not a decimal`;
  const v = Number(p);
  if (!(v >= 0 && v <= 1)) return `${where}: <contact> priority ${JSON.stringify(priority)} is outside 0..1`;
  return undefined;
}

/**
 * Validates a `<tuple>` (RFC 3863 §4.1.2–§4.1.7): exactly one `<status>`, at
 * most one `<contact>` and `<timestamp>`, no unknown PIDF-namespace children.
 */
function checkTuple(tuple: XmlElement, id: string): string | undefined {
  const where = `tuple ${JSON.stringify(id)}`;
  let statuses = 0;
  let contacts = 0;
  let timestamps = 0;
  for (const c of tuple.children) {
    if (c.kind !== 'element' || c.ns !== PIDF_NS) continue;
    switch (c.local) {
      case 'status': {
        statuses++;
        const d = checkStatus(c, where);
        if (d !== undefined) return d;
        break;
      }
      case 'contact': {
        if (++contacts > 1) return `${where} has more than one <contact>`;
        const d = checkContact(c, where);
        if (d !== undefined) return d;
        break;
      }
      case 'timestamp':
        if (++timestamps > 1) return `${where} has more than one <timestamp>`;
        break;
      case 'note':
        break;
      default:
        return `${where}: unknown PIDF element <${c.local}> in <tuple>`;
    }
  }
  if (statuses !== 1) return `${where} must have exactly one <status>, found ${statuses}`;
  return undefined;
}

/**
 * Builds the PIDF model from a parsed `<presence>` element (RFC 3863 §4.1,
 * RFC 4479 §4). Fails with `invalid-document` and a precise detail when the
 * document is not a valid PIDF: wrong root, missing or non-URI `entity`, a
 * tuple without id or without exactly one `<status>`, a `<basic>` other than
 * open/closed, a contact priority outside 0..1, a person/device without id,
 * ids not unique across tuples, persons and devices (xs:ID), or an unknown
 * PIDF-namespace element at presence level.
 */
export function pidfFromElement(root: XmlElement): Result<PidfDocument> {
  if (root.ns !== PIDF_NS || root.local !== 'presence') {
    return fail('invalid-document', `root element must be <presence> in ${PIDF_NS}, found {${root.ns}}${root.local}`);
  }
  const entityRaw = attr(root, 'entity');
  if (entityRaw === undefined) return fail('invalid-document', '<presence> has no entity attribute');
  const entity = trimXml(entityRaw);
  if (!URI_RE.test(entity)) {
    return fail('invalid-document', `<presence> entity ${JSON.stringify(entityRaw)} is not a URI`);
  }

  const tuples: PidfItem[] = [];
  const persons: PidfItem[] = [];
  const devices: PidfItem[] = [];
  const notes: XmlElement[] = [];
  const extensions: XmlElement[] = [];
  const ids = new Set<string>();

  for (const c of root.children) {
    if (c.kind === 'text') {
      if (!isBlank(c.text)) return fail('invalid-document', 'character data is not allowed in <presence>');
      continue;
    }
    let list: PidfItem[] | undefined;
    if (c.ns === PIDF_NS) {
      if (c.local === 'note') {
        notes.push(c);
        continue;
      }
      if (c.local !== 'tuple') return fail('invalid-document', `unknown PIDF element <${c.local}> in <presence>`);
      list = tuples;
    } else if (c.ns === DATA_MODEL_NS && c.local === 'person') {
      list = persons;
    } else if (c.ns === DATA_MODEL_NS && c.local === 'device') {
      list = devices;
    } else {
      extensions.push(c);
      continue;
    }
    const r = itemId(c, c.local, list.length);
    if ('detail' in r) return fail('invalid-document', r.detail);
    if (ids.has(r.id)) return fail('invalid-document', `id ${JSON.stringify(r.id)} is used more than once`);
    ids.add(r.id);
    if (list === tuples) {
      const d = checkTuple(c, r.id);
      if (d !== undefined) return fail('invalid-document', d);
    }
    list.push({ id: r.id, element: c });
  }
  return ok({ entity, tuples, persons, devices, notes, extensions });
}

/**
 * Parses and validates a PIDF body (`application/pidf+xml`, RFC 3863 §4;
 * data model RFC 4479). XML-level failures are `malformed-body` or
 * `body-too-large` (see `parseXml`); PIDF-level ones `invalid-document`.
 */
export function parsePidf(text: string, limits?: Partial<XmlLimits>): Result<PidfDocument> {
  const parsed = parseXml(text, limits);
  if (!parsed.ok) return parsed;
  return pidfFromElement(parsed.value);
}
