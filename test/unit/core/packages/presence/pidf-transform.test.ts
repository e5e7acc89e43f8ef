/**
 * RFC 5025 §3.3 transformations of PIDF documents, on the RFC 3863/4479/4480
 * examples and the RFC 5025 §6 example rule: which components survive and
 * which of their attributes (default deny).
 */
import { describe, expect, it } from 'vitest';
import { parsePidf, type PidfDocument } from '../../../../../core/packages/presence/pidf-document.js';
import { renderPidf } from '../../../../../core/packages/presence/pidf-render.js';
import { transformPidf, selectsService } from '../../../../../core/packages/presence/pidf-transform.js';
import {
  FULL_PERMISSIONS,
  NO_PERMISSIONS,
  normalizePermissions,
  type PresencePermissions,
} from '../../../../../core/authz/pres-rules/presence-permissions.js';
import { RFC3863_EXAMPLE, RFC4479_EXAMPLE, RFC4480_EXAMPLE, LINPHONE_PUBLISH } from './pidf-examples.js';

function doc(text: string): PidfDocument {
  const r = parsePidf(text);
  if (!r.ok) throw new Error(r.error.detail ?? r.error.code);
  return r.value;
}

const perms = (p: Partial<PresencePermissions>): PresencePermissions => normalizePermissions({ ...NO_PERMISSIONS, ...p });
const ALL_SERVICES = FULL_PERMISSIONS.services;
const ALL_PERSONS = FULL_PERMISSIONS.persons;
const ALL_DEVICES = FULL_PERMISSIONS.devices;
const services = (o: Partial<PresencePermissions['services']>): PresencePermissions['services'] => ({ ...NO_PERMISSIONS.services, ...o });
const persons = (o: Partial<PresencePermissions['persons']>): PresencePermissions['persons'] => ({ ...NO_PERMISSIONS.persons, ...o });
const devices = (o: Partial<PresencePermissions['devices']>): PresencePermissions['devices'] => ({ ...NO_PERMISSIONS.devices, ...o });

/** The body as a watcher would receive it, without the XML declaration. */
const body = (d: PidfDocument): string => renderPidf(d).replace(/^<\?xml[^>]*\?>/, '');

