/**
 * The Presence Server façade: the only entry points the worker layer calls.
 * Every call handles one event of one resource against a store view and
 * returns the reply plus the NOTIFYs to send. An error reply leaves the
 * store untouched (the event's writes are buffered and dropped).
 */
import type { HandleResult, NotifyOutcome, SipReply, SipRequest } from '../contract.js';
import { DefaultAuthorizer, type Authorizer } from '../authz/authorizer.js';
import { PresRulesAuthorizer } from '../authz/pres-rules/pres-rules-authorizer.js';
import type { PresenceConfig } from '../config.js';
import { errorReply, fail, type Result } from '../errors.js';
import type { IdSource } from '../ids.js';
import type { EventPackage } from '../packages/event-package.js';
import { PackageRegistry } from '../packages/package-registry.js';
import { presencePackage } from '../packages/presence/presence-package.js';
import { watcherInfoPackage } from '../packages/winfo/winfo-package.js';
import { xcapDiffPackage } from '../packages/xcap-diff/xcap-diff-package.js';
import type { KvReader, KvStore } from '../store/kv.js';
import { tagOf } from '../sip/name-addr.js';
import { PresenceReader } from '../store/presence-store.js';
import type { TimerRef } from '../store/records.js';
import type { TargetCache } from '../store/target-cache.js';
import { WriteOverlay } from '../store/write-overlay.js';
import { DEFAULT_XML_LIMITS, type XmlLimits } from '../xml/xml-parser.js';
import { EventContext } from './event-context.js';
import { handleXcap, xcapLane, type XcapRequest, type XcapResponse } from '../xcap/xcap-service.js';
import { defaultAppUsageRegistry } from '../xcap/usages/xcap-caps.js';
import { handleNotifyOutcome } from './notify-outcome-handler.js';
import { handlePublish } from './publish-handler.js';
import { requireEvent, requireResource, toTagOf } from './request-fields.js';
import type { ServerDeps } from './server-deps.js';
import { initialSubscribe, refreshSubscribe } from './subscribe-handler.js';
import { runTimers } from './timer-handler.js';
import { flushWatcherChanges } from './watcherinfo-notifier.js';
import { flushDocumentChanges } from './documents-notifier.js';

export interface PresenceServerOptions {
  readonly config: PresenceConfig;
  readonly ids: IdSource;
  readonly authorizer?: Authorizer;
  /** Defaults to presence + presence.winfo. */
  readonly packages?: readonly EventPackage[];
  /** Per-thread cache of decoded fan-out targets. */
  readonly targetCache?: TargetCache;
}

/** The packages shipped by default. */
export function defaultPackages(config: PresenceConfig): EventPackage[] {
  const presence = presencePackage();
  return [presence, watcherInfoPackage(presence), xcapDiffPackage(config.xcapRoot)];
}

const ALLOW = 'PUBLISH, SUBSCRIBE';

export class PresenceServer {
  readonly deps: ServerDeps;
  /** XCAP application usages served by the XDMS (RFC 4825 §5). */
  readonly xcapUsages = defaultAppUsageRegistry();

  constructor(options: PresenceServerOptions) {
    const limits = options.config.limits;
    const xmlLimits: XmlLimits = {
      ...DEFAULT_XML_LIMITS,
      maxBytes: limits.maxBodyBytes,
      maxDepth: limits.maxXmlDepth,
      maxElements: limits.maxXmlElements,
    };
    this.deps = {
      config: options.config,
      packages: new PackageRegistry(options.packages ?? defaultPackages(options.config)),
      authorizer: options.authorizer ?? new PresRulesAuthorizer({ defaultHandling: options.config.defaultSubHandling, fallback: new DefaultAuthorizer() }),
      ids: options.ids,
      xmlLimits,
      ...(options.targetCache ? { targetCache: options.targetCache } : {}),
    };
  }

  /**
   * The ordering key of a request: the resource it concerns. In-dialog
   * SUBSCRIBEs name our Contact, not the resource, so their dialog is looked
   * up. Unparseable requests get the empty key (they are answered 4xx).
   */
  resourceOf(req: SipRequest, reader: KvReader): string {
    if (req.method.toUpperCase() === 'SUBSCRIBE') {
      const toTag = toTagOf(req);
      if (toTag !== undefined) {
        const fromTag = tagOf(req.from);
        const ref = fromTag === undefined ? undefined : new PresenceReader(reader).dialog(req.callId, toTag, fromTag);
        if (ref) return ref.resource;
      }
    }
    const r = requireResource(req, this.deps.config.limits.maxHeaderLength);
    return r.ok ? r.value : '';
  }

