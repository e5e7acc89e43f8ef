/**
 * NOTIFYs of document packages (xcap-diff, RFC 5875): the full document list
 * when a subscription starts or refreshes, one partial notification per
 * batch of document changes of the event.
 */
import type { DocumentEntry, DocumentsPackage } from '../packages/event-package.js';
import type { SubscriptionRecord } from '../store/records.js';
import type { EventContext } from './event-context.js';
import { notifySubscription, type NotifyState } from './notify-builder.js';

export function sendDocuments(ctx: EventContext, pkg: DocumentsPackage, sub: SubscriptionRecord, state: NotifyState, changes?: readonly DocumentEntry[]): void {
  let body;
  if (sub.status === 'active') {
    const entries = changes ?? pkg.documents(ctx.kv, ctx.resource);
    ctx.metrics.rendered++;
    body = { contentType: pkg.notifyContentType, text: pkg.render(entries, changes === undefined) };
  }
  // A partial list is not full state: it must not be skipped by coalescing.
  ctx.notifies.push(notifySubscription(ctx, sub, state, body, changes === undefined));
}

/** Report the document changes of this event to the resource's document-package subscribers. */
export function flushDocumentChanges(ctx: EventContext): void {
  if (ctx.documentChanges.length === 0) return;
  const changes = [...ctx.documentChanges];
  ctx.documentChanges.length = 0;
  for (const name of ctx.deps.packages.names()) {
    const pkg = ctx.deps.packages.get(name);
    if (pkg?.kind !== 'documents') continue;
    for (const sub of ctx.store.subscriptions(ctx.resource, pkg.name)) {
      if (sub.status !== 'active' || sub.expiresAt <= ctx.now) continue;
      sendDocuments(ctx, pkg, sub, { state: 'active' }, changes);
    }
  }
}
