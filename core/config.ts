/**
 * Presence Server configuration: protocol timers and limits. Every value has
 * an operator-sane default; `resolveConfig` validates overrides and reports
 * all problems at once.
 */

/** Expiration policy of one event package, in seconds (RFC 3903 §6 step 5, RFC 6665 §4.2.1.1). */
export interface ExpiresPolicy {
  readonly default: number;
  readonly min: number;
  readonly max: number;
}

export interface NotifyRetryPolicy {
  /** Attempts after the first failed NOTIFY (408 or 5xx) before the subscription is terminated. */
  readonly maxRetries: number;
  /** Delay before each retry in seconds; the last value repeats. */
  readonly backoffSeconds: readonly number[];
}

export interface PresenceLimits {
  /** Largest accepted PUBLISH body in bytes (413 beyond). */
  readonly maxBodyBytes: number;
  readonly maxXmlDepth: number;
  readonly maxXmlElements: number;
  /** Live publications per resource and event package (403 beyond). */
  readonly maxPublicationsPerResource: number;
  /** Live subscriptions per resource and event package (403 beyond). */
  readonly maxSubscriptionsPerResource: number;
  /** Route set entries kept per dialog. */
  readonly maxRouteSet: number;
  /** Longest accepted header value or URI, in characters. */
  readonly maxHeaderLength: number;
}

export interface PresenceConfig {
  /** Identifies this node inside entity-tags and ids (unique across a cluster). */
  readonly nodeId: string;
  /**
   * Contact URI placed in 2xx replies to SUBSCRIBE and in NOTIFYs: the address
   * in-dialog requests come back to (normally the edge proxy).
   */
  readonly contact: string;
  /** Status for an accepted SUBSCRIBE that is pending authorization (RFC 6665 §8.3.1 deprecates 202). */
  readonly pendingStatus: 200 | 202;
  /** Per event package overrides of the package's own expiry defaults. */
  readonly packageExpires: Readonly<Record<string, { readonly publish?: ExpiresPolicy; readonly subscribe?: ExpiresPolicy }>>;
  readonly notifyRetry: NotifyRetryPolicy;
  readonly limits: PresenceLimits;
  /** The XCAP root URI clients use (RFC 4825 §6.1), named in xcap-diff documents. */
  readonly xcapRoot: string;
  /**
   * Subscription handling when the resource's owner has no pres-rules or no
   * rule matches (RFC 5025): 'confirm' (pending until the owner allows,
   * default), 'allow' (open presence, e.g. BLF inside one PBX tenant),
   * 'polite-block' or 'block'.
   */
  readonly defaultSubHandling: 'block' | 'polite-block' | 'confirm' | 'allow';
}

export const DEFAULT_CONFIG: PresenceConfig = {
  nodeId: 'n1',
  // A user part matters: Kamailio's loose_route() treats a Request-URI naming
  // itself without one as coming from a strict router (see the Kamailio notes).
  contact: '<sip:presence@127.0.0.1:5060>',
  pendingStatus: 200,
  packageExpires: {},
  notifyRetry: { maxRetries: 3, backoffSeconds: [2, 10, 30] },
  xcapRoot: 'http://127.0.0.1:8080/xcap-root',
  defaultSubHandling: 'confirm',
  limits: {
    maxBodyBytes: 65_536,
    maxXmlDepth: 32,
    maxXmlElements: 4_096,
    maxPublicationsPerResource: 32,
    maxSubscriptionsPerResource: 10_000,
    maxRouteSet: 16,
    maxHeaderLength: 8_192,
  },
};

export type DeepPartial<T> = { -readonly [K in keyof T]?: T[K] extends readonly unknown[] ? T[K] : T[K] extends object ? DeepPartial<T[K]> : T[K] };

function checkPolicy(name: string, p: ExpiresPolicy, problems: string[]): void {
  if (typeof p !== 'object' || p === null) {
    problems.push(`${name} must be an object with default, min and max`);
    return;
  }
  if (!(Number.isInteger(p.min) && p.min >= 1)) problems.push(`${name}.min must be an integer >= 1`);
  if (!(Number.isInteger(p.max) && p.max >= p.min)) problems.push(`${name}.max must be an integer >= min`);
  if (!(Number.isInteger(p.default) && p.default >= p.min && p.default <= p.max)) {
    problems.push(`${name}.default must be an integer between min and max`);
  }
}

