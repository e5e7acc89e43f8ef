/**
 * integrations/kamailio/delivery/sip-message.ts: NOTIFY/OPTIONS formatting,
 * response parsing (hostile input included) and TCP stream framing.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Notify } from '../../../../../core/contract.js';
import { renderDialogHeaders } from '../../../../../core/sip/notify-headers.js';
import {
  DEFAULT_PARSE_LIMITS,
  SipFormatError,
  SipStreamFramer,
  type ViaFields,
  destinationUri,
  formatNotify,
  formatOptions,
  parseMessage,
  parseResponse,
} from '../../../../../integrations/kamailio/delivery/sip-message.js';

const VIA: ViaFields = { transport: 'udp', host: '127.0.0.1', port: 5070, branch: 'z9hG4bKabcdefghijklmnop' };

function notify(o: Partial<Notify> = {}): Notify {
  return {
    subscriptionId: 'sub-1',
    resource: 'sip:alice@example.com',
    event: 'presence',
    requestUri: 'sip:bob@192.0.2.20:5062;transport=udp',
    nextHop: 'sip:bob@192.0.2.20:5062;transport=udp',
    cseq: 7,
    subscriptionState: 'active;expires=599',
    dialogHeaders: renderDialogHeaders({
      from: '"Älice" <sip:alice@example.com>;tag=ourtag1',
      to: '<sip:bob@example.com>;tag=theirtag',
      callId: 'call-1@192.0.2.20',
      route: ['<sip:edge1.example.net;lr>', '<sip:edge2.example.net:5070;lr>'],
      contact: '<sip:presence@127.0.0.1:5060>',
      event: 'presence',
    }),
    body: { contentType: 'application/pidf+xml', text: '<presence>Grüße ☕</presence>' },
    terminal: false,
    fullState: true,
    ...o,
  };
}

function response(lines: string[], body = ''): Buffer {
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n${body}`, 'utf8');
}

const OK_200 = [
  'SIP/2.0 200 OK',
  'Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKabcdefghijklmnop;rport=5070;received=127.0.0.1',
  'From: <sip:alice@example.com>;tag=ourtag1',
  'To: <sip:bob@example.com>;tag=theirtag',
  'Call-ID: call-1@192.0.2.20',
  'CSeq: 7 NOTIFY',
  'Server: sipp',
  'Content-Length: 0',
];

describe('formatNotify', () => {
  it('writes the request line, our Via, the dialog block verbatim, CSeq, Subscription-State, UA and a byte-exact body', () => {
    const n = notify();
    const buf = formatNotify(n, VIA);
    const text = buf.toString('utf8');
    const body = Buffer.from('<presence>Grüße ☕</presence>', 'utf8');
    expect(text).toBe(
      'NOTIFY sip:bob@192.0.2.20:5062;transport=udp SIP/2.0\r\n' +
        'Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKabcdefghijklmnop;rport\r\n' +
        'Max-Forwards: 70\r\n' +
        n.dialogHeaders +
        'CSeq: 7 NOTIFY\r\n' +
        'Subscription-State: active;expires=599\r\n' +
        'User-Agent: presenced\r\n' +
        'Content-Type: application/pidf+xml\r\n' +
        `Content-Length: ${body.length}\r\n` +
        '\r\n' +
        '<presence>Grüße ☕</presence>',
    );
    expect(body.length).toBeGreaterThan('<presence>Grüße ☕</presence>'.length); // bytes, not UTF-16 units
    expect(buf.subarray(buf.length - body.length).equals(body)).toBe(true);
    // the dialog block keeps its order: From, To, Call-ID, Route, Route, Contact, Event
    expect([...text.matchAll(/^(From|To|Call-ID|Route|Contact|Event):/gm)].map((m) => m[1])).toEqual([
      'From', 'To', 'Call-ID', 'Route', 'Route', 'Contact', 'Event',
    ]);
  });

  it('without body: Content-Length 0 and no Content-Type; TCP in the Via', () => {
    const { body: _omit, ...rest } = notify();
    const text = formatNotify({ ...rest, subscriptionState: 'pending' }, { ...VIA, transport: 'tcp', port: 40000 }).toString('utf8');
    expect(text).toContain('Via: SIP/2.0/TCP 127.0.0.1:40000;branch=z9hG4bKabcdefghijklmnop;rport\r\n');
    expect(text).toContain('Subscription-State: pending\r\n');
    expect(text).not.toContain('Content-Type');
    expect(text.endsWith('Content-Length: 0\r\n\r\n')).toBe(true);
  });

  it('adds X-Presenced-Dst for a forced destination (IPv4 and bracketed IPv6)', () => {
    const v4 = formatNotify(notify({ destination: { transport: 'udp', address: '198.51.100.7', port: 40123 } }), VIA).toString();
    expect(v4).toContain('\r\nX-Presenced-Dst: sip:198.51.100.7:40123;transport=udp\r\n');
    const v6 = formatNotify(notify({ destination: { transport: 'tcp', address: '2001:db8::7', port: 5060 } }), VIA).toString();
    expect(v6).toContain('\r\nX-Presenced-Dst: sip:[2001:db8::7]:5060;transport=tcp\r\n');
    expect(formatNotify(notify(), VIA).toString()).not.toContain('X-Presenced-Dst');
    expect(destinationUri({ transport: 'tls', address: '[::1]', port: 5061 })).toBe('sip:[::1]:5061;transport=tls');
  });

  it('brackets an IPv6 Via host', () => {
    expect(formatNotify(notify(), { ...VIA, host: '::1' }).toString()).toContain('Via: SIP/2.0/UDP [::1]:5070;branch=');
  });

  it.each([
    ['CRLF in the Request-URI', notify({ requestUri: 'sip:bob@x\r\nVia: evil' })],
    ['space in the Request-URI', notify({ requestUri: 'sip:bob@x SIP/2.0' })],
    ['CRLF in Subscription-State', notify({ subscriptionState: 'active\r\nX: y' })],
    ['empty Subscription-State', notify({ subscriptionState: ' ' })],
    ['bare LF in dialog headers', notify({ dialogHeaders: 'From: a\nTo: b\r\n' })],
    ['bare CR in dialog headers', notify({ dialogHeaders: 'From: a\rTo: b\r\n' })],
    ['empty line in dialog headers', notify({ dialogHeaders: 'From: a\r\n\r\nINVITE sip:x SIP/2.0\r\n' })],
    ['dialog headers starting with an empty line', notify({ dialogHeaders: '\r\nFrom: a\r\n' })],
    ['dialog headers not CRLF-terminated', notify({ dialogHeaders: 'From: a\r\nTo: b' })],
    ['NUL in dialog headers', notify({ dialogHeaders: 'From: a\u0000\r\n' })],
    ['empty dialog headers', notify({ dialogHeaders: '' })],
    ['CRLF in Content-Type', notify({ body: { contentType: 'text/plain\r\nX: y', text: '' } })],
    ['negative CSeq', notify({ cseq: -1 })],
    ['fractional CSeq', notify({ cseq: 1.5 })],
    ['CSeq above 2^31-1', notify({ cseq: 2 ** 31 })],
    ['bad destination port', notify({ destination: { transport: 'udp', address: '192.0.2.1', port: 0 } })],
    ['bad destination address', notify({ destination: { transport: 'udp', address: 'a b', port: 5060 } })],
  ])('refuses %s with SipFormatError', (_what, n) => {
    expect(() => formatNotify(n, VIA)).toThrow(SipFormatError);
  });

  it('refuses a branch without the magic cookie and a bad Via port', () => {
    expect(() => formatNotify(notify(), { ...VIA, branch: 'abc' })).toThrow(SipFormatError);
    expect(() => formatNotify(notify(), { ...VIA, port: 0 })).toThrow(SipFormatError);
  });

  it('what it writes parses back as a NOTIFY request, for arbitrary printable values', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom(...'abcdefgh;=.-_ äöü東京'.split('')), maxLength: 40 }),
        fc.string({ maxLength: 200 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        (state, text, cseq) => {
          const n = notify({ subscriptionState: `active;x=${state}`, body: { contentType: 'text/plain', text }, cseq });
          const buf = formatNotify(n, VIA);
          const r = parseMessage(buf);
          expect(r).toEqual({ ok: true, kind: 'request', method: 'NOTIFY' });
          const head = buf.indexOf('\r\n\r\n');
          expect(buf.length - head - 4).toBe(Buffer.byteLength(text, 'utf8'));
          expect(buf.toString('utf8')).toContain(`\r\nCSeq: ${cseq} NOTIFY\r\n`);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('formatOptions', () => {
  it('writes a body-less OPTIONS to the proxy', () => {
    const text = formatOptions({ requestUri: 'sip:127.0.0.1:5060', callId: 'ka-1', fromTag: 'ft1', cseq: 3 }, VIA).toString();
    expect(text).toBe(
      'OPTIONS sip:127.0.0.1:5060 SIP/2.0\r\n' +
        'Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKabcdefghijklmnop;rport\r\n' +
        'Max-Forwards: 70\r\n' +
        'From: <sip:presenced@127.0.0.1>;tag=ft1\r\n' +
        'To: <sip:127.0.0.1:5060>\r\n' +
        'Call-ID: ka-1\r\n' +
        'CSeq: 3 OPTIONS\r\n' +
        'User-Agent: presenced\r\n' +
        'Content-Length: 0\r\n\r\n',
    );
    expect(() => formatOptions({ requestUri: 'sip:x', callId: 'a\r\nb', fromTag: 't', cseq: 1 }, VIA)).toThrow(SipFormatError);
  });
});

describe('parseMessage / parseResponse', () => {
  it('reads status, reason, top Via branch, CSeq, Call-ID, Content-Length', () => {
    expect(parseResponse(response(OK_200))).toEqual({
      status: 200,
      reason: 'OK',
      branch: 'z9hG4bKabcdefghijklmnop',
      cseq: 7,
      method: 'NOTIFY',
      callId: 'call-1@192.0.2.20',
      contentLength: 0,
    });
  });

  it('reads Retry-After delta-seconds with a comment or parameters', () => {
    const base = OK_200.map((l) => (l === 'SIP/2.0 200 OK' ? 'SIP/2.0 503 Service Unavailable' : l));
    expect(parseResponse(response([...base, 'Retry-After: 18000']))?.retryAfter).toBe(18000);
    expect(parseResponse(response([...base, 'Retry-After: 120 (I am in a meeting);duration=3600']))?.retryAfter).toBe(120);
    expect(parseResponse(response([...base, 'Retry-After: 30;duration=10']))?.retryAfter).toBe(30);
    expect(parseResponse(response([...base, 'Retry-After: soon']))?.retryAfter).toBeUndefined();
    expect(parseResponse(response([...base, 'Retry-After: 99999999999']))?.retryAfter).toBeUndefined();
    expect(parseResponse(response(base))?.retryAfter).toBeUndefined();
  });

  it('takes the branch of the top-most Via: first field, first comma-separated value; compact forms; folding', () => {
    const lines = (vias: string[]): string[] => ['SIP/2.0 481 Call/Transaction Does Not Exist', ...vias, 'CSeq: 7 NOTIFY', 'l: 0'];
    expect(parseResponse(response(lines(['Via: SIP/2.0/UDP a;branch=z9hG4bKtop, SIP/2.0/UDP b;branch=z9hG4bKsecond'])))?.branch).toBe('z9hG4bKtop');
    expect(parseResponse(response(lines(['v: SIP/2.0/TCP a:5060;rport=1;BRANCH=z9hG4bKcompact', 'Via: SIP/2.0/UDP b;branch=z9hG4bKx'])))?.branch).toBe(
      'z9hG4bKcompact',
    );
    expect(parseResponse(response(lines(['Via: SIP/2.0/UDP a', '  ;branch=z9hG4bKfolded'])))?.branch).toBe('z9hG4bKfolded');
    expect(parseResponse(response(lines(['Via:SIP / 2.0 / UDP a;branch=z9hG4bKspaces'])))?.branch).toBe('z9hG4bKspaces');
    expect(parseResponse(response(lines(['Via: SIP/2.0/UDP a;x="q,;branch=z9hG4bKfake";branch=z9hG4bKreal'])))?.branch).toBe('z9hG4bKreal');
  });

  it('tells requests apart (method only)', () => {
    expect(parseMessage(Buffer.from('OPTIONS sip:presenced@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP x;branch=z9hG4bK1\r\n\r\n'))).toEqual({
      ok: true,
      kind: 'request',
      method: 'OPTIONS',
    });
  });

  it.each([
    ['no header end', Buffer.from('SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\nCSeq: 1 NOTIFY\r\n')],
    ['no Via', response(['SIP/2.0 200 OK', 'CSeq: 1 NOTIFY'])],
    ['Via without branch', response(['SIP/2.0 200 OK', 'Via: SIP/2.0/UDP a;rport', 'CSeq: 1 NOTIFY'])],
    ['Via that is not SIP/2.0', response(['SIP/2.0 200 OK', 'Via: HTTP/1.1/UDP a;branch=z9hG4bK1', 'CSeq: 1 NOTIFY'])],
    ['no CSeq', response(['SIP/2.0 200 OK', 'Via: SIP/2.0/UDP a;branch=z9hG4bK1'])],
    ['two CSeq', response(['SIP/2.0 200 OK', 'Via: SIP/2.0/UDP a;branch=z9hG4bK1', 'CSeq: 1 NOTIFY', 'CSeq: 2 NOTIFY'])],
    ['CSeq without method', response(['SIP/2.0 200 OK', 'Via: SIP/2.0/UDP a;branch=z9hG4bK1', 'CSeq: 1'])],
    ['CSeq out of range', response(['SIP/2.0 200 OK', 'Via: SIP/2.0/UDP a;branch=z9hG4bK1', 'CSeq: 4294967296 NOTIFY'])],
    ['status 700', response(['SIP/2.0 700 Nope', 'Via: SIP/2.0/UDP a;branch=z9hG4bK1', 'CSeq: 1 NOTIFY'])],
    ['status 99', response(['SIP/2.0 099 Nope', 'Via: SIP/2.0/UDP a;branch=z9hG4bK1', 'CSeq: 1 NOTIFY'])],
    ['SIP/3.0', response(['SIP/3.0 200 OK', 'Via: SIP/2.0/UDP a;branch=z9hG4bK1', 'CSeq: 1 NOTIFY'])],
    ['control character in the reason', response(['SIP/2.0 200 O\u0001K', 'Via: SIP/2.0/UDP a;branch=z9hG4bK1', 'CSeq: 1 NOTIFY'])],
    ['header without colon', response(['SIP/2.0 200 OK', 'Via: SIP/2.0/UDP a;branch=z9hG4bK1', 'garbage', 'CSeq: 1 NOTIFY'])],
    ['continuation first', response(['SIP/2.0 200 OK', ' folded', 'Via: SIP/2.0/UDP a;branch=z9hG4bK1', 'CSeq: 1 NOTIFY'])],
    ['bad Content-Length', response([...OK_200.slice(0, -1), 'Content-Length: -1'])],
    ['conflicting Content-Length', response([...OK_200, 'l: 5'], 'hello')],
    ['Content-Length beyond the datagram', response([...OK_200.slice(0, -1), 'Content-Length: 10'], 'short')],
    ['Content-Length above the limit', response([...OK_200.slice(0, -1), `Content-Length: ${DEFAULT_PARSE_LIMITS.maxBodyBytes + 1}`], 'x'.repeat(DEFAULT_PARSE_LIMITS.maxBodyBytes + 1))],
    ['header section too large', response([...OK_200, `X-Big: ${'a'.repeat(DEFAULT_PARSE_LIMITS.maxHeaderBytes)}`])],
    ['too many header lines', response([...OK_200, ...Array.from({ length: 300 }, (_, i) => `X-${i}: y`)])],
    ['empty input', Buffer.alloc(0)],
    ['binary junk', Buffer.from([0, 1, 2, 255, 13, 10, 13, 10])],
  ])('refuses %s without throwing', (_what, buf) => {
    const r = parseMessage(buf);
    expect(r.ok).toBe(false);
  });

  it('accepts a body shorter than the datagram (extra bytes ignored) and non-UTF-8 bytes in unread headers', () => {
    const r = parseResponse(response([...OK_200.slice(0, -1), 'Content-Length: 3', 'X-Latin: caf\u00e9'], 'abcdef'));
    expect(r?.status).toBe(200);
    const raw = Buffer.concat([Buffer.from('SIP/2.0 404 Not Found\r\nVia: SIP/2.0/UDP a;branch=z9hG4bKq\r\nX: '), Buffer.from([0xff, 0xfe]), Buffer.from('\r\nCSeq: 1 OPTIONS\r\n\r\n')]);
    expect(parseResponse(raw)).toMatchObject({ status: 404, branch: 'z9hG4bKq', method: 'OPTIONS' });
  });

  it('never throws on arbitrary bytes or on mutated responses, and stays within its limits', () => {
    const valid = response(OK_200);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 2000 }).map((a) => Buffer.from(a)),
          fc
            .array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 })
            .map((muts) => {
              const b = Buffer.from(valid);
              for (const [i, v] of muts) b[i] = v;
              return b;
            }),
          fc.string({ maxLength: 500 }).map((s) => Buffer.from(`SIP/2.0 200 OK\r\n${s}\r\n\r\n`, 'utf8')),
        ),
        (buf) => {
          const r = parseMessage(buf);
          if (r.ok && r.kind === 'response') {
            expect(r.response.status).toBeGreaterThanOrEqual(100);
            expect(r.response.status).toBeLessThan(700);
            expect(r.response.branch.length).toBeLessThanOrEqual(256);
            expect(r.response.reason.length).toBeLessThanOrEqual(256);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('parses the status and fields it is given (round trip)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 100, max: 699 }),
        fc.stringMatching(/^[A-Za-z0-9.!%*_+`'~-]{1,40}$/),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.option(fc.integer({ min: 0, max: 2 ** 32 - 1 }), { nil: undefined }),
        (status, branchTail, cseq, retryAfter) => {
          const lines = [
            `SIP/2.0 ${status} Whatever Reason`,
            `Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK${branchTail};rport=5070`,
            `CSeq: ${cseq} NOTIFY`,
            ...(retryAfter !== undefined ? [`Retry-After: ${retryAfter}`] : []),
            'Content-Length: 0',
          ];
          const r = parseResponse(response(lines));
          expect(r).toEqual({
            status,
            reason: 'Whatever Reason',
            branch: `z9hG4bK${branchTail}`,
            cseq,
            method: 'NOTIFY',
            contentLength: 0,
            ...(retryAfter !== undefined ? { retryAfter } : {}),
          });
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('SipStreamFramer', () => {
  const a = response(OK_200);
  const b = response([...OK_200.slice(0, -1), 'Content-Length: 5'], 'hello');
  const c = response(['SIP/2.0 100 Trying', 'Via: SIP/2.0/TCP a;branch=z9hG4bK2', 'CSeq: 2 NOTIFY']); // no Content-Length

  function messages(events: ReturnType<SipStreamFramer['push']>): Buffer[] {
    return events.map((e) => {
      if (e.type !== 'message') throw new Error(`unexpected ${e.error}`);
      return e.data;
    });
  }

  it('splits several messages in one chunk, skipping CRLF keepalives', () => {
    const f = new SipStreamFramer();
    const got = messages(f.push(Buffer.concat([Buffer.from('\r\n\r\n'), a, b, Buffer.from('\r\n'), c])));
    expect(got.map((m) => m.toString())).toEqual([a.toString(), b.toString(), c.toString()]);
    expect(f.buffered).toBe(0);
  });

  it('reassembles a message split at every possible byte', () => {
    const all = Buffer.concat([a, b]);
    for (let cut = 1; cut < all.length; cut++) {
      const f = new SipStreamFramer();
      const got = [...messages(f.push(all.subarray(0, cut))), ...messages(f.push(all.subarray(cut)))];
      expect(got.map((m) => m.toString()), `cut at ${cut}`).toEqual([a.toString(), b.toString()]);
    }
  });

  it('any chunking of a stream yields the same messages (property)', () => {
    const stream = Buffer.concat([a, b, c, a]);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 200 }), (sizes) => {
        const f = new SipStreamFramer();
        const got: Buffer[] = [];
        let off = 0;
        for (let i = 0; off < stream.length; i++) {
          const n = sizes[i % sizes.length] as number;
          got.push(...messages(f.push(stream.subarray(off, off + n))));
          off += n;
        }
        expect(Buffer.concat(got).equals(stream)).toBe(true);
        expect(got).toHaveLength(4);
      }),
    );
  });

  it.each([
    ['a bad start line', Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n')],
    ['a bad Content-Length', Buffer.from('SIP/2.0 200 OK\r\nContent-Length: 1x\r\n\r\n')],
    ['a body above the limit', Buffer.from(`SIP/2.0 200 OK\r\nContent-Length: ${DEFAULT_PARSE_LIMITS.maxBodyBytes + 1}\r\n\r\n`)],
    ['a header section that never ends', Buffer.from(`SIP/2.0 200 OK\r\nX: ${'a'.repeat(DEFAULT_PARSE_LIMITS.maxHeaderBytes + 10)}`)],
  ])('fails on %s and stays failed', (_what, bytes) => {
    const f = new SipStreamFramer();
    const events = f.push(bytes);
    expect(events.at(-1)?.type).toBe('error');
    expect(f.buffered).toBe(0);
    expect(f.push(a)[0]?.type).toBe('error');
  });

  it('holds at most one header section while waiting for its end', () => {
    const f = new SipStreamFramer();
    for (let i = 0; i < 100; i++) {
      const ev = f.push(Buffer.from('X-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n'));
      if (ev.length > 0) {
        expect(ev[0]?.type).toBe('error');
        return;
      }
      expect(f.buffered).toBeLessThanOrEqual(DEFAULT_PARSE_LIMITS.maxHeaderBytes + 3);
    }
    // 100 * 88 bytes < 16 KiB: still waiting, bounded
    expect(f.buffered).toBeLessThanOrEqual(DEFAULT_PARSE_LIMITS.maxHeaderBytes + 3);
  });
});
