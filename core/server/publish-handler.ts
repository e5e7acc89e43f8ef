/**
 * PUBLISH processing (RFC 3903 §6): initial, refresh, modify and remove of
 * event state, with one new entity-tag per successful request. A modify or
 * refresh replaces the old publication record under the new tag in the same
 * batch, so no duplicate is ever left behind.
 */
import type { SipReply, SipRequest } from '../contract.js';
import { expiresPolicy } from '../config.js';
import { fail, ok, type Result } from '../errors.js';
import type { StatePackage } from '../packages/event-package.js';
import { sipReason } from '../reason-phrases.js';
import { sameMediaType } from '../sip/media-type.js';
import type { PublicationRecord } from '../store/records.js';
import { recompose, stateChanged } from './composition.js';
import type { EventContext } from './event-context.js';
import { grantExpires } from './request-fields.js';

export function handlePublish(ctx: EventContext, req: SipRequest, pkg: StatePackage): Result<SipReply> {
  const { config, ids, xmlLimits } = ctx.deps;
  const expires = grantExpires(req.expires, expiresPolicy(config, pkg.name, 'publish', pkg.publishExpires));
  if (!expires.ok) return expires;
  const ifMatch = req.sipIfMatch?.trim();
  const hasBody = req.body !== undefined && req.body.length > 0;
  if (!ifMatch && !hasBody) return fail('missing-body', 'PUBLISH without SIP-If-Match needs a body');

  let doc: unknown;
  let contentType = '';
  if (hasBody) {
    const ct = req.contentType;
    if (ct === undefined || !pkg.publishContentTypes.some((t) => sameMediaType(ct, t))) {
      return fail('unsupported-media-type', `${pkg.name} accepts ${pkg.publishContentTypes.join(', ')}`, [
        { name: 'Accept', value: pkg.publishContentTypes.join(', ') },
      ]);
    }
    const parsed = pkg.parse(req.body as string, ct, xmlLimits);
    if (!parsed.ok) return parsed;
    doc = parsed.value;
    contentType = pkg.publishContentTypes.find((t) => sameMediaType(ct, t)) ?? ct;
  }

  let existing: PublicationRecord | undefined;
  if (ifMatch) {
    existing = ctx.store.publication(ctx.resource, pkg.name, ifMatch);
    if (!existing || existing.expiresAt <= ctx.now) return fail('unknown-etag', `no live publication with entity-tag ${ifMatch}`);
  }

  const etag = ids.newEtag();
  const granted = expires.value;
  let changed = false;

  if (existing && granted === 0) {
    // Remove (RFC 3903 §4.5).
    ctx.store.removePublication(existing);
    changed = true;
  } else if (existing) {
    // Refresh (no body) or modify (body): same state under a new tag.
    const now = ctx.now;
    const next: PublicationRecord = {
      ...existing,
      etag,
      expiresAt: now + granted * 1000,
      updatedAt: now,
      ...(hasBody ? { doc, contentType, order: ctx.eventSeq() } : {}),
    };
    ctx.store.removePublication(existing);
    ctx.store.addPublication(next);
    changed = hasBody;
  } else if (granted > 0) {
    // Initial (RFC 3903 §4.2).
    const count = ctx.store.resource(ctx.resource).pubs[pkg.name] ?? 0;
    if (count >= config.limits.maxPublicationsPerResource) {
      return fail('limit-exceeded', `at most ${config.limits.maxPublicationsPerResource} publications per resource`);
    }
    ctx.store.addPublication({
      etag,
      resource: ctx.resource,
      event: pkg.name,
      expiresAt: ctx.now + granted * 1000,
      order: ctx.eventSeq(),
      contentType,
      doc,
      createdAt: ctx.now,
      updatedAt: ctx.now,
    });
    changed = true;
  }
  // else: an initial publication that expires at once; nothing is stored.

  if (changed) {
    const state = recompose(ctx, pkg);
    if (state) stateChanged(ctx, pkg, state);
  }
  return ok({
    status: 200,
    reason: sipReason(200),
    headers: [
      { name: 'SIP-ETag', value: etag },
      { name: 'Expires', value: String(granted) },
    ],
  });
}
