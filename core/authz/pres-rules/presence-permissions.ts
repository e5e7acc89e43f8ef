/**
 * The presence permissions one watcher is granted: the combined result of
 * the RFC 5025 transformations of every matching rule (RFC 4745 §10.3).
 * Plain, canonical data: stored with the subscription, compared by value and
 * turned into the view key under which one rendering is shared.
 *
 * Default deny: a component (tuple, person, device) or presence attribute
 * is only part of a watcher's view when a permission names it.
 */
import { FULL_VIEW } from '../authorizer.js';
import { compareStrings } from '../../store/kv.js';
import { DATA_MODEL_NS, PIDF_NS, RPID_NS } from '../../packages/presence/pidf-document.js';

/**
 * The presence attributes with a boolean permission of their own (RFC 5025
 * §3.3.2: provide-activities … provide-note), by the attribute's local name.
 * `user-input` has a four-valued permission and is kept apart.
 */
export const KNOWN_ATTRIBUTES = [
  'activities',
  'class',
  'deviceID',
  'mood',
  'note',
  'place-is',
  'place-type',
  'privacy',
  'relationship',
  'sphere',
  'status-icon',
  'time-offset',
] as const;
export type KnownAttribute = (typeof KNOWN_ATTRIBUTES)[number];

/** RFC 5025 §3.3.2 provide-user-input, in increasing order of what it reveals. */
export const USER_INPUT_LEVELS = ['false', 'bare', 'thresholds', 'full'] as const;
export type UserInputLevel = (typeof USER_INPUT_LEVELS)[number];

/** RFC 5025 §3.3.1.3 provide-services: which tuples are provided. */
export interface ServiceSelection {
  /** `<all-services/>`; when true the lists are empty. */
  readonly all: boolean;
  /** `<service-uri>`: the tuple's `<contact>` URI. */
  readonly serviceUris: readonly string[];
  /** `<service-uri-scheme>`, lower case: the scheme of the tuple's `<contact>`. */
  readonly serviceUriSchemes: readonly string[];
  /** `<occurrence-id>`: the tuple's `id`. */
  readonly occurrenceIds: readonly string[];
  /** `<class>`: the tuple's RPID `<class>`. */
  readonly classes: readonly string[];
}

/** RFC 5025 §3.3.1.2 provide-persons. */
export interface PersonSelection {
  readonly all: boolean;
  readonly occurrenceIds: readonly string[];
  readonly classes: readonly string[];
}

/** RFC 5025 §3.3.1.1 provide-devices. */
export interface DeviceSelection {
  readonly all: boolean;
  /** `<deviceID>`: the device's `<dm:deviceID>`. */
  readonly deviceIds: readonly string[];
  readonly occurrenceIds: readonly string[];
  readonly classes: readonly string[];
}

/** RFC 5025 §3.3.2.14 provide-unknown-attribute (an element not covered by another permission). */
export interface UnknownAttribute {
  readonly ns: string;
  readonly name: string;
}

export interface PresencePermissions {
  readonly services: ServiceSelection;
  readonly persons: PersonSelection;
  readonly devices: DeviceSelection;
  /**
   * RFC 5025 §3.3.2.15 provide-all-attributes: every attribute of every
   * provided component, and the presence-level notes and extensions. When
   * true, `attributes` lists every known attribute, `userInput` is 'full'
   * and `unknownAttributes` is empty.
   */
  readonly allAttributes: boolean;
  /** Known attributes granted, sorted. */
  readonly attributes: readonly KnownAttribute[];
  readonly userInput: UserInputLevel;
  /** Unknown attributes granted, sorted by (ns, name); never a known attribute. */
  readonly unknownAttributes: readonly UnknownAttribute[];
}

const NO_SERVICES: ServiceSelection = Object.freeze({ all: false, serviceUris: [], serviceUriSchemes: [], occurrenceIds: [], classes: [] });
const NO_PERSONS: PersonSelection = Object.freeze({ all: false, occurrenceIds: [], classes: [] });
const NO_DEVICES: DeviceSelection = Object.freeze({ all: false, deviceIds: [], occurrenceIds: [], classes: [] });

/** Nothing granted: the view of a watcher no transformation applies to. */
export const NO_PERMISSIONS: PresencePermissions = Object.freeze({
  services: NO_SERVICES,
  persons: NO_PERSONS,
  devices: NO_DEVICES,
  allAttributes: false,
  attributes: [],
  userInput: 'false',
  unknownAttributes: [],
});

