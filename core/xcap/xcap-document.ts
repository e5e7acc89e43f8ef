/**
 * The XCAP document engine (RFC 4825 §7, §8): node selection, GET, PUT and
 * DELETE of documents, elements and attributes on immutable
 * {@link XmlElement} trees, and the `application/xcap-error+xml` bodies of
 * §11. Pure: no I/O, no clock; every function returns data (`Result`s) and
 * never throws on any input.
 *
 * ## Failures: `XcapError` / `XcapFailure`
 *
 * Operations return {@link XcapResult}, a `Result` whose error is a
 * `PresenceError` (so `errorCatalogue[error.code].http` gives the status)
 * that may carry one more plain-data field, `xcap`, for the 409 conflicts of
 * RFC 4825 §11:
 *
 * - `xcap.condition` — the child element of `<xcap-error>` (`no-parent`,
 *   `cannot-insert`, `uniqueness-failure`…), always consistent with
 *   `error.code` (`xcap-<condition>`);
 * - `xcap.phrase` — the optional `phrase` attribute (also in `detail`);
 * - `xcap.ancestor` — for `no-parent`: the closest existing ancestor, relative
 *   to the request URI (an element node selector, the document itself, or the
 *   directory when the document does not exist). The HTTP layer turns it into
 *   the absolute `<ancestor>` URI with {@link ancestorUri} and its XCAP root;
 * - `xcap.exists` — for `uniqueness-failure`: one entry per offending field
 *   (a relative URI starting at the root element, §11), with the duplicated
 *   value and suggested alternatives (`<alt-value>`).
 *
 * The HTTP layer renders the body with {@link xcapErrorDocument} (409 with
 * `Content-Type: application/xcap-error+xml`). Other failures are plain
 * catalogue codes: `not-found` (404: nothing or more than one node selected),
 * `method-not-allowed` (405, with an `Allow` header in `error.headers`),
 * `unsupported-media-type` (415), `body-too-large` (413),
 * `malformed-request` (400). `XcapError` survives structured cloning.
 */
import type { ErrorCode, PresenceError } from '../errors.js';
import type { SipHeader } from '../contract.js';
import { XML_NS, XMLNS_NS, type XmlAttribute, type XmlElement, type XmlNode } from '../xml/xml-node.js';
import { DEFAULT_XML_LIMITS, parseXml, parseXmlFragment, utf8ByteLength, type XmlLimits } from '../xml/xml-parser.js';
import { escapeAttr, serializeXml, type SerializeOptions } from '../xml/xml-serializer.js';
import { decodeReference, formatNodeSelector, type NameTest, type NodeSelector, type Step } from './node-selector.js';
import type { AppUsage, ValidationContext } from './usages/app-usage.js';
import { formatDocumentSelector, formatXcapUri, percentEncode, type XcapUri } from './xcap-uri.js';

// ---------------------------------------------------------------------------
// Failure model
// ---------------------------------------------------------------------------

export const XCAP_ERROR_NS = 'urn:ietf:params:xml:ns:xcap-error';
export const XCAP_ERROR_MIME = 'application/xcap-error+xml';
export const XCAP_EL_MIME = 'application/xcap-el+xml';
export const XCAP_ATT_MIME = 'application/xcap-att+xml';
export const XCAP_NS_MIME = 'application/xcap-ns+xml';

/** The error elements of RFC 4825 §11.2 that presenced produces. */
export type XcapErrorCondition =
  | 'not-well-formed'
  | 'not-xml-frag'
  | 'not-xml-att-value'
  | 'not-utf-8'
  | 'schema-validation-error'
  | 'uniqueness-failure'
  | 'constraint-failure'
  | 'cannot-insert'
  | 'cannot-delete'
  | 'no-parent';

/** The closest existing ancestor of a node that could not be inserted (RFC 4825 §11, `<no-parent>`). */
export type XcapAncestor =
  /** An element of the document, by node selector (same `xmlns()` bindings as the request). */
  | { readonly kind: 'element'; readonly nodeSelector: string }
  /** The document itself (e.g. the first step does not match its root element). */
  | { readonly kind: 'document' }
  /** The document does not exist: its directory (`<auid>/<tree>/[<xui>/]`). */
  | { readonly kind: 'directory' };

/** One `<exists>` of a `<uniqueness-failure>` (RFC 4825 §11). */
export interface XcapExists {
  /** Relative URI of the non-unique element or attribute, starting at the root element. */
  readonly field: string;
  /** The value that is not unique (reported in the phrase; the schema has no slot for it). */
  readonly value?: string;
  /** Suggested alternatives (`<alt-value>`). */
  readonly altValues: readonly string[];
}

/** Structured detail of a 409 conflict; see the module comment. */
export interface XcapFailure {
  readonly condition: XcapErrorCondition;
  readonly phrase?: string;
  readonly ancestor?: XcapAncestor;
  readonly exists?: readonly XcapExists[];
}

/** A `PresenceError` that may carry an {@link XcapFailure}. */
export interface XcapError extends PresenceError {
  readonly xcap?: XcapFailure;
}

export type XcapResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: XcapError };

