/**
 * A hardened, namespace-aware XML parser on top of `saxes` that builds the
 * plain-data {@link XmlElement} tree of `xml-node.ts`.
 *
 * Security posture (bodies come from untrusted SIP and XCAP clients):
 * - any `<!DOCTYPE` is refused: no DTD is ever loaded, no entity is ever
 *   declared or expanded (XXE, billion laughs). Only the five predefined
 *   entities and character references are accepted (XML 1.0 §4.6, §4.1);
 * - only UTF-8 documents (XML 1.0 §4.3.3: the body has already been decoded
 *   as UTF-8, so any other declared encoding is a lie) and XML 1.0;
 * - hard limits on size, depth, element count, attributes per element and
 *   text per node, checked while parsing so that a hostile body is abandoned
 *   early.
 *
 * Bad input is returned as data (`Result`), never thrown.
 */
import { SaxesParser } from 'saxes';
import type { SaxesTagNS, XMLDecl } from 'saxes';
import { fail, ok, type ErrorCode, type Result } from '../errors.js';
import { XML_NS, XMLNS_NS, type XmlAttribute, type XmlElement, type XmlNode } from './xml-node.js';

/** Resource limits applied while parsing. */
export interface XmlLimits {
  /** Maximum size of the whole document, in UTF-8 bytes. */
  readonly maxBytes: number;
  /** Maximum element nesting depth (the root element is depth 1). */
  readonly maxDepth: number;
  /** Maximum number of elements in the document. */
  readonly maxElements: number;
  /** Maximum number of attributes on one element (namespace declarations included). */
  readonly maxAttributes: number;
  /** Maximum size of one text node or attribute value, in UTF-8 bytes. */
  readonly maxTextBytes: number;
}

export const DEFAULT_XML_LIMITS: XmlLimits = Object.freeze({
  maxBytes: 65536,
  maxDepth: 32,
  maxElements: 4096,
  maxAttributes: 64,
  maxTextBytes: 16384,
});

/**
 * Number of bytes `s` occupies when encoded as UTF-8 (RFC 3629 §3). A lone
 * surrogate counts as the 3-byte replacement character.
 */
export function utf8ByteLength(s: string): number {
  const n = s.length;
  let bytes = n;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) {
      bytes += 1;
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        // Two UTF-16 code units, four bytes.
        bytes += 2;
        i++;
      } else {
        bytes += 2;
      }
    } else {
      bytes += 2;
    }
  }
  return bytes;
}

/** True when `s` encodes to more than `max` UTF-8 bytes (cheap for the common cases). */
function exceedsBytes(s: string, max: number): boolean {
  if (s.length > max) return true; // a code unit is at least one byte
  if (s.length * 3 <= max) return false; // a code unit is at most three bytes
  return utf8ByteLength(s) > max;
}

/** True when `s` is empty or only XML white space (XML 1.0 §2.3 production S). */
function isXmlWhitespace(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x09 && c !== 0x0d) return false;
  }
  return true;
}

const NCNAME_RE =
  /^[A-Z_a-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u02FF\u0370-\u037D\u037F-\u1FFF\u200C-\u200D\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD\u{10000}-\u{EFFFF}][A-Z_a-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u02FF\u0370-\u037D\u037F-\u1FFF\u200C-\u200D\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD\u{10000}-\u{EFFFF}\-.0-9\u00B7\u0300-\u036F\u203F-\u2040]*$/u;

/** True when `s` is an XML NCName (Namespaces in XML 1.0 §3 production NCName). */
export function isNCName(s: string): boolean {
  return NCNAME_RE.test(s);
}

function resolveLimits(limits: Partial<XmlLimits> | undefined): XmlLimits {
  return limits === undefined ? DEFAULT_XML_LIMITS : { ...DEFAULT_XML_LIMITS, ...limits };
}

/** An element under construction. */
interface Frame {
  readonly ns: string;
  readonly local: string;
  readonly prefix: string;
  readonly attrs: readonly XmlAttribute[];
  readonly children: XmlNode[];
  /** Character data seen since the last child element (text and CDATA merged). */
  text: string;
  hasElementChild: boolean;
}

type ParserOptions = { readonly xmlns: true; readonly position: boolean; readonly additionalNamespaces?: Record<string, string> };