/** Everything granted: the unrestricted view (`FULL_VIEW`). */
export const FULL_PERMISSIONS: PresencePermissions = Object.freeze({
  services: Object.freeze({ ...NO_SERVICES, all: true }),
  persons: Object.freeze({ ...NO_PERSONS, all: true }),
  devices: Object.freeze({ ...NO_DEVICES, all: true }),
  allAttributes: true,
  attributes: [...KNOWN_ATTRIBUTES],
  userInput: 'full',
  unknownAttributes: [],
});

/**
 * The permission that governs element `{ns}local` when it appears as an
 * attribute of a tuple, person or device (or of a tuple's `<status>`):
 * a known attribute, 'user-input', or undefined for an unknown attribute.
 * RPID attributes live in the RPID namespace (RFC 4480), `<deviceID>` in the
 * data-model namespace (RFC 4479 §3.3), notes in PIDF, data-model or RPID.
 */
export function attributeOf(ns: string, local: string): KnownAttribute | 'user-input' | undefined {
  if (ns === RPID_NS) {
    switch (local) {
      case 'activities':
      case 'class':
      case 'mood':
      case 'note':
      case 'place-is':
      case 'place-type':
      case 'privacy':
      case 'relationship':
      case 'sphere':
      case 'status-icon':
      case 'time-offset':
      case 'user-input':
        return local;
      default:
        return undefined;
    }
  }
  if (ns === DATA_MODEL_NS) {
    if (local === 'deviceID' || local === 'note') return local;
    return undefined;
  }
  if (ns === PIDF_NS && local === 'note') return 'note';
  return undefined;
}

function sortedUnique(values: Iterable<string>): string[] {
  const out = [...new Set(values)];
  out.sort(compareStrings);
  return out;
}

function unknownKey(u: UnknownAttribute): string {
  return `${u.ns}\u0000${u.name}`;
}

function sortedUnknown(values: Iterable<UnknownAttribute>): UnknownAttribute[] {
  const byKey = new Map<string, UnknownAttribute>();
  for (const u of values) {
    if (attributeOf(u.ns, u.name) !== undefined) continue; // a known attribute has its own permission
    byKey.set(unknownKey(u), { ns: u.ns, name: u.name });
  }
  return [...byKey.keys()].sort(compareStrings).map((k) => byKey.get(k)!);
}

function levelIndex(level: UserInputLevel): number {
  return USER_INPUT_LEVELS.indexOf(level);
}

/** The larger of two user-input levels (RFC 4745 §10.3: the most permissive value wins). */
export function maxUserInput(a: UserInputLevel, b: UserInputLevel): UserInputLevel {
  return levelIndex(a) >= levelIndex(b) ? a : b;
}

function normalizeServices(s: ServiceSelection): ServiceSelection {
  if (s.all) return FULL_PERMISSIONS.services;
  return {
    all: false,
    serviceUris: sortedUnique(s.serviceUris),
    serviceUriSchemes: sortedUnique(s.serviceUriSchemes.map((x) => x.toLowerCase())),
    occurrenceIds: sortedUnique(s.occurrenceIds),
    classes: sortedUnique(s.classes),
  };
}

function normalizePersons(s: PersonSelection): PersonSelection {
  if (s.all) return FULL_PERMISSIONS.persons;
  return { all: false, occurrenceIds: sortedUnique(s.occurrenceIds), classes: sortedUnique(s.classes) };
}

function normalizeDevices(s: DeviceSelection): DeviceSelection {
  if (s.all) return FULL_PERMISSIONS.devices;
  return {
    all: false,
    deviceIds: sortedUnique(s.deviceIds),
    occurrenceIds: sortedUnique(s.occurrenceIds),
    classes: sortedUnique(s.classes),
  };
}

/**
 * The canonical form: lists sorted and de-duplicated, selections with
 * `all` carry no lists, `allAttributes` implies every attribute, scheme
 * names in lower case, unknown-attribute grants for known attributes dropped.
 * Equal permissions have deep-equal canonical forms.
 */
export function normalizePermissions(p: PresencePermissions): PresencePermissions {
  const allAttributes = p.allAttributes;
  return {
    services: normalizeServices(p.services),
    persons: normalizePersons(p.persons),
    devices: normalizeDevices(p.devices),
    allAttributes,
    attributes: allAttributes ? FULL_PERMISSIONS.attributes : (sortedUnique(p.attributes) as KnownAttribute[]),
    userInput: allAttributes ? 'full' : p.userInput,
    unknownAttributes: allAttributes ? [] : sortedUnknown(p.unknownAttributes),
  };
}