/** A failure with a catalogue code and, optionally, the XCAP payload. */
export function xcapError<T = never>(code: ErrorCode, detail?: string, extra?: { xcap?: XcapFailure; headers?: readonly SipHeader[] }): XcapResult<T> {
  const e: { code: ErrorCode; detail?: string; headers?: readonly SipHeader[]; xcap?: XcapFailure } = { code };
  if (detail !== undefined) e.detail = detail;
  if (extra?.headers !== undefined) e.headers = extra.headers;
  if (extra?.xcap !== undefined) e.xcap = extra.xcap;
  return { ok: false, error: e };
}

/** A 409 conflict of RFC 4825 §11 (`code` is `xcap-<condition>`). */
export function xcapConflict<T = never>(
  condition: XcapErrorCondition,
  phrase: string,
  more?: { ancestor?: XcapAncestor; exists?: readonly XcapExists[] },
): XcapResult<T> {
  const f: { condition: XcapErrorCondition; phrase: string; ancestor?: XcapAncestor; exists?: readonly XcapExists[] } = { condition, phrase };
  if (more?.ancestor !== undefined) f.ancestor = more.ancestor;
  if (more?.exists !== undefined) f.exists = more.exists;
  return xcapError(`xcap-${condition}`, phrase, { xcap: f });
}

function okv<T>(value: T): XcapResult<T> {
  return { ok: true, value };
}

/** What `xcapErrorBody` can put into the error element. */
export interface XcapErrorExtra {
  readonly phrase?: string;
  /** `<no-parent>`: the absolute HTTP URI of the closest ancestor. */
  readonly ancestor?: string;
  /** `<uniqueness-failure>`: the `<exists>` elements. */
  readonly exists?: readonly XcapExists[];
}

/**
 * The `application/xcap-error+xml` document (RFC 4825 §11) for `condition`:
 * `<xcap-error xmlns="urn:ietf:params:xml:ns:xcap-error"><condition phrase="…">…`
 * with `<ancestor>` for `no-parent` and `<exists field="…"><alt-value>…` for
 * `uniqueness-failure` (the schema requires at least one `<exists>`; one with
 * an empty field is written if none is given).
 */
export function xcapErrorBody(condition: XcapErrorCondition, extra?: XcapErrorExtra): string {
  const attrs: XmlAttribute[] = [];
  if (extra?.phrase !== undefined && extra.phrase !== '') attrs.push({ ns: '', local: 'phrase', prefix: '', value: extra.phrase });
  const children: XmlElement[] = [];
  const el = (local: string, a: XmlAttribute[], c: XmlNode[]): XmlElement => ({ kind: 'element', ns: XCAP_ERROR_NS, local, prefix: '', attrs: a, children: c });
  if (condition === 'no-parent' && extra?.ancestor !== undefined) {
    children.push(el('ancestor', [], [{ kind: 'text', text: extra.ancestor }]));
  }
  if (condition === 'uniqueness-failure') {
    const exists = extra?.exists !== undefined && extra.exists.length > 0 ? extra.exists : [{ field: '', altValues: [] }];
    for (const x of exists) {
      children.push(
        el(
          'exists',
          [{ ns: '', local: 'field', prefix: '', value: x.field }],
          x.altValues.map((v) => el('alt-value', [], v === '' ? [] : [{ kind: 'text', text: v }])),
        ),
      );
    }
  }
  return serializeXml(el('xcap-error', [], [el(condition, attrs, children)]), { declaration: true });
}

const CONDITIONS: ReadonlySet<string> = new Set<XcapErrorCondition>([
  'not-well-formed',
  'not-xml-frag',
  'not-xml-att-value',
  'not-utf-8',
  'schema-validation-error',
  'uniqueness-failure',
  'constraint-failure',
  'cannot-insert',
  'cannot-delete',
  'no-parent',
]);

/**
 * The `application/xcap-error+xml` body for a failure, or undefined when the
 * error is not an XCAP conflict (its code is not `xcap-<condition>`).
 * `ancestorAbsoluteUri` is the absolute URI for `xcap.ancestor` (see
 * {@link ancestorUri}); without it `<ancestor>` is omitted (it is optional).
 */
export function xcapErrorDocument(error: PresenceError & { readonly xcap?: XcapFailure }, ancestorAbsoluteUri?: string): string | undefined {
  const condition = error.xcap?.condition ?? (error.code.startsWith('xcap-') ? error.code.slice(5) : '');
  if (!CONDITIONS.has(condition)) return undefined;
  const extra: { phrase?: string; ancestor?: string; exists?: readonly XcapExists[] } = {};
  const phrase = error.xcap?.phrase ?? error.detail;
  if (phrase !== undefined) extra.phrase = phrase;
  if (ancestorAbsoluteUri !== undefined) extra.ancestor = ancestorAbsoluteUri;
  if (error.xcap?.exists !== undefined) extra.exists = error.xcap.exists;
  return xcapErrorBody(condition as XcapErrorCondition, extra);
}

/**
 * The URI of a `no-parent` ancestor relative to the XCAP root (join as
 * `root + '/' + result`), for the request URI `uri`: the element's URI (same
 * document and `xmlns()` query), the document URI, or the directory URI
 * (ending with `/`).
 */
