/**
 * The OMA XCAP directory application usage (OMA XDM Core, "XCAP Directory"):
 * a read-only document, generated per user, listing the user's documents in
 * every application usage with their entity tags.
 *
 * AUID `org.openmobilealliance.xcap-directory`, MIME
 * `application/vnd.oma.xcap-directory+xml`, namespace
 * `urn:oma:xml:xdm:xcap-directory`, users tree only, document
 * `directory.xml`:
 *
 *     <xcap-directory xmlns="urn:oma:xml:xdm:xcap-directory">
 *       <folder auid="resource-lists">
 *         <entry uri="http://xcap.example.com/resource-lists/users/sip:joe@example.com/index"
 *                etag="abc" last-modified="2024-01-01T00:00:00.000Z" size="1234"/>
 *       </folder>
 *     </xcap-directory>
 *
 * A folder holds `<entry uri etag last-modified? size?>` elements or one
 * `<error-code>`.
 */
import type { XmlAttribute, XmlElement } from '../../xml/xml-node.js';
import type { XcapResult } from '../xcap-document.js';
import { VALID, attrOf, checkAttrs, checkNoText, checkSimple, collapse, elements, isDateTime, schemaError, tag, type AppUsage } from './app-usage.js';

export const XCAP_DIRECTORY_NS = 'urn:oma:xml:xdm:xcap-directory';
export const XCAP_DIRECTORY_MIME = 'application/vnd.oma.xcap-directory+xml';
export const XCAP_DIRECTORY_AUID = 'org.openmobilealliance.xcap-directory';

/** One document of the user. */
export interface XcapDirectoryEntry {
  /** Absolute HTTP URI of the document. */
  readonly uri: string;
  /** Its current entity tag. */
  readonly etag: string;
  /** Last modification: epoch milliseconds or an xs:dateTime. */
  readonly lastModified?: number | string;
  /** Size in bytes. */
  readonly size?: number;
  /** The folder (AUID); derived from `uri` (`…/<auid>/users/…`) when absent. */
  readonly auid?: string;
}

/** The AUID of a users-tree document URI (`…/<auid>/users/<xui>/…`), if recognisable. */
function auidOf(uri: string): string | undefined {
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/]*(\/[^?#]*)/.exec(uri);
  const segments = (m?.[1] ?? uri).split('/');
  const i = segments.findIndex((s, k) => k > 0 && s === 'users' && segments[k - 1] !== '');
  if (i < 1) return undefined;
  try {
    return decodeURIComponent(segments[i - 1]!);
  } catch {
    return segments[i - 1];
  }
}

function attr(local: string, value: string): XmlAttribute {
  return { ns: '', local, prefix: '', value };
}

/**
 * Generates the directory document. `auids` lists folders that appear even
 * when empty (every AUID the server supports for users, in that order);
 * entries of other AUIDs get folders after them, in order of appearance.
 * Entries keep their given order inside a folder.
 */
export function renderXcapDirectory(entries: readonly XcapDirectoryEntry[], auids: readonly string[] = []): XmlElement {
  const folders = new Map<string, XmlElement[]>();
  for (const a of auids) if (!folders.has(a)) folders.set(a, []);
  for (const e of entries) {
    const auid = e.auid ?? auidOf(e.uri) ?? '';
    const attrs: XmlAttribute[] = [attr('uri', e.uri), attr('etag', e.etag)];
    if (typeof e.lastModified === 'number' && Number.isFinite(e.lastModified) && Math.abs(e.lastModified) <= 8.64e15) {
      attrs.push(attr('last-modified', new Date(e.lastModified).toISOString()));
    } else if (typeof e.lastModified === 'string' && isDateTime(e.lastModified)) {
      attrs.push(attr('last-modified', e.lastModified));
    }
    if (e.size !== undefined && Number.isSafeInteger(e.size) && e.size >= 0) attrs.push(attr('size', String(e.size)));
    let list = folders.get(auid);
    if (list === undefined) {
      list = [];
      folders.set(auid, list);
    }
    list.push({ kind: 'element', ns: XCAP_DIRECTORY_NS, local: 'entry', prefix: '', attrs, children: [] });
  }
  const children: XmlElement[] = [];
  for (const [auid, list] of folders) {
    children.push({ kind: 'element', ns: XCAP_DIRECTORY_NS, local: 'folder', prefix: '', attrs: [attr('auid', auid)], children: list });
  }
  return { kind: 'element', ns: XCAP_DIRECTORY_NS, local: 'xcap-directory', prefix: '', attrs: [], children };
}

/** Validates a directory document (the OMA schema). */
export function validateXcapDirectory(doc: XmlElement): XcapResult<void> {
  if (doc.ns !== XCAP_DIRECTORY_NS || doc.local !== 'xcap-directory') {
    return schemaError(`the root element must be <xcap-directory> in ${XCAP_DIRECTORY_NS}`);
  }
  const a = checkAttrs(doc, []) ?? checkNoText(doc);
  if (a !== undefined) return schemaError(a);
  for (const folder of elements(doc)) {
    if (folder.ns !== XCAP_DIRECTORY_NS || folder.local !== 'folder') return schemaError(`${tag(folder)} is not allowed in <xcap-directory>`);
    const f = checkAttrs(folder, ['auid'], ['auid']) ?? checkNoText(folder);
    if (f !== undefined) return schemaError(f);
    const items = elements(folder);
    const errorCodes = items.filter((i) => i.ns === XCAP_DIRECTORY_NS && i.local === 'error-code');
    if (errorCodes.length > 0) {
      if (items.length !== 1) return schemaError('a <folder> holds either <entry> elements or one <error-code>');
      const d = checkAttrs(errorCodes[0]!, []) ?? checkSimple(errorCodes[0]!);
      if (d !== undefined) return schemaError(d);
      continue;
    }
    for (const e of items) {
      if (e.ns !== XCAP_DIRECTORY_NS || e.local !== 'entry') return schemaError(`${tag(e)} is not allowed in <folder>`);
      if (elements(e).length > 0 || checkNoText(e) !== undefined) return schemaError('<entry> must be empty');
      for (const r of ['uri', 'etag']) if (attrOf(e, r) === undefined) return schemaError(`<entry> requires the attribute ${JSON.stringify(r)}`);
      const lm = attrOf(e, 'last-modified');
      if (lm !== undefined && !isDateTime(collapse(lm))) return schemaError(`<entry> last-modified ${JSON.stringify(lm)} is not an xs:dateTime`);
      const size = attrOf(e, 'size');
      if (size !== undefined && !/^\+?[0-9]+$/.test(collapse(size))) return schemaError(`<entry> size ${JSON.stringify(size)} is not a non-negative integer`);
    }
  }
  return VALID;
}

export const xcapDirectoryUsage: AppUsage = {
  auid: XCAP_DIRECTORY_AUID,
  mimeType: XCAP_DIRECTORY_MIME,
  defaultNamespace: XCAP_DIRECTORY_NS,
  namespaces: [XCAP_DIRECTORY_NS],
  usersOnly: true,
  readOnly: true,
  documentName: 'directory.xml',
  validate: (doc) => validateXcapDirectory(doc),
};
