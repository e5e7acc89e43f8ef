/**
 * The presence event package plug-in (core/packages/presence/presence-package.ts):
 * its declared types and policies, and that parse/aggregate/neutral/render
 * are wired to the PIDF modules (whose own tests cover PIDF in depth).
 */
import { describe, expect, it } from 'vitest';
import { FULL_VIEW } from '../../../../../core/authz/authorizer.js';
import { DEFAULT_XML_LIMITS } from '../../../../../core/xml/xml-parser.js';
import { PIDF_CONTENT_TYPE, presencePackage } from '../../../../../core/packages/presence/presence-package.js';
import { parsePidf, PIDF_NS, type PidfDocument } from '../../../../../core/packages/presence/pidf-document.js';
import { attr, childElements } from '../../../../../core/xml/xml-query.js';
import { parseXml } from '../../../../../core/xml/xml-parser.js';
import { pidf } from '../../../../support/sip-requests.js';

const ALICE = 'sip:alice@example.com';
const pkg = presencePackage();

function doc(text: string): PidfDocument {
  const r = pkg.parse(text, PIDF_CONTENT_TYPE, DEFAULT_XML_LIMITS);
  if (!r.ok) throw new Error(r.error.code);
  return r.value;
}

describe('presencePackage', () => {
  it('declares the presence package with PIDF bodies', () => {
    expect(pkg.kind).toBe('state');
    expect(pkg.name).toBe('presence');
    expect(pkg.notifyContentType).toBe('application/pidf+xml');
    expect(pkg.publishContentTypes).toEqual(['application/pidf+xml']);
  });

  it('has default expiry policies, replaceable per instance', () => {
    expect(pkg.subscribeExpires).toEqual({ default: 3600, min: 60, max: 7200 });
    expect(pkg.publishExpires).toEqual({ default: 3600, min: 60, max: 7200 });
    const custom = presencePackage({ subscribeExpires: { default: 600, min: 30, max: 900 }, publishExpires: { default: 120, min: 60, max: 600 } });
    expect(custom.subscribeExpires).toEqual({ default: 600, min: 30, max: 900 });
    expect(custom.publishExpires).toEqual({ default: 120, min: 60, max: 600 });
  });

  it('parses a PIDF body into the same document parsePidf gives', () => {
    const text = pidf(ALICE, 'open', 'In a meeting');
    const expected = parsePidf(text);
    expect(pkg.parse(text, PIDF_CONTENT_TYPE, DEFAULT_XML_LIMITS)).toEqual(expected);
    expect(doc(text).tuples.map((t) => t.id)).toEqual(['t1']);
  });

  it('refuses an empty or blank body as missing', () => {
    for (const body of ['', '   ', '\r\n\t']) {
      const r = pkg.parse(body, PIDF_CONTENT_TYPE, DEFAULT_XML_LIMITS);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.code).toBe('missing-body');
    }
  });

  it('refuses malformed XML and non-PIDF documents with the PIDF codes', () => {
    const broken = pkg.parse('<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@example.com"><tuple>', PIDF_CONTENT_TYPE, DEFAULT_XML_LIMITS);
    expect(broken.ok ? undefined : broken.error.code).toBe('malformed-body');
    const other = pkg.parse('<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info"/>', PIDF_CONTENT_TYPE, DEFAULT_XML_LIMITS);
    expect(other.ok ? undefined : other.error.code).toBe('invalid-document');
  });

  it('applies the XML limits it is given', () => {
    const r = pkg.parse(pidf(ALICE, 'open', 'x'.repeat(2000)), PIDF_CONTENT_TYPE, { ...DEFAULT_XML_LIMITS, maxBytes: 1024 });
    expect(r.ok ? undefined : r.error.code).toBe('body-too-large');
  });

  it('aggregates publications: the newer one wins for the same tuple id', () => {
    const older = doc(pidf(ALICE, 'closed', undefined, 'mobile'));
    const newer = doc(pidf(ALICE, 'open', undefined, 'mobile'));
    const desk = doc(pidf(ALICE, 'closed', undefined, 'desk'));
    const composed = pkg.aggregate(ALICE, [
      { doc: newer, order: 5 },
      { doc: desk, order: 3 },
      { doc: older, order: 2 },
    ]);
    expect(composed.entity).toBe(ALICE);
    expect(composed.tuples.map((t) => t.id).sort()).toEqual(['desk', 'mobile']);
    const body = pkg.render(composed, { handling: 'allow', view: FULL_VIEW });
    expect(body).toMatch(/<tuple id="mobile"><status><basic>open<\/basic>/);
  });

  it('has a neutral document that reveals nothing but the entity', () => {
    const neutral = pkg.neutral(ALICE);
    expect(neutral).toEqual({ entity: ALICE, tuples: [], persons: [], devices: [], notes: [], extensions: [] });
    const r = parseXml(pkg.render(neutral, { handling: 'allow', view: FULL_VIEW }));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.ns).toBe(PIDF_NS);
    expect(r.value.local).toBe('presence');
    expect(attr(r.value, 'entity')).toBe(ALICE);
    expect(childElements(r.value)).toEqual([]);
  });

  it('renders a PIDF document that parses back to the same document', () => {
    const d = doc(pidf(ALICE, 'open', 'Working from home'));
    const text = pkg.render(d, { handling: 'allow', view: FULL_VIEW });
    expect(text.startsWith('<?xml version="1.0" encoding="UTF-8"?>')).toBe(true);
    const again = doc(text);
    expect(pkg.render(again, { handling: 'allow', view: FULL_VIEW })).toBe(text);
    expect(again.tuples.map((t) => t.id)).toEqual(['t1']);
    expect(again.persons.map((p) => p.id)).toEqual(['p1']);
  });
});
