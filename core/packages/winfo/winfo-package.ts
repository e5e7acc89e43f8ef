/**
 * The `winfo` template package applied to a state package (RFC 3857):
 * `presence.winfo` reports who subscribes to a user's presence.
 */
import type { ExpiresPolicy } from '../../config.js';
import type { StatePackage, WatcherInfoPackage } from '../event-package.js';
import { renderWatcherInfo, WATCHERINFO_CONTENT_TYPE } from './watcherinfo-document.js';

export function watcherInfoPackage(watched: StatePackage, subscribeExpires?: ExpiresPolicy): WatcherInfoPackage {
  return {
    kind: 'watcherinfo',
    name: `${watched.name}.winfo`,
    watches: watched.name,
    notifyContentType: WATCHERINFO_CONTENT_TYPE,
    subscribeExpires: subscribeExpires ?? { default: 3600, min: 60, max: 86_400 },
    render(resource, watchers, version, full) {
      return renderWatcherInfo(resource, watched.name, watchers, version, full);
    },
  };
}
