/**
 * The XDM Server's request handling (RFC 4825 §7–§8) against the store, in
 * the lane of the document owner's resource, so that a change of pres-rules
 * re-evaluates that user's subscriptions in the same atomic event
 * (RFC 5025 §3.1), a pidf-manipulation change recomposes their presence
 * (RFC 4827) and every change reaches their xcap-diff subscribers (RFC 5875).
 *
 * - `users/<xui>/…` is readable and writable by that user only; `global/…`
 *   is read-only; anonymous requests are refused (the HTTP layer
 *   authenticates).
 * - Every document has a strong entity tag, new on every change, written in
 *   the same store batch as the document. If-Match / If-None-Match apply to
 *   the document (§7.11): 412, or 304 for a matching GET.
 * - A refused request changes nothing (the event's writes are dropped).
 */
import { errorCatalogue, isErrorCode, type PresenceError } from '../errors.js';
import { aorOf } from '../sip/uri.js';
import type { XcapDocumentRecord } from '../store/records.js';
import type { XmlElement } from '../xml/xml-node.js';
import { serializeXml } from '../xml/xml-serializer.js';
import type { EventContext } from '../server/event-context.js';
import { recompose, stateChanged } from '../server/composition.js';
import { reauthorizeResource, scheduleRulesTimer } from '../server/reauthorize.js';
import { parseNodeSelector, type NodeSelector } from './node-selector.js';
import { ancestorUri, deleteNode, getDocument, getNode, putNode, xcapErrorDocument, XCAP_ERROR_MIME, type XcapError } from './xcap-document.js';
import { formatDocumentSelector, parseXcapUri, type XcapUri } from './xcap-uri.js';
import type { AppUsage, AppUsageRegistry } from './usages/app-usage.js';
import { renderXcapCaps } from './usages/xcap-caps.js';
import { renderXcapDirectory, type XcapDirectoryEntry } from './usages/xcap-directory.js';
import { RLS_SERVICES_AUID, RLS_SERVICES_NS, serviceUris } from './usages/rls-services.js';

export interface XcapRequest {
  readonly method: string;
  /** Request path after the XCAP root, without a leading `/` (still percent-encoded). */
  readonly path: string;
  /** Query string without `?` (the `xmlns()` bindings, §6.4). */
  readonly query?: string;
  /** The authenticated user's XUI (e.g. `sip:alice@example.com`); undefined = anonymous. */
  readonly user?: string;
  /** If-Match entity-tags (unquoted); `*` matches any existing document. */
  readonly ifMatch?: readonly string[];
  /** If-None-Match entity-tags (unquoted); `*` matches any existing document. */
  readonly ifNoneMatch?: readonly string[];
  readonly contentType?: string;
  readonly body?: string;
  /** The HTTP layer could not decode the body as UTF-8 (reported after authorization, as 409 not-utf-8). */
  readonly bodyNotUtf8?: boolean;
}

export interface XcapResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
}

export const PRES_RULES_AUIDS: readonly string[] = ['pres-rules', 'org.openmobilealliance.pres-rules'];
const GLOBAL_LANE = 'xcap:global';
/**
 * Index of rls-services service URIs in the xcap table: [RLS_INDEX, 'global',
 * '', serviceUri] → owning document key. Service URIs are unique across all
 * users (RFC 4826); the check runs in the owner's lane (so the owner's
 * xcap-diff NOTIFYs keep their order), which leaves a race only when two
 * users claim the same new URI in the same instant.
 */
const RLS_INDEX = 'rls-services.index';

/** The ordering lane of an XCAP request: the owner's resource (AOR), or one lane for the global tree. */
export function xcapLane(path: string, query: string | undefined): string {
  const uri = parseXcapUri(path, query);
  if (!uri.ok || uri.value.tree === 'global' || uri.value.xui === undefined) return GLOBAL_LANE;
  return aorOf(uri.value.xui) ?? GLOBAL_LANE;
}

