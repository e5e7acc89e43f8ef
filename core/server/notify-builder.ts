/**
 * Builds NOTIFY requests from stored dialog state (RFC 6665 §4.2.2, RFC 3261
 * §12.2.1.1). All routing was computed when the dialog was created or its
 * target refreshed, so a NOTIFY costs one small object, no parsing.
 */
import type { Notify, NotifyBody } from '../contract.js';
import { formatSubscriptionState } from '../sip/subscription-state.js';
import type { SubscriptionRecord } from '../store/records.js';
import type { EventContext } from './event-context.js';

export type TerminationReason = 'deactivated' | 'probation' | 'rejected' | 'timeout' | 'giveup' | 'noresource';

export type NotifyState =
  | { readonly state: 'active' | 'pending' }
  | { readonly state: 'terminated'; readonly reason: TerminationReason };

/** Event header value of a subscription's NOTIFYs (RFC 6665 §8.2.1: the `id` is echoed). */
export function eventHeaderOf(sub: SubscriptionRecord): string {
  return sub.eventId === undefined ? sub.event : `${sub.event};id=${sub.eventId}`;
}

export function buildNotify(ctx: EventContext, sub: SubscriptionRecord, state: NotifyState, body: NotifyBody | undefined): Notify {
  const d = sub.dialog;
  const subscriptionState =
    state.state === 'terminated'
      ? formatSubscriptionState({ state: 'terminated', reason: state.reason })
      : formatSubscriptionState({ state: state.state, expires: ctx.secondsUntil(sub.expiresAt) });
  const notify: {
    -readonly [K in keyof Notify]: Notify[K];
  } = {
    subscriptionId: sub.id,
    resource: sub.resource,
    event: sub.event,
    requestUri: d.requestUri,
    nextHop: d.nextHop,
    headers: {
      from: d.localHeader,
      to: d.remoteHeader,
      callId: d.callId,
      cseq: ctx.eventSeq(),
      route: d.route,
      contact: ctx.deps.config.contact,
      event: eventHeaderOf(sub),
      subscriptionState,
    },
    terminal: state.state === 'terminated',
  };
  if (d.destination) notify.destination = d.destination;
  if (body) notify.body = body;
  return notify;
}
