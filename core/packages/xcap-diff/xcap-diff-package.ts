/**
 * The `xcap-diff` event package (RFC 5875) with XCAP diff documents
 * (RFC 5874): the owner learns which of their XCAP documents changed and
 * their old and new entity tags. presenced reports document-level changes
 * (no patch operations); the watched set is all of the owner's documents.
 */
import type { XcapDocumentRecord } from '../../store/records.js';
import type { DocumentEntry, DocumentsPackage } from '../event-package.js';
import { escapeAttr } from '../../xml/xml-serializer.js';
import { formatDocumentSelector } from '../../xcap/xcap-uri.js';

export const XCAP_DIFF_NS = 'urn:ietf:params:xml:ns:xcap-diff';
export const XCAP_DIFF_CONTENT_TYPE = 'application/xcap-diff+xml';

/** Application usages whose per-user documents are reported. */
export const USER_AUIDS: readonly string[] = [
  'pres-rules',
  'org.openmobilealliance.pres-rules',
  'resource-lists',
  'rls-services',
  'pidf-manipulation',
];

/** `sel` of a user document (RFC 5874 §4: relative to the XCAP root, encoded like the XCAP URI). */
export function documentSel(auid: string, xui: string, document: string): string {
  return formatDocumentSelector({ auid, tree: 'users', xui, document });
}

export function renderXcapDiff(xcapRoot: string, entries: readonly DocumentEntry[]): string {
  const parts = ['<?xml version="1.0" encoding="UTF-8"?>', `<xcap-diff xmlns="${XCAP_DIFF_NS}" xcap-root="${escapeAttr(xcapRoot)}">`];
  for (const e of entries) {
    let attrs = ` sel="${escapeAttr(e.sel)}"`;
    if (e.previousEtag !== undefined) attrs += ` previous-etag="${escapeAttr(e.previousEtag)}"`;
    if (e.newEtag !== undefined) attrs += ` new-etag="${escapeAttr(e.newEtag)}"`;
    parts.push(`<document${attrs}/>`);
  }
  parts.push('</xcap-diff>');
  return parts.join('');
}

export function xcapDiffPackage(xcapRoot: string): DocumentsPackage {
  return {
    kind: 'documents',
    name: 'xcap-diff',
    notifyContentType: XCAP_DIFF_CONTENT_TYPE,
    subscribeExpires: { default: 3600, min: 60, max: 86_400 },
    documents(store, resource) {
      const out: DocumentEntry[] = [];
      for (const auid of USER_AUIDS) {
        for (const e of store.prefix('xcap', [auid, 'users', resource])) {
          const doc = e.key[3] as string;
          out.push({ sel: documentSel(auid, resource, doc), newEtag: (e.value as XcapDocumentRecord).etag });
        }
      }
      return out;
    },
    render(entries) {
      return renderXcapDiff(xcapRoot, entries);
    },
  };
}
