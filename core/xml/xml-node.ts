/**
 * A small, namespace-aware XML element tree: the canonical in-memory form of
 * every XML document presenced handles (PIDF, watcherinfo, pres-rules, XCAP).
 *
 * Plain data only (no classes, no parent pointers) so that trees can be stored
 * with msgpackr and cross worker threads by structured clone.
 */

/** An attribute. `ns` is '' for an unqualified attribute (XML Namespaces §6.2). */
export interface XmlAttribute {
  readonly ns: string;
  readonly local: string;
  /** Prefix as written in the source ('' when unqualified); a serialisation hint only. */
  readonly prefix: string;
  readonly value: string;
}

export interface XmlElement {
  readonly kind: 'element';
  /** Namespace URI ('' when the element is in no namespace). */
  readonly ns: string;
  readonly local: string;
  /** Prefix as written in the source ('' for the default namespace); a serialisation hint only. */
  readonly prefix: string;
  readonly attrs: readonly XmlAttribute[];
  readonly children: readonly XmlNode[];
}

export interface XmlText {
  readonly kind: 'text';
  readonly text: string;
}

export type XmlNode = XmlElement | XmlText;

/** Namespace URIs used across presenced. */
export const XML_NS = 'http://www.w3.org/XML/1998/namespace';
export const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';