/** The store key of a document (the XUI canonicalised to the owner's AOR). */
export function documentKey(uri: Pick<XcapUri, 'auid' | 'tree' | 'xui' | 'document'>): [string, string, string, string] {
  const xui = uri.tree === 'users' && uri.xui !== undefined ? (aorOf(uri.xui) ?? uri.xui) : '';
  return [uri.auid, uri.tree, xui, uri.document];
}

export interface XcapServiceDeps {
  readonly registry: AppUsageRegistry;
  /** The XCAP root URI (for xcap-error ancestors and directory entries). */
  readonly root: string;
  readonly maxBodyBytes: number;
}

function failure(error: PresenceError, root: string, uri?: XcapUri): XcapResponse {
  const code = isErrorCode(error.code) ? error.code : 'internal';
  const status = errorCatalogue[code].http;
  const headers: Record<string, string> = {};
  for (const h of error.headers ?? []) headers[h.name] = h.value;
  const x = (error as XcapError).xcap;
  if (code.startsWith('xcap-') && x) {
    const ancestor = uri && x.ancestor ? `${root}/${ancestorUri(uri, x.ancestor)}` : undefined;
    const body = xcapErrorDocument(error as XcapError, ancestor);
    if (body !== undefined) return { status, headers: { ...headers, 'Content-Type': XCAP_ERROR_MIME }, body };
  }
  return { status, headers: { ...headers, 'Content-Type': 'text/plain; charset=utf-8' }, body: `${errorCatalogue[code].summary}${error.detail ? `: ${error.detail}` : ''}\n` };
}

const quote = (etag: string): string => `"${etag}"`;

function matches(list: readonly string[] | undefined, etag: string | undefined): boolean {
  if (!list || list.length === 0) return false;
  if (etag === undefined) return false;
  return list.includes('*') || list.includes(etag);
}

