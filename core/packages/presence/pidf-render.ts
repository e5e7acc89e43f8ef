/**
 * Rendering of the PIDF model as an `application/pidf+xml` body (RFC 3863
 * §4, RFC 4479 §4).
 */
import type { XmlElement, XmlNode } from '../../xml/xml-node.js';
import { serializeXml, type SerializeOptions } from '../../xml/xml-serializer.js';
import { CIPID_NS, DATA_MODEL_NS, PIDF_NS, RPID_NS, type PidfDocument } from './pidf-document.js';

const RENDER_OPTIONS: SerializeOptions = Object.freeze({
  declaration: true,
  prefixes: Object.freeze({
    [PIDF_NS]: '',
    [DATA_MODEL_NS]: 'dm',
    [RPID_NS]: 'rpid',
    [CIPID_NS]: 'c',
  }),
});

/**
 * Renders a PIDF document with an XML declaration, PIDF as the default
 * namespace, `dm`/`rpid`/`c` for the data-model, RPID and CIPID namespaces
 * and source prefixes otherwise. Children follow the schema order of RFC
 * 3863 §4.4 (`tuple*`, `note*`, then `##other`): tuples, notes, persons,
 * devices, extensions. No white space is added.
 */
export function renderPidf(doc: PidfDocument): string {
  const children: XmlNode[] = [];
  for (const t of doc.tuples) children.push(t.element);
  for (const n of doc.notes) children.push(n);
  for (const p of doc.persons) children.push(p.element);
  for (const d of doc.devices) children.push(d.element);
  for (const e of doc.extensions) children.push(e);
  const root: XmlElement = {
    kind: 'element',
    ns: PIDF_NS,
    local: 'presence',
    prefix: '',
    attrs: [{ ns: '', local: 'entity', prefix: '', value: doc.entity }],
    children,
  };
  return serializeXml(root, RENDER_OPTIONS);
}

/**
 * A document that reveals nothing about `entity`: no tuple, person, device,
 * note or extension (valid per RFC 3863 §4.4, where every child is
 * optional). Used when there is no state and for polite blocking (RFC 5025
 * §3.2.1: the watcher must not be able to tell it is blocked).
 */
export function neutralPidf(entity: string): PidfDocument {
  return { entity, tuples: [], persons: [], devices: [], notes: [], extensions: [] };
}
