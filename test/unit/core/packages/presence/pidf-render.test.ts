import { describe, it, expect } from 'vitest';
import { elementEquals } from '../../../../../core/xml/xml-query.js';
import { parsePidf, type PidfDocument } from '../../../../../core/packages/presence/pidf-document.js';
import { composePidf } from '../../../../../core/packages/presence/pidf-compose.js';
import { neutralPidf, renderPidf } from '../../../../../core/packages/presence/pidf-render.js';
import {
  BLF_MINIMAL,
  BRIA_PUBLISH,
  LINPHONE_PUBLISH,
  RFC3863_EXAMPLE,
  RFC4479_EXAMPLE,
  RFC4480_EXAMPLE,
} from './pidf-examples.js';

function parsed(text: string): PidfDocument {
  const r = parsePidf(text);
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.detail ?? ''}`);
  return r.value;
}

/** Model equality modulo prefixes. */
function sameModel(a: PidfDocument, b: PidfDocument): boolean {
  const items = (x: PidfDocument['tuples'], y: PidfDocument['tuples']): boolean =>
    x.length === y.length && x.every((t, i) => t.id === y[i]!.id && elementEquals(t.element, y[i]!.element));
  const els = (x: PidfDocument['notes'], y: PidfDocument['notes']): boolean =>
    x.length === y.length && x.every((e, i) => elementEquals(e, y[i]!));
  return (
    a.entity === b.entity &&
    items(a.tuples, b.tuples) &&
    items(a.persons, b.persons) &&
    items(a.devices, b.devices) &&
    els(a.notes, b.notes) &&
    els(a.extensions, b.extensions)
  );
}

describe('renderPidf', () => {
  it('renders the Bria publish with PIDF as default namespace and dm/rpid prefixes', () => {
    expect(renderPidf(parsed(BRIA_PUBLISH))).toBe(
      '<?xml version="1.0" encoding="UTF-8"?>' +
        '<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" ' +
        'xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="sip:1001@pbx.example.com">' +
        '<tuple id="t4b2e8c1a"><status><basic>open</basic></status></tuple>' +
        '<dm:person id="p2f9a0c1"><rpid:activities><rpid:on-the-phone/></rpid:activities><dm:note>On the phone</dm:note></dm:person>' +
        '</presence>',
    );
  });

  it('turns a prefixed PIDF (RFC 3863 §5) into the default namespace, keeping source prefixes of others', () => {
    const out = renderPidf(parsed(RFC3863_EXAMPLE));
    expect(out).toContain('<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:im="urn:ietf:params:xml:ns:pidf:im" xmlns:myex="http://id.example.com/presence/" entity="pres:someone@example.com">');
    expect(out).toContain('<tuple id="bs35r9"><status><basic>open</basic><im:im>busy</im:im><myex:location>home</myex:location></status>');
    expect(out).toContain('<note xml:lang="fr">Ne dérangez pas, s\'il vous plait</note>');
    expect(out).not.toMatch(/>\s+</);
  });

  it('uses the preferred prefixes dm, rpid and c even when the source used others', () => {
    const out = renderPidf(
      parsed(
        '<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:x="urn:ietf:params:xml:ns:pidf:data-model" ' +
          'xmlns:y="urn:ietf:params:xml:ns:pidf:rpid" xmlns:z="urn:ietf:params:xml:ns:pidf:cipid" entity="sip:a@example.com">' +
          '<x:person id="p"><y:activities><y:busy/></y:activities><z:display-name>Alice</z:display-name></x:person></presence>',
      ),
    );
    expect(out).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><presence xmlns="urn:ietf:params:xml:ns:pidf" ' +
        'xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" ' +
        'xmlns:c="urn:ietf:params:xml:ns:pidf:cipid" entity="sip:a@example.com">' +
        '<dm:person id="p"><rpid:activities><rpid:busy/></rpid:activities><c:display-name>Alice</c:display-name></dm:person></presence>',
    );
  });

  it('does not let a foreign namespace steal a preferred prefix', () => {
    const out = renderPidf(
      parsed(
        '<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:evil" xmlns:d="urn:ietf:params:xml:ns:pidf:data-model" entity="sip:a@example.com">' +
          '<d:person id="p"><dm:x/></d:person></presence>',
      ),
    );
    expect(out).toContain('xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model"');
    expect(out).toContain('xmlns:ns1="urn:evil"');
    expect(out).toContain('<dm:person id="p"><ns1:x/></dm:person>');
  });

  it('follows the schema order: tuples, notes, then persons, devices and extensions', () => {
    const out = renderPidf(
      parsed(
        '<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" entity="sip:a@example.com">' +
          '<v:ext xmlns:v="urn:v"/><dm:device id="d"><dm:deviceID>urn:x</dm:deviceID></dm:device><dm:person id="p"/>' +
          '<note>n</note><tuple id="t"><status><basic>open</basic></status></tuple></presence>',
      ),
    );
    const order = ['<tuple id="t">', '<note>n</note>', '<dm:person id="p"/>', '<dm:device id="d">', '<v:ext/>'].map((s) => out.indexOf(s));
    expect(order.every((i) => i > 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it('escapes the entity URI', () => {
    const out = renderPidf(neutralPidf('sip:a@example.com;x="1"&y<'));
    expect(out).toContain('entity="sip:a@example.com;x=&quot;1&quot;&amp;y&lt;"');
    expect(parsed(out).entity).toBe('sip:a@example.com;x="1"&y<');
  });

  const examples: Record<string, string> = {
    'RFC 3863': RFC3863_EXAMPLE,
    'RFC 4479': RFC4479_EXAMPLE,
    'RFC 4480': RFC4480_EXAMPLE,
    Bria: BRIA_PUBLISH,
    Linphone: LINPHONE_PUBLISH,
    BLF: BLF_MINIMAL,
  };
  for (const [name, text] of Object.entries(examples)) {
    it(`round-trips the ${name} example: render → parsePidf gives the same model`, () => {
      const d = parsed(text);
      const back = parsed(renderPidf(d));
      expect(sameModel(back, d)).toBe(true);
      // Rendering is a fixed point after one round.
      expect(renderPidf(back)).toBe(renderPidf(d));
    });
  }

  it('renders a composition of several publications as a valid PIDF', () => {
    const composed = composePidf('sip:alice@example.com', [
      { doc: parsed(RFC4480_EXAMPLE), order: 1 },
      { doc: parsed(LINPHONE_PUBLISH), order: 2 },
      { doc: parsed(RFC4479_EXAMPLE), order: 3 },
    ]);
    const back = parsed(renderPidf(composed));
    expect(sameModel(back, composed)).toBe(true);
    expect(back.tuples.map((t) => t.id)).toEqual(['sg89ae', 'qmlxid', 'bs35r9', 'ty4658', 'eg92n8']);
    // p1 comes from the RFC 4479 publication (newest), not from RFC 4480.
    expect(back.persons.map((p) => p.id)).toEqual(['p1', 'bbjqdr']);
    expect(back.persons[0]!.element.children.length).toBe(1);
  });
});

describe('neutralPidf', () => {
  it('reveals nothing but the entity', () => {
    const n = neutralPidf('sip:alice@example.com');
    expect(n).toEqual({ entity: 'sip:alice@example.com', tuples: [], persons: [], devices: [], notes: [], extensions: [] });
    expect(renderPidf(n)).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"/>',
    );
    expect(parsePidf(renderPidf(n)).ok).toBe(true);
  });
});
