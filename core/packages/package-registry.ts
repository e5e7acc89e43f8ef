/** The set of event packages a server instance supports. */
import type { EventPackage, StatePackage, WatcherInfoPackage } from './event-package.js';

export class PackageRegistry {
  private readonly byName = new Map<string, EventPackage>();

  constructor(packages: readonly EventPackage[]) {
    for (const p of packages) {
      if (this.byName.has(p.name)) throw new Error(`event package ${p.name} registered twice`);
      this.byName.set(p.name, p);
    }
    for (const p of packages) {
      if (p.kind === 'watcherinfo' && this.byName.get(p.watches)?.kind !== 'state') {
        throw new Error(`${p.name} watches ${p.watches}, which is not a registered state package`);
      }
    }
  }

  get(name: string): EventPackage | undefined {
    return this.byName.get(name);
  }

  /** Packages accepted in SUBSCRIBE (for Allow-Events, RFC 6665 §8.2.2). */
  names(): string[] {
    return [...this.byName.keys()];
  }

  /** Packages accepted in PUBLISH. */
  publishable(): string[] {
    return [...this.byName.values()].filter((p) => p.kind === 'state').map((p) => p.name);
  }

  /** Watcher-information packages that report subscriptions to `event`. */
  watchersOf(event: string): WatcherInfoPackage[] {
    const out: WatcherInfoPackage[] = [];
    for (const p of this.byName.values()) if (p.kind === 'watcherinfo' && p.watches === event) out.push(p);
    return out;
  }

  state(name: string): StatePackage | undefined {
    const p = this.byName.get(name);
    return p?.kind === 'state' ? p : undefined;
  }
}