/** Handle one XCAP request inside `ctx` (whose resource is `xcapLane(...)`). */
export function handleXcap(ctx: EventContext, req: XcapRequest, deps: XcapServiceDeps): XcapResponse {
  const method = req.method.toUpperCase();
  const parsed = parseXcapUri(req.path, req.query);
  if (!parsed.ok) return failure(parsed.error, deps.root);
  const uri = parsed.value;
  const resolved = deps.registry.resolve(uri);
  if (!resolved.ok) return failure(resolved.error, deps.root, uri);
  const usage = resolved.value;

  // Authorization (RFC 4825 §10): own documents only; global is read-only.
  if (req.user === undefined) return failure({ code: 'unauthorized', detail: 'authentication required' }, deps.root, uri);
  if (uri.tree === 'users') {
    if (uri.xui === undefined || (aorOf(uri.xui) ?? uri.xui) !== (aorOf(req.user) ?? req.user)) {
      return failure({ code: 'forbidden', detail: 'a user may only access their own documents' }, deps.root, uri);
    }
  } else if (method !== 'GET') {
    return failure({ code: 'method-not-allowed', detail: 'the global tree is read-only', headers: [{ name: 'Allow', value: 'GET' }] }, deps.root, uri);
  }
  if (method !== 'GET' && method !== 'PUT' && method !== 'DELETE') {
    return failure({ code: 'method-not-allowed', detail: `${method} is not an XCAP method`, headers: [{ name: 'Allow', value: 'GET, HEAD, PUT, DELETE' }] }, deps.root, uri);
  }
  if (usage.readOnly === true && method !== 'GET') {
    return failure({ code: 'method-not-allowed', detail: `${usage.auid} documents are generated by the server`, headers: [{ name: 'Allow', value: 'GET' }] }, deps.root, uri);
  }
  if (req.bodyNotUtf8 === true && method === 'PUT') {
    return failure({ code: 'xcap-not-utf-8', detail: 'the body is not UTF-8', xcap: { condition: 'not-utf-8' } } as PresenceError, deps.root, uri);
  }

  let sel: NodeSelector | undefined;
  if (uri.nodeSelector !== undefined) {
    const s = parseNodeSelector(uri.nodeSelector, uri.namespaces, usage.defaultNamespace);
    if (!s.ok) return failure(s.error, deps.root, uri);
    sel = s.value;
  }

  // The stored (or generated) document and its entity tag.
  const key = documentKey(uri);
  const generated = generatedDocument(ctx, usage, uri, deps);
  const stored = generated ? undefined : (ctx.kv.get('xcap', key) as XcapDocumentRecord | undefined);
  const current = generated ?? stored;

  // Conditional requests (§7.11, RFC 9110 §13).
  // An If-Match header that names no usable strong tag (weak, malformed) can never match (RFC 9110 §13.1.1).
  if (req.ifMatch !== undefined && !matches(req.ifMatch, current?.etag)) {
    return failure({ code: 'precondition-failed', detail: 'If-Match did not match the document' }, deps.root, uri);
  }
  if (req.ifNoneMatch && req.ifNoneMatch.length > 0 && matches(req.ifNoneMatch, current?.etag)) {
    if (method === 'GET') return { status: 304, headers: { ETag: quote(current?.etag ?? '') } };
    return failure({ code: 'precondition-failed', detail: 'If-None-Match matched the document' }, deps.root, uri);
  }

  if (method === 'GET') {
    if (!current) return failure({ code: 'not-found', detail: 'no such document' }, deps.root, uri);
    if (!sel) {
      const b = getDocument(current.doc, usage);
      return { status: 200, headers: { 'Content-Type': b.contentType, ETag: quote(current.etag) }, body: b.body };
    }
    const part = getNode(current.doc, sel, usage.defaultNamespace);
    if (!part.ok) return failure(part.error, deps.root, uri);
    return { status: 200, headers: { 'Content-Type': part.value.contentType, ETag: quote(current.etag) }, body: part.value.body };
  }

  // PUT / DELETE on the user's own document.
  const ownKey = JSON.stringify(key);
  const serviceUriTaken = (serviceUri: string): boolean => {
    const owner = ctx.kv.get('xcap', [RLS_INDEX, 'global', '', serviceUri]) as string | undefined;
    return owner !== undefined && owner !== ownKey;
  };
  const validation = uri.xui === undefined ? {} : usage.auid === RLS_SERVICES_AUID ? { xui: uri.xui, serviceUriTaken } : { xui: uri.xui };
  const opCtx = { usage, namespaces: uri.namespaces, validation };
  let next: XmlElement | undefined;
  let created = false;
  if (method === 'PUT') {
    const body = req.body ?? '';
    if (utf8Length(body) > deps.maxBodyBytes) return failure({ code: 'body-too-large', detail: `limit ${deps.maxBodyBytes} bytes` }, deps.root, uri);
    const r = putNode(stored?.doc, sel, body, req.contentType, opCtx);
    if (!r.ok) return failure(r.error, deps.root, uri);
    next = r.value.doc;
    created = r.value.created;
  } else {
    if (!stored) return failure({ code: 'not-found', detail: 'no such document' }, deps.root, uri);
    if (sel) {
      const r = deleteNode(stored.doc, sel, opCtx);
      if (!r.ok) return failure(r.error, deps.root, uri);
      next = r.value;
    }
  }

  const etag = ctx.deps.ids.newEtag();
  if (next === undefined) ctx.kv.remove('xcap', key);
  else ctx.kv.put('xcap', key, { etag, doc: next, updatedAt: ctx.now } satisfies XcapDocumentRecord);
  if (usage.auid === RLS_SERVICES_AUID) {
    const before = new Set(stored ? serviceUris(stored.doc) : []);
    const after = new Set(next ? serviceUris(next) : []);
    for (const u of before) if (!after.has(u)) ctx.kv.remove('xcap', [RLS_INDEX, 'global', '', u]);
    for (const u of after) ctx.kv.put('xcap', [RLS_INDEX, 'global', '', u], ownKey);
  }
  documentChanged(ctx, uri, usage, stored?.etag, next === undefined ? undefined : etag);

  const status = method === 'PUT' && created ? 201 : 200;
  return next === undefined ? { status, headers: {} } : { status, headers: { ETag: quote(etag) } };
}

