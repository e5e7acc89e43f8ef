/** The winfo template package (core/packages/winfo/winfo-package.ts, RFC 3857). */
import { describe, expect, it } from 'vitest';
import type { StatePackage, WatcherEntry } from '../../../../../core/packages/event-package.js';
import { presencePackage } from '../../../../../core/packages/presence/presence-package.js';
import { renderWatcherInfo } from '../../../../../core/packages/winfo/watcherinfo-document.js';
import { watcherInfoPackage } from '../../../../../core/packages/winfo/winfo-package.js';
import { parseXml } from '../../../../../core/xml/xml-parser.js';
import { attr, childElements } from '../../../../../core/xml/xml-query.js';

const ALICE = 'sip:alice@example.com';
const BOB: WatcherEntry = { id: 's17', uri: 'sip:bob@example.com', status: 'pending', event: 'subscribe', durationSubscribed: 0, expiration: 3600 };

describe('watcherInfoPackage', () => {
  it('derives presence.winfo from presence', () => {
    const pkg = watcherInfoPackage(presencePackage());
    expect(pkg.kind).toBe('watcherinfo');
    expect(pkg.name).toBe('presence.winfo');
    expect(pkg.watches).toBe('presence');
    expect(pkg.notifyContentType).toBe('application/watcherinfo+xml');
  });

  it('has a default subscription policy, replaceable by the caller', () => {
    expect(watcherInfoPackage(presencePackage()).subscribeExpires).toEqual({ default: 3600, min: 60, max: 86_400 });
    const custom = { default: 600, min: 30, max: 1200 };
    expect(watcherInfoPackage(presencePackage(), custom).subscribeExpires).toEqual(custom);
  });

  it('renders watcherinfo naming the watched package', () => {
    const pkg = watcherInfoPackage(presencePackage());
    const text = pkg.render(ALICE, [BOB], 4, false);
    expect(text).toBe(renderWatcherInfo(ALICE, 'presence', [BOB], 4, false));
    const r = parseXml(text);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(attr(r.value, 'state')).toBe('partial');
    expect(attr(r.value, 'version')).toBe('4');
    const wl = childElements(r.value)[0];
    expect(wl && attr(wl, 'package')).toBe('presence');
    expect(wl && attr(wl, 'resource')).toBe(ALICE);
  });

  it('applies to any state package', () => {
    const dialog = { ...presencePackage(), name: 'dialog' } as StatePackage;
    const pkg = watcherInfoPackage(dialog);
    expect(pkg.name).toBe('dialog.winfo');
    expect(pkg.watches).toBe('dialog');
    expect(pkg.render(ALICE, [], 0, true)).toContain('package="dialog"');
  });
});
