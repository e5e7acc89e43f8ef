import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import type { SourceAddress } from '../../../../core/contract.js';
import { natDestination, routeInDialog, routeSetFromRecordRoute } from '../../../../core/sip/dialog-routing.js';

const TARGET = 'sip:alice@198.51.100.7:5060;transport=udp';

describe('routeSetFromRecordRoute (RFC 3261 §12.1.1)', () => {
  it('keeps the Record-Route order, top-most first, splitting comma lists', () => {
    expect(
      routeSetFromRecordRoute([
        '<sip:203.0.113.1;r2=on;lr;ftag=a1b2>,<sip:10.0.0.1;r2=on;lr;ftag=a1b2>',
        ' <sip:p2.example.com;lr> ',
      ]),
    ).toEqual(['<sip:203.0.113.1;r2=on;lr;ftag=a1b2>', '<sip:10.0.0.1;r2=on;lr;ftag=a1b2>', '<sip:p2.example.com;lr>']);
  });

  it('keeps rr-params and display names as received', () => {
    expect(routeSetFromRecordRoute(['"Edge, West" <sip:[2001:db8::1];transport=tcp;lr>;foo=bar'])).toEqual([
      '"Edge, West" <sip:[2001:db8::1];transport=tcp;lr>;foo=bar',
    ]);
  });

  it('gives [] without Record-Route', () => {
    expect(routeSetFromRecordRoute([])).toEqual([]);
  });

  it.each([['<sip:p1.example.com;lr'], ['<tel:+123>'], ['<mailto:a@b.example>'], ['<sip:a@b.example>, junk'], ['*']])(
    'rejects %j',
    (v) => {
      expect(routeSetFromRecordRoute([v])).toBeUndefined();
    },
  );

  it('refuses more than 64 routes', () => {
    expect(routeSetFromRecordRoute([Array(64).fill('<sip:p.example.com;lr>').join(',')])).toHaveLength(64);
    expect(routeSetFromRecordRoute([Array(65).fill('<sip:p.example.com;lr>').join(',')])).toBeUndefined();
  });
});

describe('routeInDialog (RFC 3261 §12.2.1.1)', () => {
  it('sends straight to the remote target without a route set', () => {
    expect(routeInDialog(TARGET, [])).toEqual({ requestUri: TARGET, route: [], nextHop: TARGET });
  });

  it('loose-routes when the first route has lr (Kamailio double Record-Route)', () => {
    const rs = ['<sip:203.0.113.1;r2=on;lr>', '<sip:10.0.0.1;r2=on;lr>'];
    expect(routeInDialog(TARGET, rs)).toEqual({ requestUri: TARGET, route: rs, nextHop: 'sip:203.0.113.1;r2=on;lr' });
  });

  it('recognises lr in any case, with a value', () => {
    expect(routeInDialog(TARGET, ['<sip:p1.example.com;LR=on>'])?.requestUri).toBe(TARGET);
  });

  it('strict-routes otherwise: first route becomes the Request-URI, target goes last', () => {
    expect(
      routeInDialog(TARGET, ['<sip:p1.example.com;maddr=10.0.0.9;method=INVITE?Subject=x>', '<sip:p2.example.com;lr>']),
    ).toEqual({
      requestUri: 'sip:p1.example.com;maddr=10.0.0.9',
      route: ['<sip:p2.example.com;lr>', `<${TARGET}>`],
      nextHop: 'sip:p1.example.com;maddr=10.0.0.9',
    });
    expect(routeInDialog(TARGET, ['<sip:p1.example.com>'])).toEqual({
      requestUri: 'sip:p1.example.com',
      route: [`<${TARGET}>`],
      nextHop: 'sip:p1.example.com',
    });
  });

  it('accepts the remote target as a name-addr in angle brackets', () => {
    expect(routeInDialog(`"Alice" <${TARGET}>;expires=3600`, [])?.requestUri).toBe(TARGET);
    expect(routeInDialog(`  ${TARGET}  `, [])?.requestUri).toBe(TARGET);
  });

  it('handles IPv6 targets and routes', () => {
    const r = routeInDialog('sip:bob@[2001:db8::7]:5062;transport=tcp;ob', ['<sip:[2001:db8::1];transport=tcp;lr>'])!;
    expect(r.nextHop).toBe('sip:[2001:db8::1];transport=tcp;lr');
    expect(r.requestUri).toBe('sip:bob@[2001:db8::7]:5062;transport=tcp;ob');
  });

  it.each<[string, string[]]>([
    ['garbage', []],
    ['tel:+12015550123', []],
    ['', []],
    [TARGET, ['<sip:p1.example.com;lr']],
    [TARGET, ['garbage']],
    [TARGET, Array(65).fill('<sip:p.example.com;lr>')],
  ])('rejects target %j with routes %j', (target, rs) => {
    expect(routeInDialog(target, rs)).toBeUndefined();
  });
});

describe('natDestination (RFC 3581 applied to the dialog)', () => {
  const src = (address: string, port = 40312): SourceAddress => ({ transport: 'udp', address, port });

  it('returns the packet source for a private contact seen from another address', () => {
    const s = src('203.0.113.50');
    expect(natDestination('sip:alice@192.168.1.20:5060', [], s)).toBe(s);
    expect(natDestination('<sip:alice@10.0.0.5;transport=tcp>', [], s)).toBe(s);
    expect(natDestination('sip:alice@[fd00::5]:5060', [], s)).toBe(s);
    expect(natDestination('sip:alice@100.64.1.1', [], s)).toBe(s);
  });

  it('returns undefined when the contact equals the source (no NAT)', () => {
    expect(natDestination('sip:alice@192.168.1.20:5062', [], src('192.168.1.20'))).toBeUndefined();
    expect(natDestination('sip:alice@[FD00:0::5]', [], src('fd00::5'))).toBeUndefined();
    expect(natDestination('sip:alice@[fd00::5]', [], src('[fd00::5]'))).toBeUndefined();
    expect(natDestination('sip:alice@192.168.1.2', [], src('::ffff:192.168.1.2'))).toBeUndefined();
  });

  it('returns undefined with a route set, a public contact, a host name or garbage', () => {
    const s = src('203.0.113.50');
    expect(natDestination('sip:alice@192.168.1.20', ['<sip:10.0.0.1;lr>'], s)).toBeUndefined();
    expect(natDestination('sip:alice@198.51.100.7', [], s)).toBeUndefined();
    expect(natDestination('sip:alice@phone.example.com', [], s)).toBeUndefined();
    expect(natDestination('garbage', [], s)).toBeUndefined();
  });

  it('never throws', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), fc.array(fc.string({ maxLength: 30 }), { maxLength: 3 }), (t, rs) => {
        routeInDialog(t, rs);
        routeSetFromRecordRoute(rs);
        natDestination(t, rs, src('203.0.113.50'));
      }),
      { numRuns: 1000 },
    );
  });
});