/** Side effects of a changed document of the resource's owner. */
function documentChanged(ctx: EventContext, uri: XcapUri, usage: AppUsage, previousEtag: string | undefined, newEtag: string | undefined): void {
  const xui = uri.xui === undefined ? undefined : (aorOf(uri.xui) ?? uri.xui);
  const entry: { sel: string; previousEtag?: string; newEtag?: string } = {
    sel: formatDocumentSelector(xui === undefined ? uri : { ...uri, xui }),
  };
  if (previousEtag !== undefined) entry.previousEtag = previousEtag;
  if (newEtag !== undefined) entry.newEtag = newEtag;
  ctx.documentChanges.push(entry);
  if (uri.tree !== 'users') return;
  if (PRES_RULES_AUIDS.includes(usage.auid)) {
    reauthorizeResource(ctx);
    scheduleRulesTimer(ctx);
  }
  if (usage.auid === 'pidf-manipulation') {
    const presence = ctx.deps.packages.state('presence');
    if (presence) {
      const state = recompose(ctx, presence);
      if (state) stateChanged(ctx, presence, state);
    }
  }
}

/** Documents the server generates: xcap-caps (global) and the OMA xcap-directory of a user. */
function generatedDocument(ctx: EventContext, usage: AppUsage, uri: XcapUri, deps: XcapServiceDeps): XcapDocumentRecord | undefined {
  if (usage.auid === 'xcap-caps') {
    const doc = renderXcapCaps(deps.registry);
    return { etag: contentTag(serializeXml(doc)), doc, updatedAt: 0 };
  }
  if (usage.auid === RLS_SERVICES_AUID && uri.tree === 'global' && uri.document === 'index') {
    // RFC 4826: the global index is the union of every user's services (read-only, composed by the server).
    const services: XmlElement[] = [];
    for (const e of ctx.kv.prefix('xcap', [RLS_SERVICES_AUID, 'users'])) {
      for (const c of (e.value as XcapDocumentRecord).doc.children) if (c.kind === 'element') services.push(c);
    }
    const doc: XmlElement = { kind: 'element', ns: RLS_SERVICES_NS, local: 'rls-services', prefix: '', attrs: [], children: services };
    return { etag: contentTag(serializeXml(doc)), doc, updatedAt: ctx.now };
  }
  if (usage.auid === 'org.openmobilealliance.xcap-directory' && uri.xui !== undefined) {
    const xui = aorOf(uri.xui) ?? uri.xui;
    const entries: XcapDirectoryEntry[] = [];
    for (const u of deps.registry.all()) {
      if (u.readOnly === true || u.globalOnly === true) continue;
      for (const e of ctx.kv.prefix('xcap', [u.auid, 'users', xui])) {
        const rec = e.value as XcapDocumentRecord;
        const docName = e.key[3] as string;
        entries.push({
          uri: `${deps.root}/${formatDocumentSelector({ auid: u.auid, tree: 'users', xui, document: docName })}`,
          etag: rec.etag,
          lastModified: rec.updatedAt,
          auid: u.auid,
        });
      }
    }
    const doc = renderXcapDirectory(entries, deps.registry.all().filter((u) => u.readOnly !== true && u.globalOnly !== true).map((u) => u.auid));
    return { etag: contentTag(serializeXml(doc)), doc, updatedAt: ctx.now };
  }
  return undefined;
}

/** A strong tag of generated content: the same content always gets the same tag. */
function contentTag(text: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c, 0x5bd1e995) >>> 0;
  }
  return `g${h1.toString(36)}${h2.toString(36)}`;
}

function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}