/** The handler slots saxes assigns in `on()`. */
interface HandlerSlots {
  xmldeclHandler: unknown;
  textHandler: unknown;
  doctypeHandler: unknown;
  openTagHandler: unknown;
  closeTagHandler: unknown;
  cdataHandler: unknown;
  errorHandler: unknown;
}

/**
 * saxes creates its handler properties lazily in `on()`; adding seven of them
 * after construction pushes the parser object into V8 dictionary mode and
 * makes parsing about four times slower. Creating them up front with plain
 * named stores keeps the object shape fast.
 */
class ShapedSaxesParser extends SaxesParser<ParserOptions> {
  constructor(options: ParserOptions) {
    super(options);
    const slots = this as unknown as HandlerSlots;
    slots.xmldeclHandler = undefined;
    slots.textHandler = undefined;
    slots.doctypeHandler = undefined;
    slots.openTagHandler = undefined;
    slots.closeTagHandler = undefined;
    slots.cdataHandler = undefined;
    slots.errorHandler = undefined;
  }
}

/** Thrown from inside saxes callbacks to abandon the parse; never escapes this module. */
const ABORT: unique symbol = Symbol('xml-parse-abort');

function parseDocument(
  text: string,
  limits: XmlLimits,
  additionalNamespaces: Record<string, string> | undefined,
): Result<XmlElement> {
  if (exceedsBytes(text, limits.maxBytes)) {
    return fail('body-too-large', `XML body exceeds ${limits.maxBytes} bytes`);
  }

  let failure: { code: ErrorCode; detail: string } | undefined;
  const abort = (code: ErrorCode, detail: string): never => {
    failure ??= { code, detail };
    throw ABORT;
  };

  const stack: Frame[] = [];
  let root: XmlElement | undefined;
  let elements = 0;

  /** Turns pending character data of `frame` into a text node (XML 1.0 §2.4). */
  const flushText = (frame: Frame, elementFollows: boolean): void => {
    const t = frame.text;
    if (t === '') return;
    frame.text = '';
    // Pretty-print white space between child elements carries no information.
    if ((elementFollows || frame.hasElementChild) && isXmlWhitespace(t)) return;
    if (exceedsBytes(t, limits.maxTextBytes)) {
      abort('body-too-large', `text node exceeds ${limits.maxTextBytes} bytes`);
    }
    frame.children.push({ kind: 'text', text: t });
  };

  const options: ParserOptions =
    additionalNamespaces === undefined
      ? { xmlns: true, position: false }
      : { xmlns: true, position: false, additionalNamespaces };
  let parser: ShapedSaxesParser;
  try {
    parser = new ShapedSaxesParser(options);
  } catch (e: unknown) {
    return fail('malformed-request', `invalid namespace bindings: ${e instanceof Error ? e.message : String(e)}`);
  }

  // Line/column tracking costs saxes ~40% of its time; the character offset is free.
  parser.on('error', (err: Error) => abort('malformed-body', `${err.message} (at offset ${parser.position})`));
  parser.on('doctype', () => abort('malformed-body', 'DOCTYPE declarations are not allowed'));
  parser.on('xmldecl', (decl: XMLDecl) => {
    if (decl.version !== undefined && decl.version !== '1.0') {
      abort('malformed-body', `unsupported XML version ${decl.version}`);
    }
    if (decl.encoding !== undefined && decl.encoding.toLowerCase() !== 'utf-8') {
      abort('malformed-body', `unsupported encoding ${decl.encoding}: only UTF-8 is accepted`);
    }
  });
  parser.on('text', (t: string) => {
    const top = stack[stack.length - 1];
    // White space outside the root element is dropped (saxes refuses anything else).
    if (top !== undefined) top.text += t;
  });
  parser.on('cdata', (t: string) => {
    const top = stack[stack.length - 1];
    if (top !== undefined) top.text += t;
  });
  parser.on('opentag', (tag: SaxesTagNS) => {
    if (stack.length >= limits.maxDepth) {
      abort('body-too-large', `element nesting exceeds depth ${limits.maxDepth}`);
    }
    if (++elements > limits.maxElements) {
      abort('body-too-large', `document has more than ${limits.maxElements} elements`);
    }
    const attrs: XmlAttribute[] = [];
    let count = 0;
    const attributes = tag.attributes;
    for (const name in attributes) {
      const a = attributes[name];
      if (a === undefined) continue;
      if (++count > limits.maxAttributes) {
        abort('body-too-large', `element <${tag.name}> has more than ${limits.maxAttributes} attributes`);
      }
      if (a.uri === XMLNS_NS) continue; // namespace declarations live in each node's `ns`
      if (exceedsBytes(a.value, limits.maxTextBytes)) {
        abort('body-too-large', `attribute ${name} exceeds ${limits.maxTextBytes} bytes`);
      }
      attrs.push({ ns: a.uri, local: a.local, prefix: a.prefix, value: a.value });
    }
    const parent = stack[stack.length - 1];
    if (parent !== undefined) {
      flushText(parent, true);
      parent.hasElementChild = true;
    }
    stack.push({
      ns: tag.uri,
      local: tag.local,
      prefix: tag.prefix,
      attrs,
      children: [],
      text: '',
      hasElementChild: false,
    });
  });
  parser.on('closetag', () => {
    const frame = stack.pop();
    if (frame === undefined) return;
    flushText(frame, false);
    const el: XmlElement = {
      kind: 'element',
      ns: frame.ns,
      local: frame.local,
      prefix: frame.prefix,
      attrs: frame.attrs,
      children: frame.children,
    };
    const parent = stack[stack.length - 1];
    if (parent === undefined) root = el;
    else parent.children.push(el);
  });

  try {
    parser.write(text).close();
  } catch (e: unknown) {
    if (failure !== undefined) return fail(failure.code, failure.detail);
    // saxes itself should not throw with an error handler installed; stay total anyway.
    return fail('malformed-body', e instanceof Error ? e.message : 'unparsable XML');
  }
  if (failure !== undefined) return fail(failure.code, failure.detail);
  if (root === undefined) return fail('malformed-body', 'document has no root element');
  return ok(root);
}

