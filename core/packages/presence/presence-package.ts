/**
 * The `presence` event package (RFC 3856) with PIDF bodies (RFC 3863) and
 * composition of all live publications (RFC 4479/4480), as a plug-in.
 */
import type { ExpiresPolicy } from '../../config.js';
import { fail } from '../../errors.js';
import type { StatePackage } from '../event-package.js';
import { composePidf } from './pidf-compose.js';
import { parsePidf, pidfFromElement, type PidfDocument } from './pidf-document.js';
import type { XcapDocumentRecord } from '../../store/records.js';
import { neutralPidf } from './pidf-render.js';
import { presencePackageRender } from '../../authz/pres-rules/pres-rules-authorizer.js';

export const PIDF_CONTENT_TYPE = 'application/pidf+xml';

export interface PresencePackageOptions {
  readonly subscribeExpires?: ExpiresPolicy;
  readonly publishExpires?: ExpiresPolicy;
}

export function presencePackage(options: PresencePackageOptions = {}): StatePackage<PidfDocument> {
  return {
    kind: 'state',
    name: 'presence',
    notifyContentType: PIDF_CONTENT_TYPE,
    publishContentTypes: [PIDF_CONTENT_TYPE],
    subscribeExpires: options.subscribeExpires ?? { default: 3600, min: 60, max: 7200 },
    publishExpires: options.publishExpires ?? { default: 3600, min: 60, max: 7200 },
    parse(body, _contentType, limits) {
      if (body.trim() === '') return fail('missing-body', 'empty PIDF body');
      return parsePidf(body, limits);
    },
    aggregate(resource, publications) {
      return composePidf(resource, publications);
    },
    neutral(resource) {
      return neutralPidf(resource);
    },
    render(doc, decision) {
      // RFC 5025 transformations: polite-block → neutral; restricted view → only what the rules grant.
      return presencePackageRender(doc, decision);
    },
    staticState(store, resource) {
      const rec = store.get('xcap', ['pidf-manipulation', 'users', resource, 'index']) as XcapDocumentRecord | undefined;
      if (!rec) return undefined;
      const doc = pidfFromElement(rec.doc);
      return doc.ok ? doc.value : undefined;
    },
  };
}