  /** Handle a PUBLISH or SUBSCRIBE. */
  handle(req: SipRequest, kv: KvStore, now: number): HandleResult {
    const overlay = new WriteOverlay(kv);
    const basic = this.checkBasics(req);
    if (!basic.ok) return { reply: errorReply(basic.error), notifies: [] };
    const method = req.method.toUpperCase();
    let ctx: EventContext | undefined;
    let result: Result<SipReply>;
    if (method === 'PUBLISH') {
      const sel = requireEvent(req, this.deps.packages, this.deps.packages.publishable());
      const resource = requireResource(req, this.deps.config.limits.maxHeaderLength);
      if (!sel.ok) result = sel;
      else if (!resource.ok) result = resource;
      else {
        ctx = new EventContext(this.deps, overlay, resource.value, now);
        const pkg = this.deps.packages.state(sel.value.pkg.name);
        result = pkg ? handlePublish(ctx, req, pkg) : fail('bad-event');
      }
    } else if (method === 'SUBSCRIBE') {
      const sel = requireEvent(req, this.deps.packages, this.deps.packages.names());
      if (!sel.ok) result = sel;
      else {
        const toTag = toTagOf(req);
        if (toTag !== undefined) {
          const fromTag = tagOf(req.from) ?? '';
          const reader = new PresenceReader(overlay);
          const ref = reader.dialog(req.callId, toTag, fromTag);
          const sub = ref ? reader.subscription(ref.resource, ref.event, ref.id) : undefined;
          if (!ref || !sub || sub.expiresAt <= now) result = fail('no-such-subscription', 'unknown or expired subscription dialog');
          else {
            ctx = new EventContext(this.deps, overlay, ref.resource, now);
            result = refreshSubscribe(ctx, req, sel.value, sub);
          }
        } else {
          const resource = requireResource(req, this.deps.config.limits.maxHeaderLength);
          if (!resource.ok) result = resource;
          else {
            ctx = new EventContext(this.deps, overlay, resource.value, now);
            result = initialSubscribe(ctx, req, sel.value);
          }
        }
      }
    } else {
      result = fail('method-not-allowed', `${req.method} is not handled here`, [{ name: 'Allow', value: ALLOW }]);
    }
    if (!result.ok || !ctx) return { reply: errorReply(result.ok ? { code: 'internal' } : result.error), notifies: [] };
    const notifies = this.finish(ctx, overlay, kv);
    return { reply: result.value, notifies, metrics: ctx.metrics };
  }

  /**
   * Handle an XCAP request (RFC 4825) in the lane `xcapLane(path, query)`.
   * A refused request changes nothing; an accepted change to pres-rules,
   * pidf-manipulation or any document of the owner produces the NOTIFYs it
   * implies (re-authorized subscriptions, recomposed presence, xcap-diff).
   */
  xcap(req: XcapRequest, kv: KvStore, now: number): { readonly response: XcapResponse } & HandleResult {
    const overlay = new WriteOverlay(kv);
    const ctx = new EventContext(this.deps, overlay, xcapLane(req.path, req.query), now);
    const response = handleXcap(ctx, req, {
      registry: this.xcapUsages,
      root: this.deps.config.xcapRoot,
      maxBodyBytes: this.deps.config.limits.maxBodyBytes,
    });
    if (response.status >= 300) return { response, notifies: [] };
    const notifies = this.finish(ctx, overlay, kv);
    return { response, notifies, metrics: ctx.metrics };
  }

  /** Process due timers of one resource (from the expiry sweep). */
  timers(resource: string, timers: readonly TimerRef[], kv: KvStore, now: number): HandleResult {
    const overlay = new WriteOverlay(kv);
    const ctx = new EventContext(this.deps, overlay, resource, now);
    runTimers(ctx, timers);
    const notifies = this.finish(ctx, overlay, kv);
    return { notifies, metrics: ctx.metrics };
  }

  /** Apply the final responses of NOTIFYs of one resource, in order. */
  notifyOutcomes(resource: string, outcomes: readonly NotifyOutcome[], kv: KvStore, now: number): HandleResult {
    const overlay = new WriteOverlay(kv);
    const ctx = new EventContext(this.deps, overlay, resource, now);
    for (const o of outcomes) if (o.resource === resource) handleNotifyOutcome(ctx, o);
    const notifies = this.finish(ctx, overlay, kv);
    return { notifies, metrics: ctx.metrics };
  }

  private finish(ctx: EventContext, overlay: WriteOverlay, kv: KvStore): EventContext['notifies'] {
    flushWatcherChanges(ctx);
    flushDocumentChanges(ctx);
    ctx.store.flush();
    overlay.applyTo(kv);
    return ctx.notifies;
  }

  private checkBasics(req: SipRequest): Result<void> {
    const max = this.deps.config.limits.maxHeaderLength;
    if (typeof req.callId !== 'string' || req.callId === '' || req.callId.length > max) return fail('malformed-request', 'Call-ID missing or too long');
    if (!Number.isInteger(req.cseq) || req.cseq < 0 || req.cseq >= 2 ** 31) return fail('malformed-request', 'CSeq out of range');
    if (typeof req.from !== 'string' || typeof req.to !== 'string' || req.from.length > max || req.to.length > max) {
      return fail('malformed-request', 'From/To missing or too long');
    }
    return { ok: true, value: undefined };
  }
}