/**
 * Parses a complete XML 1.0 document (XML 1.0 §2.1, Namespaces in XML 1.0)
 * into an element tree and returns its root element.
 *
 * Refuses DOCTYPE, undefined entities and non-UTF-8 declarations with
 * `malformed-body`, and limit violations with `body-too-large`. Comments and
 * processing instructions are dropped; CDATA becomes text; white-space-only
 * text beside child elements is dropped; namespace declarations are not kept
 * as attributes.
 */
export function parseXml(text: string, limits?: Partial<XmlLimits>): Result<XmlElement> {
  return parseDocument(text, resolveLimits(limits), undefined);
}

/**
 * Parses one XML element sent as an XCAP element fragment (RFC 4825 §8.2.3,
 * the body of a PUT whose node selector points to an element; §6.3: prefixes
 * of the request URI's namespace bindings). `namespaces` binds prefixes that
 * the fragment uses without declaring them (prefix '' = the default
 * namespace). Bindings declared inside the fragment take precedence.
 *
 * The body must be exactly one element (surrounding white space, comments and
 * an XML declaration are tolerated); the same security rules as
 * {@link parseXml} apply. Invalid bindings yield `malformed-request`.
 */
export function parseXmlFragment(
  text: string,
  namespaces: Readonly<Record<string, string>>,
  limits?: Partial<XmlLimits>,
): Result<XmlElement> {
  const bindings: Record<string, string> = {};
  let any = false;
  for (const prefix of Object.keys(namespaces)) {
    const uri = namespaces[prefix];
    if (uri === undefined) continue;
    if (prefix === 'xml' && uri === XML_NS) continue; // predeclared
    if (prefix === '' && uri === '') continue; // no default namespace: nothing to bind
    if (prefix !== '' && !isNCName(prefix)) {
      return fail('malformed-request', `invalid namespace prefix ${JSON.stringify(prefix)}`);
    }
    if (prefix === 'xml' || prefix === 'xmlns' || uri === XML_NS || uri === XMLNS_NS || uri === '') {
      return fail('malformed-request', `invalid namespace binding ${JSON.stringify(prefix)} -> ${JSON.stringify(uri)}`);
    }
    bindings[prefix] = uri;
    any = true;
  }
  return parseDocument(text, resolveLimits(limits), any ? bindings : undefined);
}