/** Merge overrides into the defaults and validate; returns the problems found, or the config. */
export function resolveConfig(overrides: DeepPartial<PresenceConfig> = {}): { ok: true; config: PresenceConfig } | { ok: false; problems: string[] } {
  const d = DEFAULT_CONFIG;
  const config: PresenceConfig = {
    nodeId: overrides.nodeId ?? d.nodeId,
    contact: overrides.contact ?? d.contact,
    pendingStatus: overrides.pendingStatus ?? d.pendingStatus,
    packageExpires: { ...d.packageExpires, ...(overrides.packageExpires as PresenceConfig['packageExpires'] | undefined) },
    notifyRetry: { ...d.notifyRetry, ...overrides.notifyRetry },
    limits: { ...d.limits, ...overrides.limits },
    xcapRoot: overrides.xcapRoot ?? d.xcapRoot,
    defaultSubHandling: overrides.defaultSubHandling ?? d.defaultSubHandling,
  };
  const problems: string[] = [];
  if (typeof config.nodeId !== 'string' || !/^[A-Za-z0-9_-]{1,16}$/.test(config.nodeId)) problems.push('nodeId must be 1-16 characters of [A-Za-z0-9_-]');
  if (typeof config.contact !== 'string' || !/^(<sips?:[^\s<>]+>|sips?:[^\s<>]+)$/.test(config.contact)) {
    problems.push('contact must be a SIP URI, optionally in angle brackets, e.g. <sip:presence@10.0.0.1:5060>');
  }
  if (config.pendingStatus !== 200 && config.pendingStatus !== 202) problems.push('pendingStatus must be 200 or 202');
  if (!['block', 'polite-block', 'confirm', 'allow'].includes(config.defaultSubHandling)) {
    problems.push('defaultSubHandling must be block, polite-block, confirm or allow');
  }
  if (typeof config.xcapRoot !== 'string' || !/^https?:\/\/[^\s]+$/.test(config.xcapRoot)) problems.push('xcapRoot must be an http(s) URI');
  if (typeof config.packageExpires !== 'object' || config.packageExpires === null || Array.isArray(config.packageExpires)) {
    problems.push('packageExpires must be an object keyed by event package');
  } else {
    for (const [pkg, p] of Object.entries(config.packageExpires)) {
      if (typeof p !== 'object' || p === null) {
        problems.push(`packageExpires.${pkg} must be an object with publish and/or subscribe`);
        continue;
      }
      if (p.publish) checkPolicy(`packageExpires.${pkg}.publish`, p.publish, problems);
      if (p.subscribe) checkPolicy(`packageExpires.${pkg}.subscribe`, p.subscribe, problems);
    }
  }
  if (!(Number.isInteger(config.notifyRetry.maxRetries) && config.notifyRetry.maxRetries >= 0)) {
    problems.push('notifyRetry.maxRetries must be an integer >= 0');
  }
  const backoff: unknown = config.notifyRetry.backoffSeconds;
  if (!Array.isArray(backoff) || backoff.length === 0 || backoff.some((s) => typeof s !== 'number' || !(s > 0))) {
    problems.push('notifyRetry.backoffSeconds must be a non-empty list of positive numbers');
  }
  for (const [k, v] of Object.entries(config.limits)) {
    if (!(Number.isInteger(v) && v > 0)) problems.push(`limits.${k} must be a positive integer`);
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, config };
}

/** Effective expiry policy: the operator's override for the package, else the package's own. */
export function expiresPolicy(config: PresenceConfig, pkg: string, kind: 'publish' | 'subscribe', packageDefault: ExpiresPolicy): ExpiresPolicy {
  const o = config.packageExpires[pkg];
  return (kind === 'publish' ? o?.publish : o?.subscribe) ?? packageDefault;
}
