/**
 * The RFC 5025 §3.3 transformations applied to a composed PIDF document:
 * what one watcher may see. Default deny — an element survives only when a
 * permission grants it:
 *
 * Components (§3.3.1): a `<tuple>` survives when provide-services selects it
 * (all-services; service-uri = its `<contact>`; service-uri-scheme = the
 * scheme of its `<contact>`; occurrence-id = its id; class = its RPID
 * `<class>`), a `<dm:person>` when provide-persons selects it (all-persons,
 * occurrence-id, class), a `<dm:device>` when provide-devices selects it
 * (all-devices, deviceID = its `<dm:deviceID>`, occurrence-id, class).
 *
 * Inside a surviving component, with provide-all-attributes the component
 * is kept verbatim. Otherwise it is rebuilt from:
 * - its `id` attribute (no other attribute, no character data);
 * - the PIDF core of the component, which is not a presence attribute and
 *   comes with the component: a tuple's `<status>` with its `<basic>`, its
 *   `<contact>` (with `priority`) and `<timestamp>`; a person's or device's
 *   `<dm:timestamp>`;
 * - each attribute whose permission is granted, whole: the RPID attributes
 *   by provide-activities, -class, -mood, -place-is, -place-type,
 *   -privacy, -relationship, -status-icon, -sphere, -time-offset;
 *   `<dm:deviceID>` by provide-deviceID; notes by provide-note;
 *   `<rpid:user-input>` by provide-user-input (bare: the value only;
 *   thresholds: the value and `idle-threshold`; full: whole); any other element (CIPID,
 *   caps, vendor extensions, RPID elements without a permission of their
 *   own) only by a provide-unknown-attribute naming its namespace and local
 *   name. Extension children of `<status>` are attributes too.
 *
 * Presence level: `<note>`s only with provide-note; other presence-level
 * elements (which belong to no component) only with provide-all-attributes.
 * The `entity` always stays: the watcher subscribed to it.
 */
import type { XmlAttribute, XmlElement, XmlNode } from '../../xml/xml-node.js';
import { textContent } from '../../xml/xml-query.js';
import {
  attributeOf,
  isFullPermissions,
  type DeviceSelection,
  type KnownAttribute,
  type PersonSelection,
  type PresencePermissions,
  type ServiceSelection,
  type UserInputLevel,
} from '../../authz/pres-rules/presence-permissions.js';
import { DATA_MODEL_NS, PIDF_NS, RPID_NS, type PidfDocument, type PidfItem } from './pidf-document.js';

function trimXml(s: string): string {
  return s.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');
}

function childrenText(el: XmlElement, ns: string, local: string): string[] {
  const out: string[] = [];
  for (const c of el.children) {
    if (c.kind === 'element' && c.ns === ns && c.local === local) out.push(trimXml(textContent(c)));
  }
  return out;
}

function hasClass(el: XmlElement, classes: readonly string[]): boolean {
  if (classes.length === 0) return false;
  return childrenText(el, RPID_NS, 'class').some((c) => classes.includes(c));
}

function uriScheme(uri: string): string | undefined {
  const colon = uri.indexOf(':');
  return colon <= 0 ? undefined : uri.slice(0, colon).toLowerCase();
}

/** RFC 5025 §3.3.1.3. */
export function selectsService(s: ServiceSelection, tuple: PidfItem): boolean {
  if (s.all) return true;
  if (s.occurrenceIds.includes(tuple.id)) return true;
  if (hasClass(tuple.element, s.classes)) return true;
  if (s.serviceUris.length === 0 && s.serviceUriSchemes.length === 0) return false;
  for (const contact of childrenText(tuple.element, PIDF_NS, 'contact')) {
    if (s.serviceUris.includes(contact)) return true;
    const scheme = uriScheme(contact);
    if (scheme !== undefined && s.serviceUriSchemes.includes(scheme)) return true;
  }
  return false;
}

/** RFC 5025 §3.3.1.2. */
export function selectsPerson(s: PersonSelection, person: PidfItem): boolean {
  return s.all || s.occurrenceIds.includes(person.id) || hasClass(person.element, s.classes);
}

/** RFC 5025 §3.3.1.1. */
export function selectsDevice(s: DeviceSelection, device: PidfItem): boolean {
  if (s.all || s.occurrenceIds.includes(device.id) || hasClass(device.element, s.classes)) return true;
  return s.deviceIds.length > 0 && childrenText(device.element, DATA_MODEL_NS, 'deviceID').some((d) => s.deviceIds.includes(d));
}

function element(src: XmlElement, attrs: readonly XmlAttribute[], children: readonly XmlNode[]): XmlElement {
  return { kind: 'element', ns: src.ns, local: src.local, prefix: src.prefix, attrs, children };
}

