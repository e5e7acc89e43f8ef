import type { Authorizer } from '../authz/authorizer.js';
import type { PresenceConfig } from '../config.js';
import type { IdSource } from '../ids.js';
import type { PackageRegistry } from '../packages/package-registry.js';
import type { TargetCache } from '../store/target-cache.js';
import type { XmlLimits } from '../xml/xml-parser.js';

/** Everything the handlers need besides the store and the clock. */
export interface ServerDeps {
  readonly config: PresenceConfig;
  readonly packages: PackageRegistry;
  readonly authorizer: Authorizer;
  readonly ids: IdSource;
  readonly xmlLimits: XmlLimits;
  /** Per-thread cache of decoded fan-out targets (optional). */
  readonly targetCache?: TargetCache;
}
