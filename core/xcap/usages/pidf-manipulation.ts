/**
 * The `pidf-manipulation` application usage (RFC 4827): a presentity's
 * static presence, a PIDF document (RFC 3863 with the RFC 4479 data model)
 * that the presence server composes into the published state.
 *
 * AUID `pidf-manipulation`, MIME `application/pidf+xml`, default namespace
 * `urn:ietf:params:xml:ns:pidf`, users tree only (conventionally `index`).
 * Validation (RFC 4827 §4.3) is the PIDF model of
 * `core/packages/presence/pidf-document.ts` (`pidfFromElement`): the same
 * rules as for PUBLISH bodies, so that whatever is stored can be composed.
 */
import type { XmlElement } from '../../xml/xml-node.js';
import { CIPID_NS, DATA_MODEL_NS, PIDF_NS, RPID_NS, pidfFromElement } from '../../packages/presence/pidf-document.js';
import type { XcapResult } from '../xcap-document.js';
import { VALID, schemaError, type AppUsage } from './app-usage.js';

export const PIDF_MIME = 'application/pidf+xml';
export const PIDF_MANIPULATION_AUID = 'pidf-manipulation';

/** Validates a pidf-manipulation document (RFC 4827 §4.3). */
export function validatePidfManipulation(doc: XmlElement): XcapResult<void> {
  const r = pidfFromElement(doc);
  return r.ok ? VALID : schemaError(r.error.detail ?? 'not a valid PIDF document');
}

export const pidfManipulationUsage: AppUsage = {
  auid: PIDF_MANIPULATION_AUID,
  mimeType: PIDF_MIME,
  defaultNamespace: PIDF_NS,
  namespaces: [PIDF_NS, DATA_MODEL_NS, RPID_NS, CIPID_NS],
  usersOnly: true,
  documentName: 'index',
  validate: (doc) => validatePidfManipulation(doc),
};