/** The character data of an element, as its only child (no attributes, no child elements). */
function textOnly(el: XmlElement, attrs: readonly XmlAttribute[] = []): XmlElement {
  const t = textContent(el);
  return element(el, attrs, t === '' ? [] : [{ kind: 'text', text: t }]);
}

function userInput(el: XmlElement, level: UserInputLevel): XmlElement | undefined {
  switch (level) {
    case 'false':
      return undefined;
    case 'bare':
      return textOnly(el);
    case 'thresholds':
      return textOnly(el, el.attrs.filter((a) => a.ns === '' && a.local === 'idle-threshold'));
    case 'full':
      return el;
  }
}

/** A granted attribute element (possibly trimmed), or undefined when not granted. */
function attributeElement(el: XmlElement, p: PresencePermissions, granted: ReadonlySet<KnownAttribute>): XmlElement | undefined {
  const kind = attributeOf(el.ns, el.local);
  if (kind === 'user-input') return userInput(el, p.userInput);
  if (kind !== undefined) return granted.has(kind) ? el : undefined;
  return p.unknownAttributes.some((u) => u.ns === el.ns && u.name === el.local) ? el : undefined;
}

function idAttrs(el: XmlElement): XmlAttribute[] {
  return el.attrs.filter((a) => a.ns === '' && a.local === 'id');
}

function filterStatus(status: XmlElement, p: PresencePermissions, granted: ReadonlySet<KnownAttribute>): XmlElement {
  const children: XmlNode[] = [];
  for (const c of status.children) {
    if (c.kind !== 'element') continue;
    if (c.ns === PIDF_NS && c.local === 'basic') {
      children.push(textOnly(c));
      continue;
    }
    const kept = attributeElement(c, p, granted);
    if (kept) children.push(kept);
  }
  return element(status, [], children);
}

function filterTuple(tuple: XmlElement, p: PresencePermissions, granted: ReadonlySet<KnownAttribute>): XmlElement {
  const children: XmlNode[] = [];
  for (const c of tuple.children) {
    if (c.kind !== 'element') continue;
    if (c.ns === PIDF_NS) {
      if (c.local === 'status') {
        children.push(filterStatus(c, p, granted));
        continue;
      }
      if (c.local === 'contact') {
        children.push(textOnly(c, c.attrs.filter((a) => a.ns === '' && a.local === 'priority')));
        continue;
      }
      if (c.local === 'timestamp') {
        children.push(textOnly(c));
        continue;
      }
    }
    const kept = attributeElement(c, p, granted);
    if (kept) children.push(kept);
  }
  return element(tuple, idAttrs(tuple), children);
}

/** A person or device: `<dm:timestamp>` comes with it, everything else is an attribute. */
function filterDataComponent(el: XmlElement, p: PresencePermissions, granted: ReadonlySet<KnownAttribute>): XmlElement {
  const children: XmlNode[] = [];
  for (const c of el.children) {
    if (c.kind !== 'element') continue;
    if (c.ns === DATA_MODEL_NS && c.local === 'timestamp') {
      children.push(textOnly(c));
      continue;
    }
    const kept = attributeElement(c, p, granted);
    if (kept) children.push(kept);
  }
  return element(el, idAttrs(el), children);
}

function keep(items: readonly PidfItem[], selected: (item: PidfItem) => boolean, rebuild: ((el: XmlElement) => XmlElement) | undefined): PidfItem[] {
  const out: PidfItem[] = [];
  for (const item of items) {
    if (!selected(item)) continue;
    out.push(rebuild === undefined ? item : { id: item.id, element: rebuild(item.element) });
  }
  return out;
}

/**
 * The view of `doc` that permissions `p` grant (RFC 5025 §3.3), as a new
 * document (the input is not modified; unchanged subtrees are shared).
 * Full permissions return `doc` itself.
 */
export function transformPidf(doc: PidfDocument, p: PresencePermissions): PidfDocument {
  if (isFullPermissions(p)) return doc;
  const granted = new Set<KnownAttribute>(p.allAttributes ? [] : p.attributes);
  const all = p.allAttributes;
  return {
    entity: doc.entity,
    tuples: keep(doc.tuples, (t) => selectsService(p.services, t), all ? undefined : (el) => filterTuple(el, p, granted)),
    persons: keep(doc.persons, (x) => selectsPerson(p.persons, x), all ? undefined : (el) => filterDataComponent(el, p, granted)),
    devices: keep(doc.devices, (x) => selectsDevice(p.devices, x), all ? undefined : (el) => filterDataComponent(el, p, granted)),
    notes: all || p.attributes.includes('note') ? doc.notes : [],
    extensions: all ? doc.extensions : [],
  };
}

