/**
 * XCAP node selectors (RFC 4825 §6.3), a small subset of XPath 1.0:
 *
 *     node-selector      = element-selector ["/" terminal-selector]
 *     terminal-selector  = attribute-selector / namespace-selector
 *     element-selector   = step *( "/" step)
 *     step               = by-name / by-pos / by-attr / by-pos-attr
 *     by-name            = NameorAny
 *     by-pos             = NameorAny "[" position "]"
 *     by-attr            = NameorAny "[" attr-test "]"
 *     by-pos-attr        = NameorAny "[" position "]" "[" attr-test "]"
 *     attr-test          = "@" att-name "=" att-value
 *     position           = 1*DIGIT
 *     NameorAny          = QName / "*"
 *     att-value          = AttValue           ; XML 1.0 [10], quotes included
 *     attribute-selector = "@" att-name
 *     namespace-selector = "namespace::*"
 *
 * The text given here is already percent-decoded (RFC 4825 §6.3: the node
 * selector is decoded after the URI has been split at `~~`). The first step
 * matches the document's root element.
 *
 * Names are resolved when parsing: a prefixed name through the bindings of
 * the URI's `xmlns()` query (§6.4; `xml` is always bound); an unprefixed
 * *element* name is in the default namespace of the application usage (§6.3,
 * §5.2), while an unprefixed *attribute* name is in no namespace (as in XPath
 * and Namespaces in XML §6.2). An unbound prefix, a syntax error or an
 * extension selector (which no supported application usage defines) is
 * `malformed-request` (400).
 *
 * Attribute values are compared after XML reference decoding (`&quot;`,
 * `&#34;`…); no other normalisation is applied.
 */
import { fail, ok, type Result } from '../errors.js';
import { XML_NS, XMLNS_NS } from '../xml/xml-node.js';
import { isNCName } from '../xml/xml-parser.js';

/** An element name test: an expanded name (with its prefix as written) or `*`. */
export type NameTest =
  | { readonly kind: 'any' }
  | { readonly kind: 'name'; readonly prefix: string; readonly local: string; readonly ns: string };

/** An attribute name: expanded name plus the prefix as written ('' = none, no namespace). */
export interface AttributeName {
  readonly prefix: string;
  readonly local: string;
  readonly ns: string;
}

/** `[@name="value"]` */
export interface AttributeTest {
  readonly name: AttributeName;
  readonly value: string;
}

/** One location step: by-name, by-pos, by-attr or by-pos-attr. */
export interface Step {
  readonly test: NameTest;
  /** 1-based position among the siblings that pass `test` (XPath `[n]`). */
  readonly position?: number;
  /** Applied after `position` (XPath `[n][@a="v"]`). */
  readonly attr?: AttributeTest;
}

export type TerminalSelector = { readonly kind: 'attribute'; readonly name: AttributeName } | { readonly kind: 'namespace' };

export interface NodeSelector {
  /** At least one step; the first one matches the root element. */
  readonly steps: readonly Step[];
  readonly terminal?: TerminalSelector;
}

/** Largest accepted position (anything larger cannot be satisfied by a document within limits). */
export const MAX_POSITION = 0x7fffffff;

const NAME_STOP = new Set(['/', '[', ']', ':', '=', '@', '"', "'", '*', ' ', '\t', '\r', '\n']);

class Cursor {
  i = 0;
  constructor(readonly s: string) {}
  get done(): boolean {
    return this.i >= this.s.length;
  }
  peek(): string | undefined {
    return this.s[this.i];
  }
  eat(c: string): boolean {
    if (this.s.startsWith(c, this.i)) {
      this.i += c.length;
      return true;
    }
    return false;
  }
  /** A maximal run of name characters (validated as NCName by the caller). */
  name(): string {
    const start = this.i;
    while (this.i < this.s.length && !NAME_STOP.has(this.s[this.i]!)) this.i++;
    return this.s.slice(start, this.i);
  }
}

