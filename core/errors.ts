/**
 * The error catalogue: every failure the presence service can report has one
 * stable code here, with the SIP and HTTP status it maps to. Handlers return
 * `PresenceError` values (data), never throw them, so they cross worker
 * threads intact. Reason phrases come from `reason-phrases.ts`.
 */
import type { SipHeader, SipReply } from './contract.js';
import { sipReason } from './reason-phrases.js';

export interface ErrorSpec {
  /** SIP final response status. */
  readonly sip: number;
  /** HTTP status (XCAP and the admin API). */
  readonly http: number;
  /** One line for humans; `detail` adds the specifics. */
  readonly summary: string;
}

export const errorCatalogue = {
  'malformed-request': { sip: 400, http: 400, summary: 'Malformed request' },
  'missing-header': { sip: 400, http: 400, summary: 'A required header field is missing' },
  'invalid-header': { sip: 400, http: 400, summary: 'A header field value is invalid' },
  'missing-body': { sip: 400, http: 400, summary: 'An initial publication needs a body' },
  'malformed-body': { sip: 400, http: 400, summary: 'The body is not well-formed XML' },
  'invalid-document': { sip: 400, http: 400, summary: 'The body is not a valid document of the event package' },
  'body-too-large': { sip: 413, http: 413, summary: 'The body exceeds the configured limit' },
  'unsupported-media-type': { sip: 415, http: 415, summary: 'Unsupported Content-Type' },
  'interval-too-brief': { sip: 423, http: 400, summary: 'Expiration interval below the minimum' },
  'unknown-etag': { sip: 412, http: 412, summary: 'Unknown or expired entity-tag' },
  'bad-event': { sip: 489, http: 400, summary: 'Unknown or unsupported event package' },
  'not-acceptable': { sip: 406, http: 406, summary: 'No acceptable body type for the event package' },
  'no-such-subscription': { sip: 481, http: 404, summary: 'Unknown subscription dialog' },
  'out-of-order': { sip: 500, http: 409, summary: 'CSeq lower than the previous request in the dialog' },
  'forbidden': { sip: 403, http: 403, summary: 'Not authorized' },
  'limit-exceeded': { sip: 403, http: 403, summary: 'A configured per-resource limit was reached' },
  'method-not-allowed': { sip: 405, http: 405, summary: 'Method not supported' },
  'overloaded': { sip: 503, http: 503, summary: 'Overloaded, retry later' },
  'timeout': { sip: 503, http: 503, summary: 'Processing did not finish in time' },
  'store-failure': { sip: 500, http: 500, summary: 'The state store failed' },
  // XCAP (RFC 4825): 409 conflicts carry an application/xcap-error+xml body (§11) naming the condition.
  'not-found': { sip: 404, http: 404, summary: 'No such document or node' },
  'precondition-failed': { sip: 412, http: 412, summary: 'If-Match / If-None-Match precondition failed' },
  'unauthorized': { sip: 401, http: 401, summary: 'Authentication required' },
  'xcap-not-well-formed': { sip: 400, http: 409, summary: 'XCAP: the body is not well-formed XML' },
  'xcap-not-xml-frag': { sip: 400, http: 409, summary: 'XCAP: the body is not a single XML element' },
  'xcap-not-xml-att-value': { sip: 400, http: 409, summary: 'XCAP: the body is not a valid attribute value' },
  'xcap-not-utf-8': { sip: 400, http: 409, summary: 'XCAP: the body is not UTF-8' },
  'xcap-schema-validation-error': { sip: 400, http: 409, summary: 'XCAP: the document would not be valid for its application usage' },
  'xcap-uniqueness-failure': { sip: 400, http: 409, summary: 'XCAP: a uniqueness constraint would be violated' },
  'xcap-constraint-failure': { sip: 400, http: 409, summary: 'XCAP: a constraint of the application usage would be violated' },
  'xcap-cannot-insert': { sip: 400, http: 409, summary: 'XCAP: the node cannot be inserted at that position' },
  'xcap-cannot-delete': { sip: 400, http: 409, summary: 'XCAP: the node cannot be deleted' },
  'xcap-no-parent': { sip: 400, http: 409, summary: 'XCAP: the parent of the node does not exist' },
  'internal': { sip: 500, http: 500, summary: 'Internal error' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof errorCatalogue;

/** A failure as data. `headers` are protocol headers the reply must carry (Min-Expires, Accept…). */
export interface PresenceError {
  readonly code: ErrorCode;
  readonly detail?: string;
  readonly headers?: readonly SipHeader[];
}

export function presenceError(code: ErrorCode, detail?: string, headers?: readonly SipHeader[]): PresenceError {
  const base: { code: ErrorCode; detail?: string; headers?: readonly SipHeader[] } = { code };
  if (detail !== undefined) base.detail = detail;
  if (headers !== undefined) base.headers = headers;
  return base;
}

export function isErrorCode(code: string): code is ErrorCode {
  return Object.prototype.hasOwnProperty.call(errorCatalogue, code);
}

/** The SIP reply for an error; unknown codes (e.g. from a newer worker) map to 500. */
export function errorReply(error: { readonly code: string; readonly headers?: readonly SipHeader[] }): SipReply {
  const spec: ErrorSpec = isErrorCode(error.code) ? errorCatalogue[error.code] : errorCatalogue.internal;
  return { status: spec.sip, reason: sipReason(spec.sip), headers: error.headers ?? [] };
}

/** Either a value or a `PresenceError`. */
export type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: PresenceError };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail<T = never>(code: ErrorCode, detail?: string, headers?: readonly SipHeader[]): Result<T> {
  return { ok: false, error: presenceError(code, detail, headers) };
}
