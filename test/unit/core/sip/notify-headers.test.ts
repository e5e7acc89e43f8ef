/**
 * The constant header block of a dialog's NOTIFYs (core/sip/notify-headers.ts):
 * rendered once per dialog, parsed back for the typed view.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Notify } from '../../../../core/contract.js';
import { notifyHeaders, parseDialogHeaders, renderDialogHeaders, type DialogHeaderFields } from '../../../../core/sip/notify-headers.js';

const FIELDS: DialogHeaderFields = {
  from: '<sip:alice@example.com>;tag=ps-8f2a',
  to: '"Bob" <sip:bob@example.com>;tag=wf1',
  callId: 'a84b4c76e66710@pc33.example.com',
  route: ['<sip:p1.example.net;lr>', '<sip:p2.example.net;lr;transport=tcp>'],
  contact: '<sip:192.0.2.1:5060>',
  event: 'presence;id=7',
};

describe('renderDialogHeaders', () => {
  it('renders From, To, Call-ID, each Route, Contact and Event, in that order, CRLF-terminated', () => {
    expect(renderDialogHeaders(FIELDS)).toBe(
      'From: <sip:alice@example.com>;tag=ps-8f2a\r\n' +
        'To: "Bob" <sip:bob@example.com>;tag=wf1\r\n' +
        'Call-ID: a84b4c76e66710@pc33.example.com\r\n' +
        'Route: <sip:p1.example.net;lr>\r\n' +
        'Route: <sip:p2.example.net;lr;transport=tcp>\r\n' +
        'Contact: <sip:192.0.2.1:5060>\r\n' +
        'Event: presence;id=7\r\n',
    );
  });

  it('has no Route line without a route set', () => {
    const text = renderDialogHeaders({ ...FIELDS, route: [] });
    expect(text).not.toContain('Route:');
    expect(text.split('\r\n')).toHaveLength(6);
  });
});

describe('parseDialogHeaders', () => {
  it('parses a rendered block back', () => {
    expect(parseDialogHeaders(renderDialogHeaders(FIELDS))).toEqual(FIELDS);
  });

  it('keeps values that contain ": " and ignores unknown or malformed lines', () => {
    const block = 'From: "Ops: NOC" <sip:noc@example.com>;tag=1\r\nMax-Forwards: 70\r\ngarbage\r\nEvent: presence\r\n';
    expect(parseDialogHeaders(block)).toEqual({ from: '"Ops: NOC" <sip:noc@example.com>;tag=1', to: '', callId: '', route: [], contact: '', event: 'presence' });
  });

  it('gives empty fields for an empty block', () => {
    expect(parseDialogHeaders('')).toEqual({ from: '', to: '', callId: '', route: [], contact: '', event: '' });
  });

  it('round-trips any header values without CR or LF', () => {
    const value = fc.string({ unit: fc.oneof(fc.constantFrom(':', ' ', ';', '"', '<', '>', '\t', 'é', '\u{1f600}'), fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 })), maxLength: 30 });
    const fields = fc.record({ from: value, to: value, callId: value, route: fc.array(value, { maxLength: 4 }), contact: value, event: value });
    fc.assert(
      fc.property(fields, (f) => {
        expect(parseDialogHeaders(renderDialogHeaders(f))).toEqual(f);
      }),
      { numRuns: 200 },
    );
  });
});

describe('notifyHeaders', () => {
  it('adds the CSeq and Subscription-State of the NOTIFY to the dialog headers', () => {
    const n: Notify = {
      subscriptionId: 'n1.abc',
      resource: 'sip:alice@example.com',
      event: 'presence',
      requestUri: 'sip:bob@192.0.2.20:5062',
      nextHop: 'sip:p1.example.net;lr',
      cseq: 42,
      subscriptionState: 'active;expires=3599',
      dialogHeaders: renderDialogHeaders(FIELDS),
      terminal: false,
      fullState: true,
    };
    expect(notifyHeaders(n)).toEqual({ ...FIELDS, cseq: 42, subscriptionState: 'active;expires=3599' });
  });
});