describe('transformPidf: components (RFC 5025 §3.3.1)', () => {
  it('nothing granted: only the presence element with its entity', () => {
    expect(body(transformPidf(doc(RFC4480_EXAMPLE), NO_PERMISSIONS))).toBe('<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="pres:someone@example.com"/>');
  });

  it('full permissions return the very same document', () => {
    const d = doc(RFC4480_EXAMPLE);
    expect(transformPidf(d, FULL_PERMISSIONS)).toBe(d);
  });

  it('all-services keeps every tuple with its status, contact and timestamp, and no attribute', () => {
    const out = transformPidf(doc(RFC3863_EXAMPLE), perms({ services: ALL_SERVICES }));
    expect(body(out)).toBe(
      '<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="pres:someone@example.com">' +
        '<tuple id="bs35r9"><status><basic>open</basic></status><contact priority="0.8">im:someone@mobilecarrier.net</contact><timestamp>2001-10-27T16:49:29Z</timestamp></tuple>' +
        '<tuple id="eg92n8"><status><basic>open</basic></status><contact priority="1.0">mailto:someone@example.com</contact></tuple>' +
        '</presence>',
    );
  });

  it('service-uri-scheme selects by the scheme of <contact> (RFC 5025 §6 example rule)', () => {
    const d = doc(RFC4480_EXAMPLE);
    const out = transformPidf(d, perms({ services: services({ serviceUriSchemes: ['sip', 'mailto'] }) }));
    expect(out.tuples.map((t) => t.id)).toEqual(['ty4658', 'eg92n8']);
    expect(transformPidf(d, perms({ services: services({ serviceUriSchemes: ['im'] }) })).tuples.map((t) => t.id)).toEqual(['bs35r9']);
    expect(transformPidf(d, perms({ services: services({ serviceUriSchemes: ['IM'] }) })).tuples.map((t) => t.id)).toEqual(['bs35r9']); // normalised
  });

  it('service-uri selects by the exact <contact> URI, occurrence-id by id, class by RPID class', () => {
    const d = doc(RFC4480_EXAMPLE);
    expect(selectsService(services({ serviceUris: ['mailto:secretary@example.com'] }), d.tuples[1]!)).toBe(true);
    expect(transformPidf(d, perms({ services: services({ serviceUris: ['mailto:secretary@example.com'] }) })).tuples.map((t) => t.id)).toEqual(['ty4658']);
    expect(transformPidf(d, perms({ services: services({ occurrenceIds: ['bs35r9'] }) })).tuples.map((t) => t.id)).toEqual(['bs35r9']);
    expect(transformPidf(d, perms({ services: services({ classes: ['email'] }) })).tuples.map((t) => t.id)).toEqual(['eg92n8']);
    expect(transformPidf(d, perms({ services: services({ classes: ['calendar'] }) })).tuples).toEqual([]);
  });

  it('a tuple without <contact> is only selected by all-services, occurrence-id or class', () => {
    const d = doc(`<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@example.com"><tuple id="t"><status><basic>open</basic></status></tuple></presence>`);
    expect(transformPidf(d, perms({ services: services({ serviceUriSchemes: ['sip'] }) })).tuples).toEqual([]);
    expect(transformPidf(d, perms({ services: services({ occurrenceIds: ['t'] }) })).tuples).toHaveLength(1);
  });

  it('persons by all-persons, occurrence-id or class; devices by all-devices, deviceID, occurrence-id or class', () => {
    const d = doc(RFC4480_EXAMPLE);
    expect(transformPidf(d, perms({ persons: ALL_PERSONS })).persons.map((p) => p.id)).toEqual(['p1']);
    expect(transformPidf(d, perms({ persons: persons({ occurrenceIds: ['p1'] }) })).persons.map((p) => p.id)).toEqual(['p1']);
    expect(transformPidf(d, perms({ persons: persons({ classes: ['calendar'] }) })).persons.map((p) => p.id)).toEqual(['p1']);
    expect(transformPidf(d, perms({ persons: persons({ classes: ['email'], occurrenceIds: ['p2'] }) })).persons).toEqual([]);
    expect(transformPidf(d, perms({ devices: ALL_DEVICES })).devices.map((x) => x.id)).toEqual(['pc147']);
    expect(transformPidf(d, perms({ devices: devices({ deviceIds: ['urn:device:0003ba4811e3'] }) })).devices.map((x) => x.id)).toEqual(['pc147']);
    expect(transformPidf(d, perms({ devices: devices({ deviceIds: ['urn:device:other'] }) })).devices).toEqual([]);
    expect(transformPidf(d, perms({ devices: devices({ occurrenceIds: ['pc147'] }) })).devices.map((x) => x.id)).toEqual(['pc147']);
    // the persons grant says nothing about devices and vice versa
    expect(transformPidf(d, perms({ persons: ALL_PERSONS })).devices).toEqual([]);
    expect(transformPidf(d, perms({ devices: ALL_DEVICES })).persons).toEqual([]);
  });
});

