/**
 * Builds NOTIFY requests from stored dialog state (RFC 6665 §4.2.2, RFC 3261
 * §12.2.1.1). Routing and the constant header lines were rendered when the
 * dialog was created or refreshed, so a NOTIFY costs one small object.
 */
import type { Notify, NotifyBody } from '../contract.js';
import { renderDialogHeaders } from '../sip/notify-headers.js';
import { formatSubscriptionState } from '../sip/subscription-state.js';
import { targetOf, type DialogState, type NotifyTarget, type SubscriptionRecord } from '../store/records.js';
import type { EventContext } from './event-context.js';

export type TerminationReason = 'deactivated' | 'probation' | 'rejected' | 'timeout' | 'giveup' | 'noresource';

export type NotifyState =
  | { readonly state: 'active' | 'pending' }
  | { readonly state: 'terminated'; readonly reason: TerminationReason };

/** Event header value of a subscription's NOTIFYs (RFC 6665 §8.2.1: the `id` is echoed). */
export function eventHeaderValue(event: string, eventId: string | undefined): string {
  return eventId === undefined ? event : `${event};id=${eventId}`;
}

/** The constant NOTIFY header lines of a dialog. */
export function dialogHeaders(d: Omit<DialogState, 'headers'>, contact: string, event: string): string {
  return renderDialogHeaders({ from: d.localHeader, to: d.remoteHeader, callId: d.callId, route: d.route, contact, event });
}

/** Subscription-State values cached per (state, remaining seconds): most NOTIFYs of a fan-out share one. */
function subscriptionState(ctx: EventContext, state: NotifyState, expiresAt: number): string {
  if (state.state === 'terminated') return formatSubscriptionState({ state: 'terminated', reason: state.reason });
  return formatSubscriptionState({ state: state.state, expires: ctx.secondsUntil(expiresAt) });
}

export function buildNotify(
  ctx: EventContext,
  resource: string,
  event: string,
  t: NotifyTarget,
  state: NotifyState,
  body: NotifyBody | undefined,
  fullState = true,
): Notify {
  const n: { -readonly [K in keyof Notify]: Notify[K] } = {
    subscriptionId: t.id,
    resource,
    event,
    requestUri: t.requestUri,
    nextHop: t.nextHop,
    cseq: ctx.eventSeq(),
    subscriptionState: subscriptionState(ctx, state, t.expiresAt),
    dialogHeaders: t.headers,
    terminal: state.state === 'terminated',
    fullState,
  };
  if (t.destination) n.destination = t.destination;
  if (body) n.body = body;
  ctx.notified.add(t.id);
  return n;
}

/** A NOTIFY for a full subscription record (single-watcher events: subscribe, refresh, expiry). */
export function notifySubscription(ctx: EventContext, sub: SubscriptionRecord, state: NotifyState, body: NotifyBody | undefined, fullState = true): Notify {
  return buildNotify(ctx, sub.resource, sub.event, targetOf(sub), state, body, fullState);
}
