/**
 * SUBSCRIBE processing (RFC 6665 §4.2.1, RFC 3856 §6): create, refresh,
 * terminate and fetch subscriptions; keep RFC 3261 §12 dialog state; send the
 * NOTIFY that must follow every accepted SUBSCRIBE.
 */
import type { SipHeader, SipReply, SipRequest, SourceAddress } from '../contract.js';
import type { AuthorizationDecision } from '../authz/authorizer.js';
import { expiresPolicy } from '../config.js';
import { fail, ok, type Result } from '../errors.js';
import type { EventPackage } from '../packages/event-package.js';
import { sipReason } from '../reason-phrases.js';
import { accepts, parseAccept } from '../sip/accept-header.js';
import { natDestination, routeInDialog, routeSetFromRecordRoute } from '../sip/dialog-routing.js';
import { parseNameAddr, withTag } from '../sip/name-addr.js';
import type { DialogRef, DialogState, SubscriptionRecord } from '../store/records.js';
import type { EventContext } from './event-context.js';
import { dialogHeaders, eventHeaderValue, notifySubscription, type NotifyState } from './notify-builder.js';
import { grantExpires, requireFrom, watcherIdentity, type EventSelector } from './request-fields.js';
import { stateBody } from './state-notifier.js';
import { sendWatcherInfo } from './watcherinfo-notifier.js';
import { sendDocuments } from './documents-notifier.js';

function okReply(status: number, expires: number, contact: string): SipReply {
  const headers: SipHeader[] = [
    { name: 'Expires', value: String(expires) },
    { name: 'Contact', value: contact },
  ];
  return { status, reason: sipReason(status), headers };
}

/** RFC 6665 §4.2.1.1 / RFC 3261 §8.2.3: 406 when the Accept header excludes the package's body type. */
function checkAccept(req: SipRequest, pkg: EventPackage): Result<void> {
  if (req.accept === undefined) return ok(undefined);
  const ranges = parseAccept(req.accept);
  if (!ranges) return fail('invalid-header', 'Accept header malformed');
  if (!accepts(ranges, pkg.notifyContentType)) {
    return fail('not-acceptable', `${pkg.name} NOTIFY bodies are ${pkg.notifyContentType}`, [
      { name: 'Accept', value: pkg.notifyContentType },
    ]);
  }
  return ok(undefined);
}

/** Remote target and routing of a dialog (RFC 3261 §12.1.1 UAS, §12.2.1.1). */
function dialogRouting(
  req: SipRequest,
  contact: string,
  routeSet: readonly string[],
): Result<Pick<DialogState, 'remoteTarget' | 'requestUri' | 'route' | 'nextHop' | 'destination'>> {
  const na = parseNameAddr(contact);
  if (!na) return fail('invalid-header', 'Contact header malformed');
  const routing = routeInDialog(na.uri, routeSet);
  if (!routing) return fail('invalid-header', 'Contact or Record-Route is not routable');
  const out: { remoteTarget: string; requestUri: string; route: readonly string[]; nextHop: string; destination?: SourceAddress } = {
    remoteTarget: na.uri,
    requestUri: routing.requestUri,
    route: routing.route,
    nextHop: routing.nextHop,
  };
  const dest = natDestination(na.uri, routeSet, req.source);
  if (dest) out.destination = dest;
  return ok(out);
}

/** Send the NOTIFY that follows a subscription change, for either package kind. */
/** The NOTIFY a single subscriber gets now (subscribe, refresh, expiry, retry, re-authorization), for any package kind. */
export function notifySubscriber(ctx: EventContext, pkg: EventPackage, sub: SubscriptionRecord, state: NotifyState): void {
  switch (pkg.kind) {
    case 'watcherinfo':
      sendWatcherInfo(ctx, pkg, sub, state, undefined);
      return;
    case 'documents':
      sendDocuments(ctx, pkg, sub, state);
      return;
    case 'state':
      ctx.notifies.push(notifySubscription(ctx, sub, state, state.state === 'terminated' && sub.status === 'pending' ? undefined : stateBody(ctx, pkg, sub)));
      return;
  }
}