describe('transformPidf: attributes (RFC 5025 §3.3.2)', () => {
  const d = doc(RFC4480_EXAMPLE);
  const person = (p: Partial<PresencePermissions>): string => body({ ...transformPidf(d, perms({ persons: ALL_PERSONS, ...p })), tuples: [], devices: [] });

  it('a selected person without attribute permissions keeps only its id and timestamp', () => {
    expect(person({})).toBe(
      '<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" entity="pres:someone@example.com">' +
        '<dm:person id="p1"><dm:timestamp>2005-05-30T16:09:44+05:00</dm:timestamp></dm:person></presence>',
    );
  });

  it('each provide-* grants its own attribute, whole', () => {
    const out = person({ attributes: ['activities', 'mood'] });
    expect(out).toContain('<rpid:activities from="2005-05-30T12:00:00+05:00" until="2005-05-30T17:00:00+05:00"><rpid:note>Far away</rpid:note><rpid:away/></rpid:activities>');
    expect(out).toContain('<rpid:mood><rpid:angry/><rpid:other>brooding</rpid:other></rpid:mood>');
    for (const hidden of ['place-is', 'place-type', 'privacy', 'sphere', 'status-icon', 'time-offset', 'rpid:class', 'dm:note']) expect(out).not.toContain(hidden);
    const rest = person({ attributes: ['class', 'place-is', 'place-type', 'privacy', 'sphere', 'status-icon', 'time-offset', 'note'] });
    for (const shown of ['<rpid:class>calendar</rpid:class>', '<rpid:place-is>', '<rpid:place-type><lt:residence/></rpid:place-type>', '<rpid:privacy>', '<rpid:sphere>bowling league</rpid:sphere>', '<rpid:status-icon>', '<rpid:time-offset>-240</rpid:time-offset>', '<dm:note>Scoring 120</dm:note>']) {
      expect(rest).toContain(shown);
    }
    expect(rest).not.toContain('activities');
    expect(rest).not.toContain('mood');
  });

  it('tuple attributes: deviceID, class, relationship, status-icon, notes; unknown ones only by name', () => {
    const t = (p: Partial<PresencePermissions>): string => body({ ...transformPidf(d, perms({ services: ALL_SERVICES, ...p })), notes: [], persons: [], devices: [] });
    const none = t({});
    for (const hidden of ['deviceID', 'relationship', 'service-class', 'rpid:class', 'status-icon', 'note']) expect(none).not.toContain(hidden);
    expect(none).toContain('<contact priority="0.8">im:someone@mobilecarrier.net</contact>');
    expect(none).toContain('<timestamp>2005-10-27T16:49:29Z</timestamp>');
    const some = t({ attributes: ['deviceID', 'relationship', 'note'] });
    expect(some).toContain('<dm:deviceID>urn:device:0003ba4811e3</dm:deviceID>');
    expect(some).toContain('<rpid:relationship><rpid:self/></rpid:relationship>');
    expect(some).toContain('<note xml:lang="fr">Ne derangez pas, s\'il vous plait</note>');
    expect(some).not.toContain('service-class');
    const unknown = t({ unknownAttributes: [{ ns: 'urn:ietf:params:xml:ns:pidf:rpid', name: 'service-class' }] });
    expect(unknown).toContain('<rpid:service-class><rpid:electronic/></rpid:service-class>');
    expect(unknown).not.toContain('relationship');
  });

  it('provide-user-input: false drops it, bare keeps the value, thresholds adds idle-threshold, full keeps everything', () => {
    const dev = (level: PresencePermissions['userInput']): string => body({ ...transformPidf(d, perms({ devices: ALL_DEVICES, userInput: level })), tuples: [], persons: [], notes: [] });
    expect(dev('false')).not.toContain('user-input');
    expect(dev('bare')).toContain('<rpid:user-input>idle</rpid:user-input>');
    expect(dev('thresholds')).toContain('<rpid:user-input idle-threshold="600">idle</rpid:user-input>');
    expect(dev('full')).toContain('<rpid:user-input idle-threshold="600" last-input="2004-10-21T13:20:00.000-05:00">idle</rpid:user-input>');
  });

  it('status extensions are attributes: RFC 3863 im:im and a private element need provide-unknown-attribute', () => {
    const d3863 = doc(RFC3863_EXAMPLE);
    const plain = body(transformPidf(d3863, perms({ services: ALL_SERVICES })));
    expect(plain).not.toContain('busy');
    expect(plain).not.toContain('location');
    const im = body(transformPidf(d3863, perms({ services: ALL_SERVICES, unknownAttributes: [{ ns: 'urn:ietf:params:xml:ns:pidf:im', name: 'im' }] })));
    expect(im).toContain('<status><basic>open</basic><im:im>busy</im:im></status>');
    expect(im).not.toContain('location');
  });

  it('RFC 4479 caps:servcaps is an unknown attribute', () => {
    const d4479 = doc(RFC4479_EXAMPLE);
    expect(body(transformPidf(d4479, perms({ services: ALL_SERVICES })))).not.toContain('servcaps');
    expect(body(transformPidf(d4479, perms({ services: ALL_SERVICES, unknownAttributes: [{ ns: 'urn:ietf:params:xml:ns:pidf:caps', name: 'servcaps' }] })))).toContain(
      '<caps:servcaps><caps:audio>true</caps:audio><caps:video>false</caps:video></caps:servcaps>',
    );
  });

  it('presence-level notes need provide-note, presence-level extensions provide-all-attributes', () => {
    const withExt = doc(
      `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:v="urn:vendor" entity="sip:a@example.com"><note>Tokyo</note><v:geo>48.1,11.5</v:geo></presence>`,
    );
    expect(transformPidf(withExt, NO_PERMISSIONS).notes).toEqual([]);
    expect(transformPidf(withExt, perms({ attributes: ['note'] })).notes).toHaveLength(1);
    expect(transformPidf(withExt, perms({ attributes: ['note'], unknownAttributes: [{ ns: 'urn:vendor', name: 'geo' }] })).extensions).toEqual([]);
    expect(transformPidf(withExt, perms({ allAttributes: true })).extensions).toHaveLength(1);
  });

  it('provide-all-attributes keeps the selected components verbatim, but still only those selected', () => {
    const out = transformPidf(d, perms({ allAttributes: true, services: services({ occurrenceIds: ['eg92n8'] }) }));
    expect(out.tuples).toEqual([d.tuples[2]]);
    expect(out.persons).toEqual([]);
    expect(out.notes).toEqual(d.notes);
  });

  it('drops foreign attributes and character data of components and of the PIDF core elements', () => {
    const odd = doc(
      `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:v="urn:vendor" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" entity="sip:a@example.com">` +
        `<tuple id="t" v:secret="1"><status v:x="y"><basic v:z="1">open</basic></status><contact priority="0.5" v:where="home">sip:a@198.51.100.7</contact></tuple>` +
        `<dm:person id="p" v:secret="2">leaked text<dm:timestamp v:t="1">2026-01-01T00:00:00Z</dm:timestamp></dm:person></presence>`,
    );
    const out = body(transformPidf(odd, perms({ services: ALL_SERVICES, persons: ALL_PERSONS })));
    expect(out).toBe(
      '<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" entity="sip:a@example.com">' +
        '<tuple id="t"><status><basic>open</basic></status><contact priority="0.5">sip:a@198.51.100.7</contact></tuple>' +
        '<dm:person id="p"><dm:timestamp>2026-01-01T00:00:00Z</dm:timestamp></dm:person></presence>',
    );
  });

  it('does not modify its input', () => {
    const d2 = doc(LINPHONE_PUBLISH);
    const before = JSON.stringify(d2);
    transformPidf(d2, perms({ services: ALL_SERVICES, persons: ALL_PERSONS, userInput: 'bare' }));
    expect(JSON.stringify(d2)).toBe(before);
  });

  it('the transformed document is valid PIDF again', () => {
    for (const example of [RFC3863_EXAMPLE, RFC4479_EXAMPLE, RFC4480_EXAMPLE, LINPHONE_PUBLISH]) {
      for (const p of [NO_PERMISSIONS, perms({ services: ALL_SERVICES }), perms({ services: ALL_SERVICES, persons: ALL_PERSONS, devices: ALL_DEVICES, userInput: 'bare', attributes: ['note', 'activities'] })]) {
        const r = parsePidf(renderPidf(transformPidf(doc(example), p)));
        expect(r.ok).toBe(true);
      }
    }
  });
});