/** XML 1.0 §2.2 Char, for character references. */
function isXmlCharCode(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

const PREDEFINED: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/**
 * Decodes one XML reference starting at `s[i] === '&'` (XML 1.0 §4.1, the
 * five predefined entities and character references only: no DTD is ever
 * read). Returns the replacement and the index after `;`, or undefined.
 */
export function decodeReference(s: string, i: number): { text: string; next: number } | undefined {
  const end = s.indexOf(';', i);
  if (end < 0 || end - i > 12) return undefined;
  const body = s.slice(i + 1, end);
  let cp: number;
  if (/^#[0-9]+$/.test(body)) cp = Number(body.slice(1));
  else if (/^#x[0-9A-Fa-f]+$/.test(body)) cp = parseInt(body.slice(2), 16);
  else {
    const t = PREDEFINED[body];
    return t === undefined ? undefined : { text: t, next: end + 1 };
  }
  if (!isXmlCharCode(cp)) return undefined;
  return { text: String.fromCodePoint(cp), next: end + 1 };
}

type Fail = { readonly error: string };

function parseQName(c: Cursor): { prefix: string; local: string } | Fail {
  const first = c.name();
  if (!isNCName(first)) return { error: `invalid name ${JSON.stringify(first)} at offset ${c.i - first.length}` };
  if (c.peek() === ':' && c.s[c.i + 1] !== ':') {
    c.i++;
    const local = c.name();
    if (!isNCName(local)) return { error: `invalid local name ${JSON.stringify(local)} at offset ${c.i - local.length}` };
    return { prefix: first, local };
  }
  return { prefix: '', local: first };
}

/** XML 1.0 [10] AttValue (with its quotes), references decoded. */
function parseAttValue(c: Cursor): string | Fail {
  const q = c.peek();
  if (q !== '"' && q !== "'") return { error: `expected a quoted attribute value at offset ${c.i}` };
  c.i++;
  let out = '';
  const s = c.s;
  while (c.i < s.length) {
    const ch = s[c.i]!;
    if (ch === q) {
      c.i++;
      return out;
    }
    if (ch === '<') return { error: `"<" is not allowed in an attribute value (XML 1.0 [10]) at offset ${c.i}` };
    if (ch === '&') {
      const r = decodeReference(s, c.i);
      if (r === undefined) return { error: `invalid reference in an attribute value at offset ${c.i}` };
      out += r.text;
      c.i = r.next;
      continue;
    }
    out += ch;
    c.i++;
  }
  return { error: 'unterminated attribute value' };
}

function isFail(x: unknown): x is Fail {
  return typeof x === 'object' && x !== null && 'error' in x;
}

/**
 * Parses a node selector (RFC 4825 §6.3). `namespaces` are the `xmlns()`
 * bindings of the request URI (§6.4); `defaultNamespace` is the default
 * document namespace of the application usage (§5.2), used for unprefixed
 * element names ('' = no namespace).
 */
export function parseNodeSelector(
  text: string,
  namespaces: Readonly<Record<string, string>>,
  defaultNamespace: string,
): Result<NodeSelector> {
  const bad = (detail: string): Result<NodeSelector> => fail('malformed-request', `invalid node selector: ${detail}`);
  const resolve = (prefix: string): string | undefined => {
    if (prefix === 'xml') return XML_NS;
    if (prefix === 'xmlns') return undefined;
    return Object.prototype.hasOwnProperty.call(namespaces, prefix) ? namespaces[prefix] : undefined;
  };
  const attrName = (c: Cursor): AttributeName | Fail => {
    const q = parseQName(c);
    if (isFail(q)) return q;
    if (q.prefix === '') {
      if (q.local === 'xmlns') return { error: 'namespace declarations are not attributes' };
      return { prefix: '', local: q.local, ns: '' };
    }
    const ns = resolve(q.prefix);
    if (ns === undefined || ns === XMLNS_NS) return { error: `unbound namespace prefix ${JSON.stringify(q.prefix)} (bind it with xmlns() in the query)` };
    return { prefix: q.prefix, local: q.local, ns };
  };

  const c = new Cursor(text);
  const steps: Step[] = [];
  let terminal: TerminalSelector | undefined;
  if (text === '') return bad('empty');
  for (;;) {
    if (steps.length > 0 && c.peek() === '@') {
      c.i++;
      const name = attrName(c);
      if (isFail(name)) return bad(name.error);
      terminal = { kind: 'attribute', name };
      if (!c.done) return bad(`unexpected ${JSON.stringify(c.s.slice(c.i, c.i + 20))} after the attribute selector`);
      break;
    }
    if (steps.length > 0 && c.eat('namespace::*')) {
      terminal = { kind: 'namespace' };
      if (!c.done) return bad('unexpected text after namespace::*');
      break;
    }
    let test: NameTest;
    if (c.eat('*')) {
      test = { kind: 'any' };
    } else {
      const q = parseQName(c);
      if (isFail(q)) return bad(q.error);
      const ns = q.prefix === '' ? defaultNamespace : resolve(q.prefix);
      if (ns === undefined || ns === XMLNS_NS) {
        return bad(`unbound namespace prefix ${JSON.stringify(q.prefix)} (bind it with xmlns() in the query)`);
      }
      test = { kind: 'name', prefix: q.prefix, local: q.local, ns };
    }
    const step: { test: NameTest; position?: number; attr?: AttributeTest } = { test };
    if (c.peek() === '[' && /[0-9]/.test(c.s[c.i + 1] ?? '')) {
      c.i++;
      const start = c.i;
      while (/[0-9]/.test(c.peek() ?? '')) c.i++;
      const digits = c.s.slice(start, c.i);
      if (!c.eat(']')) return bad(`expected "]" at offset ${c.i}`);
      const value = Number(digits);
      if (!(value <= MAX_POSITION)) return bad(`position ${digits.slice(0, 20)} is too large`);
      step.position = value;
    }
    if (c.peek() === '[') {
      c.i++;
      if (!c.eat('@')) return bad(`expected "@" or a position at offset ${c.i}`);
      const name = attrName(c);
      if (isFail(name)) return bad(name.error);
      if (!c.eat('=')) return bad(`expected "=" at offset ${c.i}`);
      const value = parseAttValue(c);
      if (isFail(value)) return bad(value.error);
      if (!c.eat(']')) return bad(`expected "]" at offset ${c.i}`);
      step.attr = { name, value };
    }
    steps.push(step);
    if (c.done) break;
    if (!c.eat('/')) return bad(`unexpected ${JSON.stringify(c.s.slice(c.i, c.i + 20))} at offset ${c.i}`);
    if (c.done) return bad('trailing "/"');
  }
  const sel: { steps: Step[]; terminal?: TerminalSelector } = { steps };
  if (terminal !== undefined) sel.terminal = terminal;
  return ok(sel);
}

function qname(prefix: string, local: string): string {
  return prefix === '' ? local : `${prefix}:${local}`;
}

/** Escapes a string for a double-quoted AttValue in a node selector (XML 1.0 [10]). */
function escapeSelectorValue(v: string): string {
  return v.replace(/[&<"]/g, (ch) => (ch === '&' ? '&amp;' : ch === '<' ? '&lt;' : '&quot;'));
}

/** Formats one step with the prefixes it was written with. */
export function formatStep(step: Step): string {
  let s = step.test.kind === 'any' ? '*' : qname(step.test.prefix, step.test.local);
  if (step.position !== undefined) s += `[${step.position}]`;
  if (step.attr !== undefined) s += `[@${qname(step.attr.name.prefix, step.attr.name.local)}="${escapeSelectorValue(step.attr.value)}"]`;
  return s;
}

/**
 * Formats a node selector (not percent-encoded) with the prefixes it was
 * parsed with, so that `parseNodeSelector(formatNodeSelector(s), ns, d)`
 * gives `s` back under the same bindings.
 */
export function formatNodeSelector(sel: NodeSelector): string {
  let s = sel.steps.map(formatStep).join('/');
  if (sel.terminal?.kind === 'attribute') s += `/@${qname(sel.terminal.name.prefix, sel.terminal.name.local)}`;
  else if (sel.terminal?.kind === 'namespace') s += '/namespace::*';
  return s;
}