export function authorize(ctx: EventContext, pkg: EventPackage, watcher: { aor: string; authenticated: boolean }): AuthorizationDecision {
  return ctx.deps.authorizer.authorize(
    { resource: ctx.resource, event: pkg.name, watcher: watcher.aor, authenticated: watcher.authenticated, now: ctx.now },
    ctx.kv,
  );
}

export function applyDecision(sub: SubscriptionRecord, d: AuthorizationDecision): SubscriptionRecord {
  const { permissions: _drop, ...rest } = sub;
  const next: SubscriptionRecord = {
    ...rest,
    status: d.handling === 'confirm' ? 'pending' : 'active',
    handling: d.handling === 'block' ? 'polite-block' : d.handling,
    view: d.view,
  };
  return d.permissions === undefined ? next : { ...next, permissions: d.permissions };
}

/** An initial SUBSCRIBE (no To tag): a new dialog and subscription, or a fetch. */
export function initialSubscribe(ctx: EventContext, req: SipRequest, sel: EventSelector): Result<SipReply> {
  const { config } = ctx.deps;
  const pkg = sel.pkg;
  const from = requireFrom(req, config.limits.maxHeaderLength);
  if (!from.ok) return from;
  const accept = checkAccept(req, pkg);
  if (!accept.ok) return accept;
  const expires = grantExpires(req.expires, expiresPolicy(config, pkg.name, 'subscribe', pkg.subscribeExpires));
  if (!expires.ok) return expires;
  if (req.contact === undefined || req.contact.length > config.limits.maxHeaderLength) {
    return fail('missing-header', 'SUBSCRIBE needs a Contact');
  }
  const routeSet = routeSetFromRecordRoute(req.recordRoute ?? []);
  if (!routeSet) return fail('invalid-header', 'Record-Route malformed');
  if (routeSet.length > config.limits.maxRouteSet) return fail('invalid-header', 'Record-Route has too many entries');
  const routing = dialogRouting(req, req.contact, routeSet);
  if (!routing.ok) return routing;
  if (req.localTag === '') return fail('malformed-request', 'the edge did not provide a local tag');

  const watcher = watcherIdentity(req, from.value);
  const decision = authorize(ctx, pkg, watcher);
  if (decision.handling === 'block') return fail('forbidden', 'subscription rejected by the resource owner');

  // A retried initial SUBSCRIBE that already created this very dialog: treat it as a refresh.
  const remoteTag = from.value.tag as string;
  const same = ctx.store.dialog(req.callId, req.localTag, remoteTag);
  if (same && same.resource === ctx.resource) {
    const sub = ctx.store.subscription(same.resource, same.event, same.id);
    if (sub) return refreshSubscribe(ctx, req, sel, sub);
  }

  const now = ctx.now;
  const granted = expires.value;
  const dialogBase = {
    callId: req.callId,
    localTag: req.localTag,
    remoteTag,
    localHeader: withTag(req.to, req.localTag),
    remoteHeader: req.from,
    routeSet,
    remoteCseq: req.cseq,
    ...routing.value,
  };
  const dialog: DialogState = {
    ...dialogBase,
    headers: dialogHeaders(dialogBase, config.contact, eventHeaderValue(pkg.name, sel.id)),
  };
  let sub: SubscriptionRecord = {
    id: ctx.deps.ids.newId(),
    resource: ctx.resource,
    event: pkg.name,
    status: 'active',
    handling: 'allow',
    view: decision.view,
    expiresAt: now + granted * 1000,
    createdAt: now,
    watcher: watcher.aor,
    authenticated: watcher.authenticated,
    dialog,
    source: req.source,
    failures: 0,
    ...(sel.id === undefined ? {} : { eventId: sel.id }),
    ...(from.value.displayName === undefined ? {} : { watcherDisplayName: from.value.displayName }),
  };
  sub = applyDecision(sub, decision);

  if (granted === 0) {
    // Fetch (RFC 6665 §4.4.3): one NOTIFY with the current state, nothing kept.
    notifySubscriber(ctx, pkg, sub, { state: 'terminated', reason: 'timeout' });
    return ok(okReply(200, 0, config.contact));
  }

  // The same watcher UA re-subscribing on the same Call-ID and From tag lost its old dialog: replace it.
  for (const e of ctx.kv.prefix('dialogs', [req.callId])) {
    const ref = e.value as DialogRef;
    if (e.key[2] !== remoteTag || ref.resource !== ctx.resource || ref.event !== pkg.name) continue;
    const old = ctx.store.subscription(ref.resource, ref.event, ref.id);
    if (old) {
      ctx.store.removeSubscription(old);
      ctx.watcherChanged({ sub: old, status: 'terminated', event: 'deactivated' });
    }
  }

  const count = ctx.store.resource(ctx.resource).subs[pkg.name] ?? 0;
  if (count >= config.limits.maxSubscriptionsPerResource) {
    return fail('limit-exceeded', `at most ${config.limits.maxSubscriptionsPerResource} subscriptions per resource`);
  }
  ctx.store.putSubscription(sub);
  ctx.watcherChanged({ sub, status: sub.status, event: 'subscribe' });
  notifySubscriber(ctx, pkg, sub, { state: sub.status });
  return ok(okReply(sub.status === 'pending' ? config.pendingStatus : 200, granted, config.contact));
}

