/**
 * The error catalogue (core/errors.ts): every code maps to a SIP and HTTP
 * status with a real reason phrase, replies carry the protocol headers, and
 * codes the core does not know (a newer worker) become 500.
 */
import { describe, expect, it } from 'vitest';
import { errorCatalogue, errorReply, fail, isErrorCode, ok, presenceError, type ErrorCode } from '../../../core/errors.js';
import { httpReason, sipReason } from '../../../core/reason-phrases.js';

const CLASS_DEFAULTS = ['Provisional', 'Success', 'Redirection', 'Client Error', 'Server Error', 'Global Failure'];
const codes = Object.keys(errorCatalogue) as ErrorCode[];

describe('errorCatalogue', () => {
  it('has the codes the handlers use', () => {
    expect(codes.length).toBeGreaterThanOrEqual(20);
    for (const c of ['bad-event', 'interval-too-brief', 'unknown-etag', 'no-such-subscription', 'overloaded', 'timeout', 'internal'] as const) expect(codes).toContain(c);
  });

  it.each(codes)('%s maps to a final SIP error status with a reason phrase from the table', (code) => {
    const spec = errorCatalogue[code];
    expect(Number.isInteger(spec.sip)).toBe(true);
    expect(spec.sip).toBeGreaterThanOrEqual(400);
    expect(spec.sip).toBeLessThan(700);
    const reason = sipReason(spec.sip);
    expect(CLASS_DEFAULTS).not.toContain(reason);
    expect(reason.length).toBeGreaterThan(0);
  });

  it.each(codes)('%s maps to an HTTP error status with a reason phrase from the table', (code) => {
    const spec = errorCatalogue[code];
    expect(spec.http).toBeGreaterThanOrEqual(400);
    expect(spec.http).toBeLessThan(600);
    expect(CLASS_DEFAULTS).not.toContain(httpReason(spec.http));
    expect(spec.summary.length).toBeGreaterThan(0);
  });

  it.each<[ErrorCode, number, string]>([
    ['unknown-etag', 412, 'Conditional Request Failed'],
    ['interval-too-brief', 423, 'Interval Too Brief'],
    ['bad-event', 489, 'Bad Event'],
    ['no-such-subscription', 481, 'Call/Transaction Does Not Exist'],
    ['body-too-large', 413, 'Request Entity Too Large'],
    ['unsupported-media-type', 415, 'Unsupported Media Type'],
    ['not-acceptable', 406, 'Not Acceptable'],
    ['forbidden', 403, 'Forbidden'],
    ['method-not-allowed', 405, 'Method Not Allowed'],
    ['overloaded', 503, 'Service Unavailable'],
    ['timeout', 503, 'Service Unavailable'],
    ['store-failure', 500, 'Server Internal Error'],
  ])('errorReply(%s) is %d %s', (code, status, reason) => {
    expect(errorReply({ code })).toEqual({ status, reason, headers: [] });
  });
});

describe('errorReply', () => {
  it('carries the protocol headers of the error', () => {
    const headers = [{ name: 'Min-Expires', value: '60' }];
    expect(errorReply(presenceError('interval-too-brief', 'minimum is 60s', headers))).toEqual({ status: 423, reason: 'Interval Too Brief', headers });
    const allow = [
      { name: 'Allow-Events', value: 'presence, presence.winfo' },
      { name: 'Accept', value: 'application/pidf+xml' },
    ];
    expect(errorReply({ code: 'bad-event', headers: allow }).headers).toEqual(allow);
  });

  it('answers 500 for a code it does not know, still with the headers', () => {
    expect(errorReply({ code: 'quota-exceeded-v2' })).toEqual({ status: 500, reason: 'Server Internal Error', headers: [] });
    const retry = [{ name: 'Retry-After', value: '5' }];
    expect(errorReply({ code: 'quota-exceeded-v2', headers: retry }).headers).toEqual(retry);
  });

  it('does not mistake Object.prototype names for codes', () => {
    for (const code of ['toString', 'constructor', '__proto__', 'hasOwnProperty']) {
      expect(isErrorCode(code)).toBe(false);
      expect(errorReply({ code }).status).toBe(500);
    }
  });
});

describe('isErrorCode', () => {
  it('is true for every catalogue code and false otherwise', () => {
    for (const c of codes) expect(isErrorCode(c)).toBe(true);
    expect(isErrorCode('')).toBe(false);
    expect(isErrorCode('Bad-Event')).toBe(false);
  });
});

describe('presenceError, ok and fail', () => {
  it('omits absent detail and headers (plain data, no undefined fields)', () => {
    const e = presenceError('forbidden');
    expect(e).toEqual({ code: 'forbidden' });
    expect(Object.keys(e)).toEqual(['code']);
    expect(Object.keys(presenceError('forbidden', 'blocked by pres-rules'))).toEqual(['code', 'detail']);
  });

  it('survives structured clone unchanged (crosses worker threads as data)', () => {
    const e = presenceError('interval-too-brief', 'minimum is 60s', [{ name: 'Min-Expires', value: '60' }]);
    expect(structuredClone(e)).toEqual(e);
  });

  it('builds results', () => {
    expect(ok(3600)).toEqual({ ok: true, value: 3600 });
    expect(fail('unknown-etag', 'no such entity-tag')).toEqual({ ok: false, error: { code: 'unknown-etag', detail: 'no such entity-tag' } });
    expect(fail('interval-too-brief', 'minimum is 60s', [{ name: 'Min-Expires', value: '60' }])).toEqual({
      ok: false,
      error: { code: 'interval-too-brief', detail: 'minimum is 60s', headers: [{ name: 'Min-Expires', value: '60' }] },
    });
  });
});
