/**
 * Watcher information documents (RFC 3858): rendered by
 * core/packages/winfo/watcherinfo-document.ts, checked by parsing them back
 * with the project's own XML parser.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { WatcherEntry } from '../../../../../core/packages/event-package.js';
import { renderWatcherInfo, WATCHERINFO_CONTENT_TYPE, WATCHERINFO_NS } from '../../../../../core/packages/winfo/watcherinfo-document.js';
import type { XmlElement } from '../../../../../core/xml/xml-node.js';
import { parseXml } from '../../../../../core/xml/xml-parser.js';
import { attr, childElements, textContent } from '../../../../../core/xml/xml-query.js';

const ALICE = 'sip:alice@example.com';

const BOB: WatcherEntry = {
  id: 'n1.Qm9iU3Vic2NyaXB0aW9u',
  uri: 'sip:bob@example.com',
  displayName: 'Bob Jones',
  status: 'active',
  event: 'subscribe',
  durationSubscribed: 120,
  expiration: 3480,
};
const CAROL: WatcherEntry = {
  id: 'n1.Q2Fyb2xTdWJzY3JpcHQ',
  uri: 'sip:carol@example.org',
  status: 'terminated',
  event: 'timeout',
  durationSubscribed: 3600,
};

function parse(text: string): XmlElement {
  const r = parseXml(text);
  if (!r.ok) throw new Error(`not well-formed: ${r.error.detail ?? r.error.code}\n${text}`);
  return r.value;
}

function list(root: XmlElement): XmlElement {
  const lists = childElements(root, WATCHERINFO_NS, 'watcher-list');
  expect(lists).toHaveLength(1);
  return lists[0] as XmlElement;
}

describe('renderWatcherInfo', () => {
  it('renders a full document: namespace, version, state and one watcher-list', () => {
    const text = renderWatcherInfo(ALICE, 'presence', [BOB, CAROL], 0, true);
    expect(text.startsWith('<?xml version="1.0" encoding="UTF-8"?>')).toBe(true);
    const root = parse(text);
    expect(root.ns).toBe(WATCHERINFO_NS);
    expect(root.local).toBe('watcherinfo');
    expect(attr(root, 'version')).toBe('0');
    expect(attr(root, 'state')).toBe('full');
    const wl = list(root);
    expect(attr(wl, 'resource')).toBe(ALICE);
    expect(attr(wl, 'package')).toBe('presence');
    expect(childElements(wl, WATCHERINFO_NS, 'watcher')).toHaveLength(2);
  });

  it('renders a partial document', () => {
    const root = parse(renderWatcherInfo(ALICE, 'presence', [CAROL], 7, false));
    expect(attr(root, 'version')).toBe('7');
    expect(attr(root, 'state')).toBe('partial');
  });

  it('renders every watcher attribute (RFC 3858 §4.4) and the URI as content', () => {
    const wl = list(parse(renderWatcherInfo(ALICE, 'presence', [BOB, CAROL], 3, true)));
    const [bob, carol] = childElements(wl, WATCHERINFO_NS, 'watcher') as [XmlElement, XmlElement];
    expect(attr(bob, 'id')).toBe(BOB.id);
    expect(attr(bob, 'status')).toBe('active');
    expect(attr(bob, 'event')).toBe('subscribe');
    expect(attr(bob, 'duration-subscribed')).toBe('120');
    expect(attr(bob, 'expiration')).toBe('3480');
    expect(attr(bob, 'display-name')).toBe('Bob Jones');
    expect(textContent(bob)).toBe('sip:bob@example.com');
    // Terminated watchers have no expiration; no display name when unknown.
    expect(attr(carol, 'status')).toBe('terminated');
    expect(attr(carol, 'event')).toBe('timeout');
    expect(attr(carol, 'expiration')).toBeUndefined();
    expect(attr(carol, 'display-name')).toBeUndefined();
    expect(textContent(carol)).toBe('sip:carol@example.org');
  });

  it('keeps an expiration of 0 (a watcher expiring this very second)', () => {
    const wl = list(parse(renderWatcherInfo(ALICE, 'presence', [{ ...BOB, expiration: 0 }], 5, false)));
    expect(attr(childElements(wl)[0] as XmlElement, 'expiration')).toBe('0');
  });

  it('renders an empty watcher-list (nobody watches)', () => {
    const wl = list(parse(renderWatcherInfo(ALICE, 'presence', [], 0, true)));
    expect(childElements(wl)).toEqual([]);
  });

  it('keeps the order of the watchers', () => {
    const wl = list(parse(renderWatcherInfo(ALICE, 'presence', [CAROL, BOB], 1, true)));
    expect(childElements(wl).map((w) => attr(w, 'id'))).toEqual([CAROL.id, BOB.id]);
  });

  it('escapes hostile URIs, display names, ids and resources', () => {
    const evil: WatcherEntry = {
      ...BOB,
      id: 'id"><x/>&',
      uri: 'sip:mallory@example.com?Subject=</watcher><watcher>&amp;x=<y>]]>',
      displayName: '"Bob" <admin> & \'friends\'\t\nnext line\r',
    };
    const resource = 'sip:alice"&<x>@example.com';
    const root = parse(renderWatcherInfo(resource, 'presence', [evil], 2, true));
    const wl = list(root);
    expect(attr(wl, 'resource')).toBe(resource);
    const watchers = childElements(wl);
    expect(watchers).toHaveLength(1);
    const w = watchers[0] as XmlElement;
    expect(w.children.filter((c) => c.kind === 'element')).toEqual([]);
    expect(attr(w, 'id')).toBe(evil.id);
    expect(textContent(w)).toBe(evil.uri);
    expect(attr(w, 'display-name')).toBe(evil.displayName);
  });

  it('keeps non-ASCII display names', () => {
    const w = { ...BOB, displayName: 'Zoë Ångström 張偉 \u{1f600}' };
    const root = parse(renderWatcherInfo(ALICE, 'presence', [w], 0, true));
    expect(attr(childElements(list(root))[0] as XmlElement, 'display-name')).toBe(w.displayName);
  });

  it('round-trips any printable display name and URI through the XML parser', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 20 }), fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 20 }), fc.nat({ max: 1000 }), (name, user, version) => {
        const w = { ...BOB, uri: `sip:${user}@example.com`, displayName: name };
        const root = parse(renderWatcherInfo(ALICE, 'presence', [w], version, false));
        const el = childElements(list(root))[0] as XmlElement;
        expect(attr(root, 'version')).toBe(String(version));
        expect(attr(el, 'display-name')).toBe(name);
        expect(textContent(el)).toBe(w.uri);
      }),
      { numRuns: 150 },
    );
  });

  // Regression (was a bug found by the unit tests): a SIP quoted-string may carry any control character but CR/LF as a
  // quoted-pair (RFC 3261 §25.1: quoted-pair = "\" (%x00-09 / %x0B-0C /
  // %x0E-7F)), and core/sip/quoted-string.ts accepts and unquotes it, so
  // `From: "Bob\<U+0001>" <sip:bob@example.com>;tag=1` gives the display name
  // "Bob\u0001". renderWatcherInfo copies it into display-name, and U+0001 is
  // not an XML 1.0 Char (§2.2): the owner's watcherinfo NOTIFY is not
  // well-formed XML, so one watcher can break Alice's watcher list.
  it('stays well-formed for a display name with a control character from a quoted-pair', () => {
    const w = { ...BOB, displayName: 'Bob\u0001' };
    const r = parseXml(renderWatcherInfo(ALICE, 'presence', [w], 0, true));
    expect(r.ok).toBe(true);
  });

  // BUG (same path): U+FFFE and U+FFFF are valid UTF-8 and accepted by the
  // name-addr parser in quoted and unquoted display names
  // (`From: Bob\uFFFE <sip:bob@example.com>;tag=1`), but they are not XML 1.0
  // Chars either, so the rendered document does not parse.
  it('stays well-formed for a display name with the noncharacter U+FFFE', () => {
    const w = { ...BOB, displayName: 'Bob\uFFFE' };
    const r = parseXml(renderWatcherInfo(ALICE, 'presence', [w], 0, true));
    expect(r.ok).toBe(true);
  });

  it('names its content type', () => {
    expect(WATCHERINFO_CONTENT_TYPE).toBe('application/watcherinfo+xml');
  });
});