export function ancestorUri(uri: XcapUri, ancestor: XcapAncestor): string {
  switch (ancestor.kind) {
    case 'element':
      return formatXcapUri({ ...uri, nodeSelector: ancestor.nodeSelector });
    case 'document':
      return formatDocumentSelector(uri);
    case 'directory':
      return `${percentEncode(uri.auid)}/${uri.tree}/${uri.xui !== undefined ? `${percentEncode(uri.xui)}/` : ''}`;
  }
}

// ---------------------------------------------------------------------------
// Selection
// ---------------------------------------------------------------------------

/** Child indices (into `children`, text nodes included) from the root element. */
export type NodePath = readonly number[];

/** What a node selector selects in a document (RFC 4825 §6.3). */
export type Selection =
  | { readonly kind: 'none' }
  /** More than one element: a node selector must select exactly one node (404). */
  | { readonly kind: 'ambiguous'; readonly count: number }
  | { readonly kind: 'element'; readonly element: XmlElement; readonly path: NodePath }
  | { readonly kind: 'attribute'; readonly element: XmlElement; readonly path: NodePath; readonly attribute: XmlAttribute }
  | { readonly kind: 'namespace'; readonly element: XmlElement; readonly path: NodePath };

interface Match {
  readonly el: XmlElement;
  readonly path: NodePath;
}

function nameMatches(el: XmlElement, test: NameTest): boolean {
  return test.kind === 'any' || (el.ns === test.ns && el.local === test.local);
}

function attrValue(el: XmlElement, ns: string, local: string): string | undefined {
  for (const a of el.attrs) if (a.ns === ns && a.local === local) return a.value;
  return undefined;
}

function attrTestMatches(el: XmlElement, step: Step): boolean {
  const t = step.attr;
  return t === undefined || attrValue(el, t.name.ns, t.name.local) === t.value;
}

/** Indices of the children of `parent` selected by `step` (XPath child axis, predicates in order). */
function childMatches(parent: XmlElement, step: Step): number[] {
  const out: number[] = [];
  let pos = 0;
  const children = parent.children;
  for (let i = 0; i < children.length; i++) {
    const c = children[i]!;
    if (c.kind !== 'element' || !nameMatches(c, step.test)) continue;
    pos++;
    if (step.position !== undefined && pos !== step.position) continue;
    if (!attrTestMatches(c, step)) continue;
    out.push(i);
  }
  return out;
}

/** The elements selected by the first `count` steps (XPath node-set semantics). */
function evalSteps(doc: XmlElement, steps: readonly Step[], count = steps.length): Match[] {
  const first = steps[0];
  if (count <= 0 || first === undefined) return [];
  if (!nameMatches(doc, first.test) || (first.position !== undefined && first.position !== 1) || !attrTestMatches(doc, first)) return [];
  let current: Match[] = [{ el: doc, path: [] }];
  for (let k = 1; k < count && current.length > 0; k++) {
    const step = steps[k]!;
    const next: Match[] = [];
    for (const m of current) {
      for (const i of childMatches(m.el, step)) next.push({ el: m.el.children[i] as XmlElement, path: [...m.path, i] });
    }
    current = next;
  }
  return current;
}

/**
 * Evaluates a node selector against a document (RFC 4825 §6.3): the element
 * selector must select exactly one element (none → `none`, several →
 * `ambiguous`); the terminal selector then picks its attribute (absent →
 * `none`) or its namespace bindings.
 */
export function selectNode(doc: XmlElement, sel: NodeSelector): Selection {
  const matches = evalSteps(doc, sel.steps);
  if (matches.length === 0) return { kind: 'none' };
  if (matches.length > 1) return { kind: 'ambiguous', count: matches.length };
  const m = matches[0]!;
  const t = sel.terminal;
  if (t === undefined) return { kind: 'element', element: m.el, path: m.path };
  if (t.kind === 'namespace') return { kind: 'namespace', element: m.el, path: m.path };
  for (const a of m.el.attrs) {
    if (a.ns === t.name.ns && a.local === t.name.local) return { kind: 'attribute', element: m.el, path: m.path, attribute: a };
  }
  return { kind: 'none' };
}

// ---------------------------------------------------------------------------
// Namespace bindings
// ---------------------------------------------------------------------------

