/** The set of event packages of a server (core/packages/package-registry.ts). */
import { describe, expect, it } from 'vitest';
import type { StatePackage } from '../../../../core/packages/event-package.js';
import { PackageRegistry } from '../../../../core/packages/package-registry.js';
import { presencePackage } from '../../../../core/packages/presence/presence-package.js';
import { watcherInfoPackage } from '../../../../core/packages/winfo/winfo-package.js';

/** A second state package (RFC 4235 dialog), enough for the registry. */
function dialogPackage(): StatePackage {
  const presence = presencePackage();
  return { ...presence, name: 'dialog', notifyContentType: 'application/dialog-info+xml', publishContentTypes: ['application/dialog-info+xml'] } as StatePackage;
}

describe('PackageRegistry', () => {
  const presence = presencePackage();
  const winfo = watcherInfoPackage(presence);
  const dialog = dialogPackage();
  const dialogWinfo = watcherInfoPackage(dialog);
  const registry = new PackageRegistry([presence, winfo, dialog, dialogWinfo]);

  it('finds packages by name', () => {
    expect(registry.get('presence')).toBe(presence);
    expect(registry.get('presence.winfo')).toBe(winfo);
    expect(registry.get('message-summary')).toBeUndefined();
    expect(registry.get('Presence')).toBeUndefined();
  });

  it('lists every package for Allow-Events, in registration order', () => {
    expect(registry.names()).toEqual(['presence', 'presence.winfo', 'dialog', 'dialog.winfo']);
  });

  it('lists only state packages as publishable', () => {
    expect(registry.publishable()).toEqual(['presence', 'dialog']);
  });

  it('finds the watcher-information packages of a state package', () => {
    expect(registry.watchersOf('presence')).toEqual([winfo]);
    expect(registry.watchersOf('dialog')).toEqual([dialogWinfo]);
    expect(registry.watchersOf('presence.winfo')).toEqual([]);
    expect(registry.watchersOf('message-summary')).toEqual([]);
  });

  it('returns state packages only from state()', () => {
    expect(registry.state('presence')).toBe(presence);
    expect(registry.state('presence.winfo')).toBeUndefined();
    expect(registry.state('nope')).toBeUndefined();
  });

  it('accepts a watcher-information package registered before the package it watches', () => {
    expect(new PackageRegistry([winfo, presence]).names()).toEqual(['presence.winfo', 'presence']);
  });

  it('refuses a package registered twice', () => {
    expect(() => new PackageRegistry([presence, presencePackage()])).toThrow(/presence registered twice/);
  });

  it('refuses a watcher-information package whose package is missing or not a state package', () => {
    expect(() => new PackageRegistry([winfo])).toThrow(/presence\.winfo watches presence/);
    const winfoOfWinfo = { ...winfo, name: 'presence.winfo.winfo', watches: 'presence.winfo' };
    expect(() => new PackageRegistry([presence, winfo, winfoOfWinfo])).toThrow(/not a registered state package/);
  });

  it('is empty without packages', () => {
    const empty = new PackageRegistry([]);
    expect(empty.names()).toEqual([]);
    expect(empty.publishable()).toEqual([]);
  });
});