/** The union of two grants (RFC 4745 §10.3: booleans OR, sets union, ordered values max), canonical. */
export function mergePermissions(a: PresencePermissions, b: PresencePermissions): PresencePermissions {
  return normalizePermissions({
    services: {
      all: a.services.all || b.services.all,
      serviceUris: [...a.services.serviceUris, ...b.services.serviceUris],
      serviceUriSchemes: [...a.services.serviceUriSchemes, ...b.services.serviceUriSchemes],
      occurrenceIds: [...a.services.occurrenceIds, ...b.services.occurrenceIds],
      classes: [...a.services.classes, ...b.services.classes],
    },
    persons: {
      all: a.persons.all || b.persons.all,
      occurrenceIds: [...a.persons.occurrenceIds, ...b.persons.occurrenceIds],
      classes: [...a.persons.classes, ...b.persons.classes],
    },
    devices: {
      all: a.devices.all || b.devices.all,
      deviceIds: [...a.devices.deviceIds, ...b.devices.deviceIds],
      occurrenceIds: [...a.devices.occurrenceIds, ...b.devices.occurrenceIds],
      classes: [...a.devices.classes, ...b.devices.classes],
    },
    allAttributes: a.allAttributes || b.allAttributes,
    attributes: [...a.attributes, ...b.attributes],
    userInput: maxUserInput(a.userInput, b.userInput),
    unknownAttributes: [...a.unknownAttributes, ...b.unknownAttributes],
  });
}

/**
 * True only when everything is provided: all services, all persons, all
 * devices and all attributes. Then the transformation is the identity and
 * the view is the unrestricted one.
 */
export function isFullPermissions(p: PresencePermissions): boolean {
  return p.services.all && p.persons.all && p.devices.all && p.allAttributes;
}

/**
 * The view key of a grant: `FULL_VIEW` ('full') for full permissions, else
 * `pr:` and a JSON array of the canonical form. Equal permissions (whatever
 * their list order) give equal keys; different canonical permissions give
 * different keys (the JSON encoding is injective), and no restricted key
 * equals 'full'.
 */
export function permissionsKey(p: PresencePermissions): string {
  const n = normalizePermissions(p);
  if (isFullPermissions(n)) return FULL_VIEW;
  const s = n.services;
  const pe = n.persons;
  const d = n.devices;
  return (
    'pr:' +
    JSON.stringify([
      s.all ? 1 : 0, s.serviceUris, s.serviceUriSchemes, s.occurrenceIds, s.classes,
      pe.all ? 1 : 0, pe.occurrenceIds, pe.classes,
      d.all ? 1 : 0, d.deviceIds, d.occurrenceIds, d.classes,
      n.allAttributes ? 1 : 0, n.attributes, n.userInput,
      n.unknownAttributes.map((u) => [u.ns, u.name]),
    ])
  );
}

function isStringArray(x: unknown): x is readonly string[] {
  return Array.isArray(x) && x.every((v) => typeof v === 'string');
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/**
 * Structural check of permissions read back from the store (they cross
 * msgpack and worker boundaries as plain data). Anything malformed is
 * rejected so that the caller can fail closed.
 */
export function isPresencePermissions(x: unknown): x is PresencePermissions {
  if (!isObject(x)) return false;
  const { services: s, persons: p, devices: d } = x;
  if (!isObject(s) || typeof s.all !== 'boolean' || !isStringArray(s.serviceUris) || !isStringArray(s.serviceUriSchemes)) return false;
  if (!isStringArray(s.occurrenceIds) || !isStringArray(s.classes)) return false;
  if (!isObject(p) || typeof p.all !== 'boolean' || !isStringArray(p.occurrenceIds) || !isStringArray(p.classes)) return false;
  if (!isObject(d) || typeof d.all !== 'boolean' || !isStringArray(d.deviceIds) || !isStringArray(d.occurrenceIds) || !isStringArray(d.classes)) {
    return false;
  }
  if (typeof x.allAttributes !== 'boolean') return false;
  if (!isStringArray(x.attributes) || !x.attributes.every((a) => (KNOWN_ATTRIBUTES as readonly string[]).includes(a))) return false;
  if (typeof x.userInput !== 'string' || !(USER_INPUT_LEVELS as readonly string[]).includes(x.userInput)) return false;
  const u = x.unknownAttributes;
  return Array.isArray(u) && u.every((e: unknown) => isObject(e) && typeof e.ns === 'string' && typeof e.name === 'string');
}