function unescapeAttr(s: string): string {
  return s.replace(/&(amp|lt|quot|#13|#10|#9);/g, (_m, e: string) =>
    e === 'amp' ? '&' : e === 'lt' ? '<' : e === 'quot' ? '"' : e === '#13' ? '\r' : e === '#10' ? '\n' : '\t',
  );
}

/**
 * How presenced serialises a document of a usage whose default document
 * namespace is `defaultNamespace` (RFC 4825 §5.2): that namespace is the
 * default one when elements use it (as in the RFC examples, e.g. pres-rules
 * with `cr:` for common-policy), every other namespace keeps the prefix it
 * was written with where possible.
 */
export function documentSerializeOptions(defaultNamespace: string): SerializeOptions {
  return defaultNamespace === '' ? {} : { prefixes: { [defaultNamespace]: '' } };
}

/**
 * The namespace declarations of the document as presenced serves it
 * ({@link getDocument}: `serializeXml` declares every namespace once, on the
 * root element): prefix ('' = default) → URI. These are the bindings a client
 * sees after a GET of the document, hence in scope everywhere in it.
 */
export function documentNamespaces(doc: XmlElement, defaultNamespace = ''): Record<string, string> {
  const out: Record<string, string> = {};
  const text = serializeXml(doc, documentSerializeOptions(defaultNamespace));
  const head = /^<[^\s/>]+((?:\s+xmlns(?::[^\s=]+)?="[^"]*")*)/.exec(text);
  const decls = head?.[1] ?? '';
  for (const m of decls.matchAll(/\s+xmlns(?::([^\s=]+))?="([^"]*)"/g)) out[m[1] ?? ''] = unescapeAttr(m[2] ?? '');
  return out;
}

/** Prefixed names anywhere in the document, first binding of each prefix: the declarations a client most likely put on its root element. */
function prefixHints(el: XmlElement, out: Record<string, string>): void {
  if (el.prefix !== '' && el.ns !== XML_NS && !Object.hasOwn(out, el.prefix)) out[el.prefix] = el.ns;
  for (const a of el.attrs) {
    if (a.prefix !== '' && a.ns !== '' && a.ns !== XML_NS && a.ns !== XMLNS_NS && !Object.hasOwn(out, a.prefix)) out[a.prefix] = a.ns;
  }
  for (const c of el.children) if (c.kind === 'element') prefixHints(c, out);
}

/**
 * The bindings in scope at the element at `path`, as well as the tree can
 * tell (it keeps names and the prefixes they were written with, not the
 * declarations): the prefixes used anywhere in the document, overlaid with
 * the document's declarations as served ({@link documentNamespaces}), then
 * with the prefixes of the elements and attributes from the root to `path`
 * (nearest wins) — what a client that wrote the document itself expects.
 */
export function inScopeNamespaces(doc: XmlElement, path: NodePath, defaultNamespace = ''): Record<string, string> {
  const out: Record<string, string> = {};
  prefixHints(doc, out);
  Object.assign(out, documentNamespaces(doc, defaultNamespace));
  let el: XmlElement | undefined = doc;
  for (let k = 0; el !== undefined; k++) {
    if (el.prefix !== 'xml' && el.ns !== XML_NS) out[el.prefix] = el.ns;
    for (const a of el.attrs) {
      if (a.prefix !== '' && a.prefix !== 'xml' && a.ns !== '' && a.ns !== XML_NS && a.ns !== XMLNS_NS) out[a.prefix] = a.ns;
    }
    if (k >= path.length) break;
    const c: XmlNode | undefined = el.children[path[k]!];
    el = c?.kind === 'element' ? c : undefined;
  }
  return out;
}

/**
 * The `application/xcap-ns+xml` body (RFC 4825 §6.3, §12): the selected
 * element with no attributes and no content, carrying a declaration of every
 * namespace binding in scope at it.
 */
function namespaceBody(doc: XmlElement, m: { el: XmlElement; path: NodePath }, defaultNamespace: string): string {
  const b = inScopeNamespaces(doc, m.path, defaultNamespace);
  const el = m.el;
  let name: string;
  if (el.ns === '') {
    delete b[''];
    name = el.local;
  } else if (b[el.prefix] === el.ns) {
    name = el.prefix === '' ? el.local : `${el.prefix}:${el.local}`;
  } else {
    const p = Object.keys(b).find((k) => b[k] === el.ns);
    if (p !== undefined) {
      name = p === '' ? el.local : `${p}:${el.local}`;
    } else {
      let n = 0;
      let g: string;
      do g = `ns${++n}`;
      while (b[g] !== undefined);
      b[g] = el.ns;
      name = `${g}:${el.local}`;
    }
  }
  let decls = '';
  for (const p of Object.keys(b).sort()) {
    const uri = b[p]!;
    if (p === '' && uri === '') continue;
    decls += p === '' ? ` xmlns="${escapeAttr(uri)}"` : ` xmlns:${p}="${escapeAttr(uri)}"`;
  }
  return `<${name}${decls}/>`;
}

// ---------------------------------------------------------------------------
// GET
// ---------------------------------------------------------------------------

/** A response body with its media type. */
export interface XcapBody {
  readonly contentType: string;
  readonly body: string;
}

/**
 * GET of a whole document (RFC 4825 §8.3): its serialisation (with an XML
 * declaration, see {@link documentSerializeOptions}) in the usage's MIME type.
 */
export function getDocument(doc: XmlElement, usage: Pick<AppUsage, 'mimeType' | 'defaultNamespace'>): XcapBody {
  return { contentType: usage.mimeType, body: serializeXml(doc, { ...documentSerializeOptions(usage.defaultNamespace), declaration: true }) };
}

/**
 * GET of a node (RFC 4825 §8.3): an element as `application/xcap-el+xml`
 * (serialised with the namespace declarations it needs, so that it parses on
 * its own), an attribute as `application/xcap-att+xml` (its value, escaped as
 * an XML attribute value without quotes), `namespace::*` as
 * `application/xcap-ns+xml` (the bindings in scope, {@link inScopeNamespaces}).
 * Pass the usage's default namespace as `defaultNamespace` so that prefixes
 * match the document as served by {@link getDocument}. Nothing or more than
 * one node → `not-found`.
 */
export function getNode(doc: XmlElement, sel: NodeSelector, defaultNamespace = ''): XcapResult<XcapBody> {
  const s = selectNode(doc, sel);
  switch (s.kind) {
    case 'none':
      return xcapError('not-found', `the node selector ${formatNodeSelector(sel)} selects nothing`);
    case 'ambiguous':
      return xcapError('not-found', `the node selector ${formatNodeSelector(sel)} selects ${s.count} elements, not exactly one`);
    case 'element':
      return okv({ contentType: XCAP_EL_MIME, body: serializeXml(s.element, documentSerializeOptions(defaultNamespace)) });
    case 'attribute':
      return okv({ contentType: XCAP_ATT_MIME, body: escapeAttr(s.attribute.value) });
    case 'namespace':
      return okv({ contentType: XCAP_NS_MIME, body: namespaceBody(doc, { el: s.element, path: s.path }, defaultNamespace) });
  }
}

// ---------------------------------------------------------------------------
// Tree surgery (immutable)
// ---------------------------------------------------------------------------

function withChildren(el: XmlElement, children: readonly XmlNode[]): XmlElement {
  return { kind: 'element', ns: el.ns, local: el.local, prefix: el.prefix, attrs: el.attrs, children };
}

/** `doc` with the element at `path` replaced by `f(element)`. */
function updateAt(doc: XmlElement, path: NodePath, f: (el: XmlElement) => XmlElement, k = 0): XmlElement {
  if (k === path.length) return f(doc);
  const i = path[k]!;
  const child = doc.children[i] as XmlElement;
  const children = doc.children.slice();
  children[i] = updateAt(child, path, f, k + 1);
  return withChildren(doc, children);
}

function isBlank(s: string): boolean {
  return /^[ \t\r\n]*$/.test(s);
}

/** Merges adjacent text nodes (the shape `parseXml` produces). */
function mergeTexts(children: readonly XmlNode[]): XmlNode[] {
  const out: XmlNode[] = [];
  for (const c of children) {
    const last = out[out.length - 1];
    if (c.kind === 'text' && last?.kind === 'text') out[out.length - 1] = { kind: 'text', text: last.text + c.text };
    else out.push(c);
  }
  return out;
}

function checkLimits(doc: XmlElement, limits: XmlLimits): string | undefined {
  let elements = 0;
  let tooMany: string | undefined;
  const walk = (el: XmlElement, depth: number): void => {
    if (tooMany !== undefined) return;
    if (++elements > limits.maxElements) tooMany = `more than ${limits.maxElements} elements`;
    else if (depth > limits.maxDepth) tooMany = `nesting deeper than ${limits.maxDepth}`;
    else if (el.attrs.length > limits.maxAttributes) tooMany = `more than ${limits.maxAttributes} attributes on <${el.local}>`;
    for (const c of el.children) if (c.kind === 'element') walk(c, depth + 1);
  };
  walk(doc, 1);
  if (tooMany !== undefined) return `the document would have ${tooMany} (server limit)`;
  const size = utf8ByteLength(serializeXml(doc, { declaration: true }));
  if (size > limits.maxBytes) return `the document would exceed ${limits.maxBytes} bytes (server limit)`;
  return undefined;
}

// ---------------------------------------------------------------------------
// PUT / DELETE
// ---------------------------------------------------------------------------

/** What PUT and DELETE need besides the document and the selector. */
export interface XcapOperationContext {
  /** The application usage of the document (MIME type, validation, read-only). */
  readonly usage: AppUsage;
  /** The `xmlns()` bindings of the request URI (used for element bodies too). */
  readonly namespaces?: Readonly<Record<string, string>>;
  /** Passed to `usage.validate`. */
  readonly validation?: ValidationContext;
  /** Parser limits, also applied to the resulting document (default `DEFAULT_XML_LIMITS`). */
  readonly limits?: Partial<XmlLimits>;
}

export interface PutOutcome {
  /** The new document. */
  readonly doc: XmlElement;
  /** True when a document, element or attribute was created (201), false when replaced (200). */
  readonly created: boolean;
}

function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

function wrongElementType<T>(): XcapResult<T> {
  return xcapError('unsupported-media-type', `an element must be sent as ${XCAP_EL_MIME}`, { headers: [{ name: 'Accept', value: XCAP_EL_MIME }] });
}

function readOnly<T>(usage: AppUsage): XcapResult<T> {
  return xcapError('method-not-allowed', `the ${usage.auid} application usage is read-only`, { headers: [{ name: 'Allow', value: 'GET' }] });
}

/** `<?xml … encoding="X"?>` with X other than UTF-8 (RFC 4825 §8.2.2: 409 not-utf-8). */
function declaresNonUtf8(body: string): string | undefined {
  const m = /^\uFEFF?<\?xml\s[^>]*?encoding\s*=\s*(?:"([^"]*)"|'([^']*)')/.exec(body);
  const enc = m?.[1] ?? m?.[2];
  return enc !== undefined && enc.toLowerCase() !== 'utf-8' && enc.toLowerCase() !== 'utf8' ? enc : undefined;
}

function closestAncestor(doc: XmlElement, steps: readonly Step[], upto: number): XcapAncestor {
  for (let k = upto - 1; k >= 1; k--) {
    if (evalSteps(doc, steps, k).length === 1) return { kind: 'element', nodeSelector: formatNodeSelector({ steps: steps.slice(0, k) }) };
  }
  return { kind: 'document' };
}

function noParent<T>(doc: XmlElement, sel: NodeSelector, upto: number): XcapResult<T> {
  return xcapConflict('no-parent', `the parent of ${formatNodeSelector(sel)} does not exist`, { ancestor: closestAncestor(doc, sel.steps, upto) });
}

function validateWith(usage: AppUsage, doc: XmlElement, ctx: XcapOperationContext): XcapResult<void> {
  try {
    return usage.validate(doc, ctx.validation ?? {});
  } catch (e: unknown) {
    return xcapError('internal', `validation of ${usage.auid} failed: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * Parses an `application/xcap-att+xml` body (RFC 4825 §8.2.3): an XML
 * attribute value without its quotes (XML 1.0 [10] AttValue content: no `<`,
 * `&` only in references, not both quote characters), normalised as an XML
 * processor would (§3.3.3: literal white space → space).
 */
export function parseAttributeValue(body: string): string | undefined {
  if (body.includes('"') && body.includes("'")) return undefined;
  let out = '';
  let i = 0;
  const s = body.replace(/\r\n?/g, '\n');
  while (i < s.length) {
    const ch = s[i]!;
    const cp = s.codePointAt(i)!;
    if (ch === '<') return undefined;
    if (ch === '&') {
      const r = decodeReference(s, i);
      if (r === undefined) return undefined;
      out += r.text;
      i = r.next;
      continue;
    }
    if (!(cp === 0x9 || cp === 0xa || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff))) return undefined;
    const len = cp > 0xffff ? 2 : 1;
    out += ch === '\t' || ch === '\n' ? ' ' : s.slice(i, i + len);
    i += len;
  }
  return out;
}

/** Parses an element body, telling a broken body (not-well-formed) from a non-element one (not-xml-frag). */
function parseElementBody(body: string, bindings: Record<string, string>, limits: XmlLimits): XcapResult<XmlElement> {
  const enc = declaresNonUtf8(body);
  if (enc !== undefined) return xcapConflict('not-utf-8', `the body declares encoding ${enc}; XCAP requires UTF-8`);
  const r = parseXmlFragment(body, bindings, limits);
  if (r.ok) return okv(r.value);
  if (r.error.code !== 'malformed-body') return { ok: false, error: r.error };
  const content = body.replace(/^\uFEFF?\s*<\?xml\s[\s\S]*?\?>/, '');
  const wrapped = parseXmlFragment(`<xcap-fragment-wrapper>${content}</xcap-fragment-wrapper>`, bindings, limits);
  if (wrapped.ok) return xcapConflict('not-xml-frag', 'the body must be exactly one XML element (application/xcap-el+xml)');
  return xcapConflict('not-well-formed', `the body is not well-formed: ${r.error.detail ?? ''}`.trim());
}

/** The bindings for an element body: in-scope ones at the parent, then the request's `xmlns()` ones. */
function bodyBindings(
  doc: XmlElement,
  parentPath: NodePath | undefined, // undefined: the document level (replacing the root)
  query: Readonly<Record<string, string>>,
  defaultNamespace: string,
): Record<string, string> {
  const base = inScopeNamespaces(doc, parentPath ?? [], defaultNamespace);
  const out: Record<string, string> = {};
  for (const [p, uri] of Object.entries({ ...base, ...query })) {
    if (p === 'xml' || p === 'xmlns' || uri === XML_NS || uri === XMLNS_NS) continue;
    if (p === '' && uri === '') continue;
    if (uri === '') continue;
    out[p] = uri;
  }
  return out;
}

function samePath(a: NodePath, b: NodePath): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * Where a new element goes among `children` for the last step `step` (RFC
 * 4825 §8.2.3): with a position n, so that it becomes the n-th sibling that
 * passes the name test (right after the (n-1)-th one; before the first one
 * when n = 1) — impossible when fewer than n-1 exist; without a position,
 * after the last sibling with the same name (for `*`: the new element's
 * name), else after all children.
 */
function insertionIndex(children: readonly XmlNode[], step: Step, el: XmlElement): number | undefined {
  const test: NameTest =
    step.position === undefined && step.test.kind === 'any' ? { kind: 'name', prefix: el.prefix, local: el.local, ns: el.ns } : step.test;
  const matching: number[] = [];
  children.forEach((c, i) => {
    if (c.kind === 'element' && nameMatches(c, test)) matching.push(i);
  });
  if (step.position === undefined) return matching.length === 0 ? children.length : matching[matching.length - 1]! + 1;
  const n = step.position;
  if (n < 1 || matching.length < n - 1) return undefined;
  if (n === 1) return matching.length === 0 ? children.length : matching[0]!;
  return matching[n - 2]! + 1;
}

/**
 * PUT (RFC 4825 §8.2): creates or replaces the whole document (`sel`
 * undefined), an element or an attribute, and validates the result against
 * the application usage (§8.2.5).
 *
 * - document: `contentType` must be the usage's MIME type (415); the body a
 *   well-formed UTF-8 document (409 not-well-formed / not-utf-8);
 * - element (`application/xcap-el+xml`): the document and the parent must
 *   exist (409 no-parent with the closest ancestor; several parents → 404);
 *   the body must be one element (not-xml-frag); prefixes it does not
 *   declare resolve like in the document text: through the bindings in scope
 *   at the parent ({@link inScopeNamespaces}; the default namespace is the
 *   usage's default namespace unless the document says otherwise), then the
 *   URI's `xmlns()` bindings; an existing element is replaced, else the
 *   element is inserted (§8.2.3 positional rules);
 * - attribute (`application/xcap-att+xml`): the element must exist; the body
 *   is an attribute value (not-xml-att-value);
 * - afterwards the node selector must select exactly the new node, else the
 *   request is refused with 409 cannot-insert (a GET of the URI would not
 *   return what was PUT, §8.2.3/§8.2.4);
 * - `namespace::*` and read-only usages → 405; a document outgrowing the
 *   limits → 409 constraint-failure.
 */
export function putNode(
  doc: XmlElement | undefined,
  sel: NodeSelector | undefined,
  body: string,
  contentType: string | undefined,
  ctx: XcapOperationContext,
): XcapResult<PutOutcome> {
  try {
    return put(doc, sel, body, contentType, ctx);
  } catch (e: unknown) {
    return xcapError('internal', `PUT failed: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function put(doc: XmlElement | undefined, sel: NodeSelector | undefined, body: string, contentType: string | undefined, ctx: XcapOperationContext): XcapResult<PutOutcome> {
  const usage = ctx.usage;
  if (usage.readOnly === true) return readOnly(usage);
  const limits: XmlLimits = ctx.limits === undefined ? DEFAULT_XML_LIMITS : { ...DEFAULT_XML_LIMITS, ...ctx.limits };
  const query = ctx.namespaces ?? {};

  if (sel === undefined) {
    if (mediaType(contentType) !== usage.mimeType.toLowerCase()) {
      return xcapError('unsupported-media-type', `a ${usage.auid} document must be sent as ${usage.mimeType}`, { headers: [{ name: 'Accept', value: usage.mimeType }] });
    }
    const enc = declaresNonUtf8(body);
    if (enc !== undefined) return xcapConflict('not-utf-8', `the document declares encoding ${enc}; XCAP requires UTF-8`);
    const parsed = parseXml(body, limits);
    if (!parsed.ok) {
      if (parsed.error.code === 'malformed-body') return xcapConflict('not-well-formed', parsed.error.detail ?? 'the body is not well-formed XML');
      return { ok: false, error: parsed.error };
    }
    const v = validateWith(usage, parsed.value, ctx);
    if (!v.ok) return v;
    return okv({ doc: parsed.value, created: doc === undefined });
  }

  if (sel.terminal?.kind === 'namespace') {
    return xcapError('method-not-allowed', 'namespace bindings can only be read', { headers: [{ name: 'Allow', value: 'GET' }] });
  }
  if (doc === undefined) {
    return xcapConflict('no-parent', 'the document does not exist', { ancestor: { kind: 'directory' } });
  }
  const steps = sel.steps;
  let newDoc: XmlElement;
  let created: boolean;

  if (sel.terminal?.kind === 'attribute') {
    const name = sel.terminal.name;
    const targets = evalSteps(doc, steps);
    if (targets.length === 0) return noParent(doc, sel, steps.length);
    if (targets.length > 1) return xcapError('not-found', `the element selector selects ${targets.length} elements, not exactly one`);
    if (mediaType(contentType) !== XCAP_ATT_MIME) {
      return xcapError('unsupported-media-type', `an attribute must be sent as ${XCAP_ATT_MIME}`, { headers: [{ name: 'Accept', value: XCAP_ATT_MIME }] });
    }
    if (utf8ByteLength(body) > limits.maxTextBytes) return xcapError('body-too-large', `attribute value exceeds ${limits.maxTextBytes} bytes`);
    const value = parseAttributeValue(body);
    if (value === undefined) return xcapConflict('not-xml-att-value', 'the body is not a valid XML attribute value');
    const target = targets[0]!;
    const existing = target.el.attrs.findIndex((a) => a.ns === name.ns && a.local === name.local);
    created = existing < 0;
    const attr: XmlAttribute = { ns: name.ns, local: name.local, prefix: name.ns === '' ? '' : name.ns === XML_NS ? 'xml' : name.prefix, value };
    newDoc = updateAt(doc, target.path, (el) => {
      const attrs = el.attrs.slice();
      if (existing >= 0) attrs[existing] = attr;
      else attrs.push(attr);
      return { kind: 'element', ns: el.ns, local: el.local, prefix: el.prefix, attrs, children: el.children };
    });
    const after = selectNode(newDoc, sel);
    if (after.kind !== 'attribute' || !samePath(after.path, target.path) || after.attribute.value !== value) {
      return xcapConflict('cannot-insert', `after the PUT, ${formatNodeSelector(sel)} would not select the attribute`);
    }
  } else {
    const last = steps[steps.length - 1]!;
    let expected: NodePath;
    const targets = evalSteps(doc, steps);
    if (targets.length > 1) return xcapError('not-found', `the node selector selects ${targets.length} elements, not exactly one`);
    const target = targets[0];
    if (steps.length === 1) {
      if (mediaType(contentType) !== XCAP_EL_MIME) return wrongElementType();
      const parsed = parseElementBody(body, bodyBindings(doc, undefined, query, usage.defaultNamespace), limits);
      if (!parsed.ok) return parsed;
      if (target === undefined) return xcapConflict('cannot-insert', 'a document has exactly one root element; replace the document instead');
      newDoc = parsed.value;
      created = false;
      expected = [];
    } else if (target !== undefined) {
      // Replacement (§8.2.4): the parent is the target's, whatever the intermediate steps matched.
      if (mediaType(contentType) !== XCAP_EL_MIME) return wrongElementType();
      const parentPath = target.path.slice(0, -1);
      const parsed = parseElementBody(body, bodyBindings(doc, parentPath, query, usage.defaultNamespace), limits);
      if (!parsed.ok) return parsed;
      const index = target.path[target.path.length - 1]!;
      newDoc = updateAt(doc, parentPath, (p) => {
        const children = p.children.slice();
        children[index] = parsed.value;
        return withChildren(p, children);
      });
      created = false;
      expected = target.path;
    } else {
      // Creation (§8.2.3): the parent must exist, exactly once.
      const parents = evalSteps(doc, steps, steps.length - 1);
      if (parents.length === 0) return noParent(doc, sel, steps.length - 1);
      if (parents.length > 1) return xcapError('not-found', `the parent selector selects ${parents.length} elements, not exactly one`);
      const parent = parents[0]!;
      if (mediaType(contentType) !== XCAP_EL_MIME) return wrongElementType();
      const parsed = parseElementBody(body, bodyBindings(doc, parent.path, query, usage.defaultNamespace), limits);
      if (!parsed.ok) return parsed;
      const el = parsed.value;
      // White space beside elements carries no information (the parser drops it too).
      const children = parent.el.children.filter((c) => c.kind === 'element' || !isBlank(c.text));
      const at = insertionIndex(children, last, el);
      if (at === undefined) {
        return xcapConflict('cannot-insert', `position ${last.position ?? ''} is beyond the existing siblings; the element cannot be inserted there`);
      }
      children.splice(at, 0, el);
      newDoc = updateAt(doc, parent.path, (p) => withChildren(p, children));
      created = true;
      expected = [...parent.path, at];
    }
    const after = evalSteps(newDoc, steps);
    if (after.length !== 1 || !samePath(after[0]!.path, expected)) {
      return xcapConflict('cannot-insert', `after the PUT, ${formatNodeSelector(sel)} would not select the element in the body`);
    }
  }
  const tooBig = checkLimits(newDoc, limits);
  if (tooBig !== undefined) return xcapConflict('constraint-failure', tooBig);
  const v = validateWith(usage, newDoc, ctx);
  if (!v.ok) return v;
  return okv({ doc: newDoc, created });
}

/**
 * DELETE of an element or attribute (RFC 4825 §8.4); deleting a whole
 * document is the store's business. The node must exist (404); the root
 * element cannot be deleted (409 cannot-delete: delete the document); after
 * the deletion the node selector must select nothing, otherwise the DELETE
 * would not be idempotent (409 cannot-delete, e.g. `entry[1]` with a second
 * entry that would move up). The result is validated against the usage.
 */
export function deleteNode(doc: XmlElement, sel: NodeSelector, ctx: XcapOperationContext): XcapResult<XmlElement> {
  try {
    return del(doc, sel, ctx);
  } catch (e: unknown) {
    return xcapError('internal', `DELETE failed: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function del(doc: XmlElement, sel: NodeSelector, ctx: XcapOperationContext): XcapResult<XmlElement> {
  const usage = ctx.usage;
  if (usage.readOnly === true) return readOnly(usage);
  if (sel.terminal?.kind === 'namespace') {
    return xcapError('method-not-allowed', 'namespace bindings can only be read', { headers: [{ name: 'Allow', value: 'GET' }] });
  }
  const s = selectNode(doc, sel);
  if (s.kind === 'none') return xcapError('not-found', `the node selector ${formatNodeSelector(sel)} selects nothing`);
  if (s.kind === 'ambiguous') return xcapError('not-found', `the node selector ${formatNodeSelector(sel)} selects ${s.count} elements, not exactly one`);
  let newDoc: XmlElement;
  if (s.kind === 'attribute') {
    const a = s.attribute;
    newDoc = updateAt(doc, s.path, (el) => ({
      kind: 'element',
      ns: el.ns,
      local: el.local,
      prefix: el.prefix,
      attrs: el.attrs.filter((x) => !(x.ns === a.ns && x.local === a.local)),
      children: el.children,
    }));
  } else {
    if (s.path.length === 0) return xcapConflict('cannot-delete', 'the root element cannot be deleted; delete the document instead');
    const parentPath = s.path.slice(0, -1);
    const index = s.path[s.path.length - 1]!;
    newDoc = updateAt(doc, parentPath, (p) => {
      const children = p.children.slice();
      children.splice(index, 1);
      return withChildren(p, mergeTexts(children));
    });
  }
  const after = selectNode(newDoc, sel);
  if (after.kind !== 'none') {
    return xcapConflict('cannot-delete', `after the DELETE, ${formatNodeSelector(sel)} would still select a node (not idempotent)`);
  }
  const v = validateWith(usage, newDoc, ctx);
  if (!v.ok) return v;
  return okv(newDoc);
}
