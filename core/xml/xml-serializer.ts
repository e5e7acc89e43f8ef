/**
 * Deterministic, namespace-correct serialisation of {@link XmlElement} trees
 * (XML 1.0 §2, Namespaces in XML 1.0 §3–§6).
 *
 * Every namespace used in the tree is declared once, on the root element.
 * The root element's namespace is the default namespace unless the options
 * say otherwise; every other namespace gets a prefix: the preferred one from
 * the options, else the one the node was parsed with, else a generated
 * `ns1`, `ns2`… — one URI per prefix, always. Attributes in a namespace always
 * carry a prefix (the default namespace does not apply to attributes, §6.2).
 * The XML namespace uses the reserved prefix `xml` and is never declared.
 * Elements in no namespace below a defaulted root get `xmlns=""` (the only
 * declaration that may appear below the root).
 *
 * No white space is added. `parseXml(serializeXml(x))` equals `x` modulo
 * prefixes for any tree that `parseXml` can produce.
 */
import { XML_NS, XMLNS_NS, type XmlElement } from './xml-node.js';
import { isNCName } from './xml-parser.js';

export interface SerializeOptions {
  /** Emit `<?xml version="1.0" encoding="UTF-8"?>` first. */
  readonly declaration?: boolean;
  /** preferred prefix per namespace URI ('' = default) */
  readonly prefixes?: Readonly<Record<string, string>>;
}

const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';

/**
 * Escapes character data for element content (XML 1.0 §2.4): `&`, `<` and
 * `>` (the latter so that `]]>` can never appear). Carriage returns are
 * written as `&#13;` because a literal CR would be normalised away by any
 * parser (XML 1.0 §2.11).
 */
/**
 * Whether the UTF-16 unit at `i` starts a character outside the XML 1.0 Char
 * production (§2.2): C0 controls other than TAB/LF/CR, U+FFFE, U+FFFF and
 * unpaired surrogates: 0 (legal) or 1 (illegal). Such
 * characters cannot be written even as character references, so the escape
 * functions replace them with U+FFFD: text from SIP headers (display names,
 * URIs) can carry them, and must never make a NOTIFY body ill-formed.
 */
function illegalAt(s: string, i: number, c: number): 0 | 1 {
  if (c < 0x20) return c === 0x09 || c === 0x0a || c === 0x0d ? 0 : 1;
  if (c < 0xd800) return 0;
  if (c <= 0xdbff) {
    const d = s.charCodeAt(i + 1);
    return d >= 0xdc00 && d <= 0xdfff ? 0 : 1;
  }
  if (c <= 0xdfff) {
    const p = s.charCodeAt(i - 1);
    return p >= 0xd800 && p <= 0xdbff ? 0 : 1;
  }
  return c === 0xfffe || c === 0xffff ? 1 : 0;
}

export function escapeText(s: string): string {
  let out = '';
  let last = 0;
  for (let i = 0; i < s.length; i++) {
    let rep: string;
    const c = s.charCodeAt(i);
    switch (c) {
      case 0x26: rep = '&amp;'; break;
      case 0x3c: rep = '&lt;'; break;
      case 0x3e: rep = '&gt;'; break;
      case 0x0d: rep = '&#13;'; break;
      default: {
        if (illegalAt(s, i, c) === 0) continue;
        rep = '\ufffd';
      }
    }
    out += s.slice(last, i) + rep;
    last = i + 1;
  }
  return last === 0 ? s : out + s.slice(last);
}

/**
 * Escapes an attribute value for a double-quoted literal (XML 1.0 §2.3):
 * `&`, `<`, `"`, and CR, LF, TAB as character references so that attribute
 * value normalisation (XML 1.0 §3.3.3) gives the original value back.
 */
export function escapeAttr(s: string): string {
  let out = '';
  let last = 0;
  for (let i = 0; i < s.length; i++) {
    let rep: string;
    const c = s.charCodeAt(i);
    switch (c) {
      case 0x26: rep = '&amp;'; break;
      case 0x3c: rep = '&lt;'; break;
      case 0x22: rep = '&quot;'; break;
      case 0x0d: rep = '&#13;'; break;
      case 0x0a: rep = '&#10;'; break;
      case 0x09: rep = '&#9;'; break;
      default: {
        if (illegalAt(s, i, c) === 0) continue;
        rep = '\ufffd';
      }
    }
    out += s.slice(last, i) + rep;
    last = i + 1;
  }
  return last === 0 ? s : out + s.slice(last);
}

/** What the tree does with one namespace URI. */
interface NsUse {
  /** Used by an element that is not below a no-namespace element. */
  element: boolean;
  /** Used by an attribute, or by an element below a no-namespace element: needs a real prefix. */
  needsPrefix: boolean;
  /** First non-empty prefix the namespace was written with in the source. */
  sourcePrefix: string;
}

