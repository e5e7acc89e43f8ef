/**
 * Watcher information documents (RFC 3858 §4): `application/watcherinfo+xml`.
 */
import type { WatcherEntry } from '../event-package.js';
import { escapeAttr, escapeText } from '../../xml/xml-serializer.js';

export const WATCHERINFO_NS = 'urn:ietf:params:xml:ns:watcherinfo';
export const WATCHERINFO_CONTENT_TYPE = 'application/watcherinfo+xml';

/**
 * Render a watcherinfo document with one watcher-list (RFC 3858 §4.2/§4.3).
 * `full` selects state="full" (every current watcher) versus "partial"
 * (only the watchers that changed).
 */
export function renderWatcherInfo(resource: string, pkg: string, watchers: readonly WatcherEntry[], version: number, full: boolean): string {
  const parts: string[] = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<watcherinfo xmlns="${WATCHERINFO_NS}" version="${version}" state="${full ? 'full' : 'partial'}">`,
    `<watcher-list resource="${escapeAttr(resource)}" package="${escapeAttr(pkg)}">`,
  ];
  for (const w of watchers) {
    let attrs = ` id="${escapeAttr(w.id)}" status="${w.status}" event="${w.event}" duration-subscribed="${w.durationSubscribed}"`;
    if (w.expiration !== undefined) attrs += ` expiration="${w.expiration}"`;
    if (w.displayName !== undefined) attrs += ` display-name="${escapeAttr(w.displayName)}"`;
    parts.push(`<watcher${attrs}>${escapeText(w.uri)}</watcher>`);
  }
  parts.push('</watcher-list></watcherinfo>');
  return parts.join('');
}