/** An in-dialog SUBSCRIBE: refresh (Expires > 0) or unsubscribe (Expires: 0), RFC 6665 §4.2.1.2/§4.2.1.3. */
export function refreshSubscribe(ctx: EventContext, req: SipRequest, sel: EventSelector, sub: SubscriptionRecord): Result<SipReply> {
  const { config } = ctx.deps;
  const pkg = sel.pkg;
  if (pkg.name !== sub.event || sel.id !== sub.eventId) return fail('no-such-subscription', 'no subscription for this event in the dialog');
  if (req.cseq < sub.dialog.remoteCseq) return fail('out-of-order', `CSeq ${req.cseq} < ${sub.dialog.remoteCseq}`);
  const expires = grantExpires(req.expires, expiresPolicy(config, pkg.name, 'subscribe', pkg.subscribeExpires));
  if (!expires.ok) return expires;
  const granted = expires.value;

  if (granted === 0) {
    ctx.store.removeSubscription(sub);
    ctx.watcherChanged({ sub, status: 'terminated', event: 'timeout' });
    notifySubscriber(ctx, pkg, sub, { state: 'terminated', reason: 'timeout' });
    return ok(okReply(200, 0, config.contact));
  }

  // SUBSCRIBE is a target refresh request (RFC 6665 §4.1.2.1): a new Contact replaces the remote target.
  let dialog: DialogState = { ...sub.dialog, remoteCseq: Math.max(req.cseq, sub.dialog.remoteCseq) };
  if (req.contact !== undefined) {
    if (req.contact.length > config.limits.maxHeaderLength) return fail('invalid-header', 'Contact too long');
    const routing = dialogRouting(req, req.contact, sub.dialog.routeSet);
    if (!routing.ok) return routing;
    const { destination: _old, ...rest } = dialog;
    dialog = { ...rest, ...routing.value };
  }
  // Re-render the constant header lines (the configured Contact may have changed since).
  dialog = { ...dialog, headers: dialogHeaders(dialog, config.contact, eventHeaderValue(sub.event, sub.eventId)) };
  const from = requireFrom(req, config.limits.maxHeaderLength);
  if (!from.ok) return from;
  const decision = authorize(ctx, pkg, watcherIdentity(req, from.value));
  if (decision.handling === 'block') {
    ctx.store.removeSubscription(sub);
    ctx.watcherChanged({ sub, status: 'terminated', event: 'rejected' });
    notifySubscriber(ctx, pkg, sub, { state: 'terminated', reason: 'rejected' });
    return ok(okReply(200, 0, config.contact));
  }
  const refreshed = applyDecision({ ...sub, dialog, source: req.source, expiresAt: ctx.now + granted * 1000 }, decision);
  ctx.store.putSubscription(refreshed, sub);
  const approved = sub.status === 'pending' && refreshed.status === 'active';
  ctx.watcherChanged({ sub: refreshed, status: refreshed.status, event: approved ? 'approved' : 'subscribe' });
  notifySubscriber(ctx, pkg, refreshed, { state: refreshed.status });
  return ok(okReply(refreshed.status === 'pending' ? config.pendingStatus : 200, granted, config.contact));
}