/** Collects namespace usage in document order (element before its attributes). */
function collect(el: XmlElement, uses: Map<string, NsUse>, belowNoNs: boolean): boolean {
  let hasNoNs = false;
  const ns = el.ns;
  if (ns === '') {
    hasNoNs = true;
    belowNoNs = true;
  } else if (ns !== XML_NS) {
    let use = uses.get(ns);
    if (use === undefined) {
      use = { element: false, needsPrefix: false, sourcePrefix: '' };
      uses.set(ns, use);
    }
    if (belowNoNs) use.needsPrefix = true;
    else use.element = true;
    if (use.sourcePrefix === '' && el.prefix !== '') use.sourcePrefix = el.prefix;
  }
  const attrs = el.attrs;
  for (let i = 0; i < attrs.length; i++) {
    const a = attrs[i]!;
    const ans = a.ns;
    if (ans === '' || ans === XML_NS || ans === XMLNS_NS) continue;
    let use = uses.get(ans);
    if (use === undefined) {
      use = { element: false, needsPrefix: true, sourcePrefix: '' };
      uses.set(ans, use);
    }
    use.needsPrefix = true;
    if (use.sourcePrefix === '' && a.prefix !== '') use.sourcePrefix = a.prefix;
  }
  const children = el.children;
  for (let i = 0; i < children.length; i++) {
    const c = children[i]!;
    if (c.kind === 'element' && collect(c, uses, belowNoNs)) hasNoNs = true;
  }
  return hasNoNs;
}

function usablePrefix(p: string | undefined, taken: ReadonlySet<string>): p is string {
  return (
    p !== undefined &&
    p !== '' &&
    !taken.has(p) &&
    !(p.length >= 3 && p.slice(0, 3).toLowerCase() === 'xml') && // reserved (Namespaces §3)
    isNCName(p)
  );
}

/** The namespace bindings chosen for one serialisation. */
interface Bindings {
  /** The default namespace, or '' when none is declared. */
  readonly defaultNs: string;
  /** Prefix per namespace that needs one. */
  readonly prefix: ReadonlyMap<string, string>;
  /** Declarations to put on the root start tag, already formatted. */
  readonly declarations: string;
}

function bind(root: XmlElement, options: SerializeOptions | undefined): Bindings {
  const uses = new Map<string, NsUse>();
  collect(root, uses, false);
  const preferred = options?.prefixes;
  const pref = (ns: string): string | undefined =>
    preferred !== undefined && Object.hasOwn(preferred, ns) ? preferred[ns] : undefined;

  // The default namespace: the first element namespace the options want as
  // default, else the root's own namespace unless the options give it a prefix.
  let defaultNs = '';
  if (root.ns !== '' && root.ns !== XML_NS) {
    for (const [ns, use] of uses) {
      if (use.element && pref(ns) === '') {
        defaultNs = ns;
        break;
      }
    }
    if (defaultNs === '') {
      const p = pref(root.ns);
      if (p === undefined || p === '') defaultNs = root.ns;
    }
  }

  const needing: string[] = [];
  for (const [ns, use] of uses) {
    if (ns !== defaultNs || use.needsPrefix) needing.push(ns);
  }
  const prefix = new Map<string, string>();
  const taken = new Set<string>();
  // Pass 1: preferred prefixes; pass 2: source prefixes; pass 3: generated.
  for (const ns of needing) {
    const p = pref(ns);
    if (usablePrefix(p, taken)) {
      prefix.set(ns, p);
      taken.add(p);
    }
  }
  for (const ns of needing) {
    if (prefix.has(ns)) continue;
    const p = uses.get(ns)!.sourcePrefix;
    if (usablePrefix(p, taken)) {
      prefix.set(ns, p);
      taken.add(p);
    }
  }
  let n = 0;
  for (const ns of needing) {
    if (prefix.has(ns)) continue;
    let p: string;
    do p = `ns${++n}`;
    while (taken.has(p));
    prefix.set(ns, p);
    taken.add(p);
  }

  let declarations = defaultNs === '' ? '' : ` xmlns="${escapeAttr(defaultNs)}"`;
  for (const ns of needing) {
    declarations += ` xmlns:${prefix.get(ns)!}="${escapeAttr(ns)}"`;
  }
  return { defaultNs, prefix, declarations };
}

function write(el: XmlElement, b: Bindings, isRoot: boolean, defaultUndeclared: boolean): string {
  const ns = el.ns;
  let name: string;
  let extra = '';
  if (ns === '') {
    name = el.local;
    if (b.defaultNs !== '' && !defaultUndeclared) {
      extra = ' xmlns=""';
      defaultUndeclared = true;
    }
  } else if (ns === XML_NS) {
    name = `xml:${el.local}`;
  } else if (ns === b.defaultNs && !defaultUndeclared) {
    name = el.local;
  } else {
    name = `${b.prefix.get(ns)!}:${el.local}`;
  }
  let out = `<${name}`;
  if (isRoot) out += b.declarations;
  out += extra;
  const attrs = el.attrs;
  for (let i = 0; i < attrs.length; i++) {
    const a = attrs[i]!;
    const ans = a.ns;
    if (ans === '') out += ` ${a.local}="${escapeAttr(a.value)}"`;
    else if (ans === XML_NS) out += ` xml:${a.local}="${escapeAttr(a.value)}"`;
    else if (ans !== XMLNS_NS) out += ` ${b.prefix.get(ans)!}:${a.local}="${escapeAttr(a.value)}"`;
  }
  const children = el.children;
  if (children.length === 0) return `${out}/>`;
  out += '>';
  for (let i = 0; i < children.length; i++) {
    const c = children[i]!;
    out += c.kind === 'text' ? escapeText(c.text) : write(c, b, false, defaultUndeclared);
  }
  return `${out}</${name}>`;
}

/**
 * Serialises an element tree as an XML 1.0 document in UTF-8 form (XML 1.0
 * §2.8 for the declaration; Namespaces in XML 1.0 §3 and §6 for the
 * declarations and prefixes), deterministically and without added white space.
 */
export function serializeXml(root: XmlElement, options?: SerializeOptions): string {
  const body = write(root, bind(root, options), true, false);
  return options?.declaration === true ? XML_DECLARATION + body : body;
}
