/**
 * The permissions value: canonical form, union (RFC 4745 §10.3) and the
 * view key (equal permissions ⇒ equal key, whatever the order; different
 * ⇒ different; 'full' only when everything is granted).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FULL_VIEW } from '../../../../../core/authz/authorizer.js';
import {
  FULL_PERMISSIONS,
  KNOWN_ATTRIBUTES,
  NO_PERMISSIONS,
  USER_INPUT_LEVELS,
  attributeOf,
  isFullPermissions,
  isPresencePermissions,
  mergePermissions,
  normalizePermissions,
  permissionsKey,
  type PresencePermissions,
} from '../../../../../core/authz/pres-rules/presence-permissions.js';
import { DATA_MODEL_NS, PIDF_NS, RPID_NS, CIPID_NS } from '../../../../../core/packages/presence/pidf-document.js';

const small = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T[]> => fc.array(arb, { maxLength: 3 });
const token = fc.constantFrom('a', 'b', 'c', 'sip', 'SIP', 'mailto');
const permissionsArb: fc.Arbitrary<PresencePermissions> = fc.record({
  services: fc.record({ all: fc.boolean(), serviceUris: small(token), serviceUriSchemes: small(token), occurrenceIds: small(token), classes: small(token) }),
  persons: fc.record({ all: fc.boolean(), occurrenceIds: small(token), classes: small(token) }),
  devices: fc.record({ all: fc.boolean(), deviceIds: small(token), occurrenceIds: small(token), classes: small(token) }),
  allAttributes: fc.boolean(),
  attributes: small(fc.constantFrom(...KNOWN_ATTRIBUTES)),
  userInput: fc.constantFrom(...USER_INPUT_LEVELS),
  unknownAttributes: small(fc.record({ ns: fc.constantFrom('urn:x', 'urn:y', RPID_NS), name: fc.constantFrom('foo', 'bar', 'mood') })),
});

function shuffled(p: PresencePermissions, seed: number): PresencePermissions {
  const rev = <T>(xs: readonly T[]): T[] => (seed % 2 === 0 ? [...xs].reverse() : [...xs, ...xs]);
  return {
    services: { ...p.services, serviceUris: rev(p.services.serviceUris), occurrenceIds: rev(p.services.occurrenceIds), classes: rev(p.services.classes), serviceUriSchemes: rev(p.services.serviceUriSchemes) },
    persons: { ...p.persons, occurrenceIds: rev(p.persons.occurrenceIds), classes: rev(p.persons.classes) },
    devices: { ...p.devices, deviceIds: rev(p.devices.deviceIds), occurrenceIds: rev(p.devices.occurrenceIds), classes: rev(p.devices.classes) },
    allAttributes: p.allAttributes,
    attributes: rev(p.attributes),
    userInput: p.userInput,
    unknownAttributes: rev(p.unknownAttributes),
  };
}

describe('attributeOf', () => {
  it('classifies the attributes of RFC 5025 §3.3.2 by namespace and name', () => {
    expect(attributeOf(RPID_NS, 'activities')).toBe('activities');
    expect(attributeOf(RPID_NS, 'user-input')).toBe('user-input');
    expect(attributeOf(DATA_MODEL_NS, 'deviceID')).toBe('deviceID');
    expect(attributeOf(DATA_MODEL_NS, 'note')).toBe('note');
    expect(attributeOf(PIDF_NS, 'note')).toBe('note');
    expect(attributeOf(RPID_NS, 'deviceID')).toBeUndefined();
    expect(attributeOf(RPID_NS, 'service-class')).toBeUndefined();
    expect(attributeOf(CIPID_NS, 'card')).toBeUndefined();
    expect(attributeOf('urn:vendor', 'activities')).toBeUndefined();
  });
});

describe('permissionsKey', () => {
  it('is FULL_VIEW exactly for full permissions', () => {
    expect(permissionsKey(FULL_PERMISSIONS)).toBe(FULL_VIEW);
    expect(isFullPermissions(FULL_PERMISSIONS)).toBe(true);
    expect(permissionsKey(NO_PERMISSIONS)).not.toBe(FULL_VIEW);
    expect(permissionsKey({ ...FULL_PERMISSIONS, allAttributes: false })).not.toBe(FULL_VIEW);
    expect(permissionsKey({ ...FULL_PERMISSIONS, devices: NO_PERMISSIONS.devices })).not.toBe(FULL_VIEW);
  });

  it('equal permissions in any order give the same key; the key determines the canonical permissions', () => {
    fc.assert(
      fc.property(permissionsArb, fc.nat(3), (p, seed) => {
        expect(permissionsKey(shuffled(p, seed))).toBe(permissionsKey(p));
        expect(permissionsKey(normalizePermissions(p))).toBe(permissionsKey(p));
      }),
      { numRuns: 300 },
    );
  });

  it('different canonical permissions give different keys', () => {
    fc.assert(
      fc.property(permissionsArb, permissionsArb, (a, b) => {
        const same = JSON.stringify(normalizePermissions(a)) === JSON.stringify(normalizePermissions(b));
        expect(permissionsKey(a) === permissionsKey(b)).toBe(same);
      }),
      { numRuns: 500 },
    );
  });

  it('a restricted key is never FULL_VIEW', () => {
    fc.assert(
      fc.property(permissionsArb, (p) => {
        expect(permissionsKey(p) === FULL_VIEW).toBe(isFullPermissions(p));
      }),
      { numRuns: 300 },
    );
  });
});

describe('mergePermissions', () => {
  it('is commutative, associative, idempotent, with NO_PERMISSIONS as identity and FULL as absorbing element', () => {
    fc.assert(
      fc.property(permissionsArb, permissionsArb, permissionsArb, (a, b, c) => {
        const key = permissionsKey;
        expect(key(mergePermissions(a, b))).toBe(key(mergePermissions(b, a)));
        expect(key(mergePermissions(mergePermissions(a, b), c))).toBe(key(mergePermissions(a, mergePermissions(b, c))));
        expect(key(mergePermissions(a, a))).toBe(key(a));
        expect(mergePermissions(a, NO_PERMISSIONS)).toEqual(normalizePermissions(a));
        expect(key(mergePermissions(a, FULL_PERMISSIONS))).toBe(FULL_VIEW);
      }),
      { numRuns: 300 },
    );
  });

  it('takes the larger user-input level and the union of lists', () => {
    const a: PresencePermissions = { ...NO_PERMISSIONS, userInput: 'thresholds', attributes: ['mood'], persons: { all: false, occurrenceIds: ['p2'], classes: [] } };
    const b: PresencePermissions = { ...NO_PERMISSIONS, userInput: 'bare', attributes: ['activities', 'mood'], persons: { all: false, occurrenceIds: ['p1'], classes: ['c'] } };
    expect(mergePermissions(a, b)).toEqual({
      ...NO_PERMISSIONS,
      userInput: 'thresholds',
      attributes: ['activities', 'mood'],
      persons: { all: false, occurrenceIds: ['p1', 'p2'], classes: ['c'] },
    });
  });

  it('normalises: all clears the lists, allAttributes implies everything, schemes lower-cased', () => {
    const p = normalizePermissions({
      ...NO_PERMISSIONS,
      services: { all: true, serviceUris: ['sip:x@y'], serviceUriSchemes: ['SIP'], occurrenceIds: [], classes: [] },
      devices: { all: false, deviceIds: [], occurrenceIds: [], classes: [] },
      allAttributes: true,
      unknownAttributes: [{ ns: 'urn:x', name: 'y' }],
    });
    expect(p.services).toEqual({ all: true, serviceUris: [], serviceUriSchemes: [], occurrenceIds: [], classes: [] });
    expect(p.attributes).toEqual(FULL_PERMISSIONS.attributes);
    expect(p.userInput).toBe('full');
    expect(p.unknownAttributes).toEqual([]);
    expect(normalizePermissions({ ...NO_PERMISSIONS, services: { ...NO_PERMISSIONS.services, serviceUriSchemes: ['SIP', 'sip'] } }).services.serviceUriSchemes).toEqual(['sip']);
  });
});

describe('isPresencePermissions', () => {
  it('accepts well-formed permissions (also after a JSON round trip) and rejects anything else', () => {
    fc.assert(
      fc.property(permissionsArb, (p) => {
        expect(isPresencePermissions(JSON.parse(JSON.stringify(normalizePermissions(p))))).toBe(true);
      }),
      { numRuns: 100 },
    );
    expect(isPresencePermissions(undefined)).toBe(false);
    expect(isPresencePermissions('full')).toBe(false);
    expect(isPresencePermissions({ ...NO_PERMISSIONS, userInput: 'all' })).toBe(false);
    expect(isPresencePermissions({ ...NO_PERMISSIONS, attributes: ['geopriv'] })).toBe(false);
    expect(isPresencePermissions({ ...NO_PERMISSIONS, services: { all: 'yes' } })).toBe(false);
    expect(isPresencePermissions({ ...NO_PERMISSIONS, unknownAttributes: [{ ns: 'x' }] })).toBe(false);
  });
});
