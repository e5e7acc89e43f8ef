import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  type SipUri,
  aorOf,
  aorOfUri,
  formatUri,
  hasParam,
  isPrivateAddress,
  parseUri,
  uriParam,
} from '../../../../core/sip/uri.js';

describe('parseUri: RFC 3261 §19.1.3 examples', () => {
  it('parses a plain AOR', () => {
    expect(parseUri('sip:alice@atlanta.com')).toEqual({
      scheme: 'sip',
      user: 'alice',
      host: 'atlanta.com',
      params: [],
      headers: [],
    });
  });

  it('parses password, params and port', () => {
    expect(parseUri('sip:alice:secretword@atlanta.com:5060;transport=tcp')).toEqual({
      scheme: 'sip',
      user: 'alice',
      password: 'secretword',
      host: 'atlanta.com',
      port: 5060,
      params: [['transport', 'tcp']],
      headers: [],
    });
  });

  it('parses URI headers, keeping escapes as written', () => {
    const u = parseUri('sips:alice@atlanta.com?subject=project%20x&priority=urgent');
    expect(u?.scheme).toBe('sips');
    expect(u?.headers).toEqual([
      ['subject', 'project%20x'],
      ['priority', 'urgent'],
    ]);
  });

  it('parses a telephone-subscriber user with password-looking part and user=phone', () => {
    const u = parseUri('sip:+1-212-555-1212:1234@gateway.com;user=phone');
    expect(u?.user).toBe('+1-212-555-1212');
    expect(u?.password).toBe('1234');
    expect(uriParam(u!, 'user')).toBe('phone');
  });

  it('parses a URI without user part, with method param and escaped header', () => {
    const u = parseUri('sip:atlanta.com;method=REGISTER?to=alice%40atlanta.com');
    expect(u).toEqual({
      scheme: 'sip',
      host: 'atlanta.com',
      params: [['method', 'REGISTER']],
      headers: [['to', 'alice%40atlanta.com']],
    });
  });

  it('keeps user-unreserved ";" inside the user part', () => {
    const u = parseUri('sip:alice;day=tuesday@atlanta.com');
    expect(u?.user).toBe('alice;day=tuesday');
    expect(u?.host).toBe('atlanta.com');
    expect(u?.params).toEqual([]);
  });

  it('parses IPv4 hosts', () => {
    expect(parseUri('sip:alice@192.0.2.4')?.host).toBe('192.0.2.4');
  });
});

describe('parseUri: real-world URIs', () => {
  it('parses a Kamailio Record-Route URI with lr and r2=on', () => {
    const u = parseUri('sip:10.0.0.1;lr;r2=on;ftag=as5f3a2b;did=6d1.b2a1')!;
    expect(u.host).toBe('10.0.0.1');
    expect(u.user).toBeUndefined();
    expect(uriParam(u, 'lr')).toBeUndefined();
    expect(hasParam(u, 'lr')).toBe(true);
    expect(uriParam(u, 'r2')).toBe('on');
    expect(uriParam(u, 'did')).toBe('6d1.b2a1');
  });

  it('parses IPv6 references with port and transport', () => {
    const u = parseUri('sip:1001@[2001:db8::10]:5061;transport=tls')!;
    expect(u.host).toBe('[2001:db8::10]');
    expect(u.port).toBe(5061);
    expect(uriParam(u, 'transport')).toBe('tls');
  });

  it('parses an outbound (RFC 5626) contact with ;ob', () => {
    const u = parseUri('sip:alice@192.168.1.20:52341;transport=tcp;ob')!;
    expect(hasParam(u, 'ob')).toBe(true);
    expect(uriParam(u, 'ob')).toBeUndefined();
    expect(uriParam(u, 'transport')).toBe('tcp');
  });

  it('parses a Linphone GRUU contact (colons inside a param value)', () => {
    const u = parseUri('sip:linphone@192.168.1.33:5060;transport=udp;gr=urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6')!;
    expect(uriParam(u, 'gr')).toBe('urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6');
  });

  it('parses an Asterisk contact with host:port inside a param value', () => {
    const u = parseUri('sip:asterisk@10.1.1.1:5060;x-ast-orig-host=10.1.1.1:5060')!;
    expect(uriParam(u, 'X-AST-ORIG-HOST')).toBe('10.1.1.1:5060');
  });

  it('parses a Kamailio alias param and a Bria rinstance', () => {
    const u = parseUri('sip:bria@198.51.100.7:49732;rinstance=4b3f2c1a;transport=TCP;alias=198.51.100.7~49732~2')!;
    expect(uriParam(u, 'rinstance')).toBe('4b3f2c1a');
    expect(uriParam(u, 'alias')).toBe('198.51.100.7~49732~2');
  });

  it('accepts the scheme in any case and trims surrounding LWS', () => {
    const u = parseUri('  SIP:bob@BILOXI.example.com \t')!;
    expect(u.scheme).toBe('sip');
    expect(u.host).toBe('BILOXI.example.com');
  });

  it('parses pres: like sip (RFC 3859)', () => {
    expect(parseUri('pres:alice@example.com')).toEqual({
      scheme: 'pres',
      user: 'alice',
      host: 'example.com',
      params: [],
      headers: [],
    });
  });

  it('tolerates underscores in host labels and a trailing dot', () => {
    expect(parseUri('sip:a@kamailio_proxy')?.host).toBe('kamailio_proxy');
    expect(parseUri('sip:a@example.com.')?.host).toBe('example.com.');
  });

  it('parses escaped characters in user, params and headers (RFC 4475 §3.1.1.1 style)', () => {
    const u = parseUri('sip:%61lice%20@example.com;%6Ca=%41?%68=%20')!;
    expect(u.user).toBe('%61lice%20');
    expect(u.params).toEqual([['%6Ca', '%41']]);
    expect(u.headers).toEqual([['%68', '%20']]);
  });

  it('parses an empty password and an empty header value', () => {
    const u = parseUri('sip:user:@host?subject=')!;
    expect(u.password).toBe('');
    expect(u.headers).toEqual([['subject', '']]);
  });
});

describe('parseUri: tel (RFC 3966)', () => {
  it('parses a global number', () => {
    expect(parseUri('tel:+1-201-555-0123')).toEqual({
      scheme: 'tel',
      user: '+1-201-555-0123',
      host: '',
      params: [],
      headers: [],
    });
  });

  it('parses local numbers with phone-context and other params', () => {
    const u = parseUri('tel:7042;phone-context=example.com')!;
    expect(u.user).toBe('7042');
    expect(uriParam(u, 'phone-context')).toBe('example.com');
    const v = parseUri('TEL:863-1234;phone-context=+1-914-555;ext=22')!;
    expect(v.scheme).toBe('tel');
    expect(uriParam(v, 'ext')).toBe('22');
  });

  it('rejects malformed tel URIs', () => {
    for (const bad of ['tel:', 'tel:+', 'tel:+-', 'tel:+1?x=y', 'tel:xyz', 'tel:+1 212', 'tel:+12;', 'tel:+12;a=', 'tel:+1@host']) {
      expect(parseUri(bad), bad).toBeUndefined();
    }
  });
});

describe('parseUri: invalid input', () => {
  const bad = [
    '',
    'sip:',
    'sip:@host',
    'sip:user@',
    'sip:user@host:',
    'sip:user@host:70000',
    'sip:user@host:050600',
    'sip:user@host;',
    'sip:user@host;=x',
    'sip:user@host;a=',
    'sip:user@ho st',
    'sip:user name@host',
    'sip:user@host?',
    'sip:user@host?a',
    'sip:user@host?=b',
    'http://example.com/',
    'sipx:a@b',
    'sip:us%2user@host',
    'sip:user@host;x=%4',
    'sip:user@[2001:db8::1',
    'sip:user@[::1::2]',
    'sip:user@[::1]x',
    'sip:user@[fe80::1%25eth0]',
    'sip:user@-host.com',
    'sip:user@host-.com',
    'sip:user@a..b',
    'sip:user@1.2.3.256',
    'sip:user@123',
    'sip:user@host.123',
    'sip:a@b@c',
    'sip:user@host>',
    '<sip:user@host>',
    'sip:user@host\r\nVia: x',
    'sip:user:pa:ss@host',
  ];
  it.each(bad)('rejects %j', (text) => {
    expect(parseUri(text)).toBeUndefined();
  });

  it('accepts 64 params / headers and refuses more', () => {
    expect(parseUri('sip:a@b.example' + ';x'.repeat(64))?.params).toHaveLength(64);
    expect(parseUri('sip:a@b.example' + ';x'.repeat(65))).toBeUndefined();
    expect(parseUri('sip:a@b.example?' + Array(64).fill('h=v').join('&'))?.headers).toHaveLength(64);
    expect(parseUri('sip:a@b.example?' + Array(65).fill('h=v').join('&'))).toBeUndefined();
    expect(parseUri('tel:+1' + ';x'.repeat(65))).toBeUndefined();
  });

  it('refuses input over 8 KiB', () => {
    const long = 'sip:' + 'a'.repeat(8200) + '@example.com';
    expect(parseUri(long)).toBeUndefined();
    expect(parseUri('sip:' + 'a'.repeat(8000) + '@example.com')).toBeDefined();
  });
});

describe('formatUri / uriParam / hasParam', () => {
  const samples = [
    'sip:alice@atlanta.com',
    'sip:alice:secretword@atlanta.com:5060;transport=tcp',
    'sips:alice@atlanta.com?subject=project%20x&priority=urgent',
    'sip:10.0.0.1;lr;r2=on;ftag=as5f3a2b',
    'sip:1001@[2001:db8::10]:5061;transport=tls',
    'tel:+1-201-555-0123;ext=5',
    'pres:alice@example.com',
  ];
  it.each(samples)('round-trips %s byte for byte', (text) => {
    expect(formatUri(parseUri(text)!)).toBe(text);
  });

  it('brackets a bare IPv6 host', () => {
    expect(formatUri({ scheme: 'sip', host: '::1', port: 5060, params: [], headers: [] })).toBe('sip:[::1]:5060');
  });

  it('compares parameter names case-insensitively; null when absent', () => {
    const u = parseUri('sip:a@b;Transport=TCP;LR')!;
    expect(uriParam(u, 'transport')).toBe('TCP');
    expect(uriParam(u, 'lr')).toBeUndefined();
    expect(uriParam(u, 'maddr')).toBeNull();
    expect(hasParam(u, 'Lr')).toBe(true);
    expect(hasParam(u, 'maddr')).toBe(false);
  });
});

describe('aorOf', () => {
  const cases: [string, string | undefined][] = [
    ['sip:Alice@Example.COM:5060;transport=tcp?x=y', 'sip:Alice@example.com'],
    ['sips:alice@atlanta.com', 'sip:alice@atlanta.com'],
    ['pres:alice@atlanta.com', 'sip:alice@atlanta.com'],
    ['SIP:bob@BILOXI.com', 'sip:bob@biloxi.com'],
    ['sip:alice:secret@atlanta.com', 'sip:alice@atlanta.com'],
    ['sip:%61lice@atlanta.com', 'sip:alice@atlanta.com'],
    ['sip:%61%6c%69%63%65@atlanta.com', 'sip:alice@atlanta.com'],
    ['sip:al%2fice@atlanta.com', 'sip:al%2Fice@atlanta.com'],
    ['sip:%2b4930123@atlanta.com', 'sip:%2B4930123@atlanta.com'],
    ['sip:alice%20smith@atlanta.com', 'sip:alice%20smith@atlanta.com'],
    ['sip:%7Ealice@atlanta.com', 'sip:~alice@atlanta.com'],
    ['sip:atlanta.com', 'sip:atlanta.com'],
    ['sip:Atlanta.COM;method=REGISTER', 'sip:atlanta.com'],
    ['sip:user@[2001:DB8:0:0::1]:5060', 'sip:user@[2001:db8::1]'],
    ['sip:user@[::FFFF:192.0.2.1]', 'sip:user@[::ffff:192.0.2.1]'],
    ['tel:+1-201-555-0123', 'tel:+12015550123'],
    ['tel:+1(201)555.0123;ext=7', 'tel:+12015550123'],
    ['tel:863-1234;phone-context=+1-914-555', 'tel:8631234;phone-context=+1914555'],
    ['tel:7042;phone-context=Example.COM', 'tel:7042;phone-context=example.com'],
    ['tel:7042', 'tel:7042'],
    ['sip:', undefined],
    ['mailto:alice@example.com', undefined],
  ];
  it.each(cases)('aorOf(%j) = %j', (input, expected) => {
    expect(aorOf(input)).toBe(expected);
  });

  it('keeps the user part case-sensitive', () => {
    expect(aorOf('sip:Bob@x.example')).not.toBe(aorOf('sip:bob@x.example'));
  });

  it('is idempotent', () => {
    fc.assert(
      fc.property(sipUriArb, (u) => {
        const aor = aorOfUri(u);
        expect(aorOf(aor)).toBe(aor);
      }),
    );
  });

  it('equates escaped and unescaped unreserved characters', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-zA-Z0-9\-_.!~*'()]{1,12}$/), (user) => {
        const escaped = [...user].map((c) => '%' + c.charCodeAt(0).toString(16)).join('');
        expect(aorOf(`sip:${escaped}@example.com`)).toBe(`sip:${user}@example.com`);
      }),
    );
  });
});

describe('isPrivateAddress', () => {
  it.each([
    '10.0.0.1',
    '10.255.255.255',
    '172.16.0.0',
    '172.31.255.255',
    '192.168.1.20',
    '100.64.0.1',
    '100.127.255.255',
    '169.254.10.1',
    '127.0.0.1',
    '127.8.9.10',
    'fd00::1',
    '[fc12:3456::1]',
    'fe80::1',
    '[febf::1]',
    '::1',
    '[::1]',
    '::ffff:10.0.0.1',
    '[::ffff:192.168.0.1]',
  ])('%s is private', (host) => {
    expect(isPrivateAddress(host)).toBe(true);
  });

  it.each([
    '8.8.8.8',
    '172.15.255.255',
    '172.32.0.1',
    '100.63.255.255',
    '100.128.0.1',
    '192.169.0.1',
    '169.255.0.1',
    '11.0.0.1',
    '2001:db8::1',
    '[2001:db8::1]',
    'fec0::1',
    'fe00::1',
    '::2',
    '::',
    '::ffff:8.8.8.8',
    'example.com',
    'localhost',
    '',
    '10.0.0',
    '[10.0.0.1]',
  ])('%s is not private', (host) => {
    expect(isPrivateAddress(host)).toBe(false);
  });
});

// ---------------------------------------------------------------- generators

const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const MARK = "-_.!~*'()";
const hexDigit = fc.constantFrom(...'0123456789abcdefABCDEF');
const escapeArb = fc.tuple(hexDigit, hexDigit).map(([a, b]) => '%' + a + b);
const charsOf = (set: string, min: number, max: number) =>
  fc
    .array(fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...set) }, { weight: 1, arbitrary: escapeArb }), {
      minLength: min,
      maxLength: max,
    })
    .map((a) => a.join(''));
const userArb = charsOf(ALNUM + MARK + '&=+$,;?/', 1, 12);
const passwordArb = charsOf(ALNUM + MARK + '&=+$,', 0, 8);
const paramCharsArb = charsOf(ALNUM + MARK + '[]/:&+$', 1, 10);
const hnvArb = (min: number) => charsOf(ALNUM + MARK + '[]/?:+$', min, 10);

const labelArb = fc
  .tuple(
    fc.constantFrom(...ALNUM),
    fc.stringMatching(/^[a-zA-Z0-9-]{0,8}$/),
    fc.constantFrom(...ALNUM),
  )
  .map(([a, mid, b]) => a + mid + b);
const topLabelArb = fc
  .tuple(fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEF'), fc.stringMatching(/^[a-zA-Z0-9]{0,6}$/))
  .map(([a, b]) => a + b);
const hostnameArb = fc
  .tuple(fc.array(labelArb, { maxLength: 3 }), topLabelArb)
  .map(([labels, top]) => [...labels, top].join('.'));
const ipv4Arb = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));
const ipv6Arb = fc
  .array(fc.nat(0xffff), { minLength: 8, maxLength: 8 })
  .map((g) => '[' + g.map((x) => x.toString(16)).join(':') + ']');
const hostArb = fc.oneof(hostnameArb, ipv4Arb, ipv6Arb);

const sipUriArb: fc.Arbitrary<SipUri> = fc
  .record({
    scheme: fc.constantFrom('sip' as const, 'sips' as const, 'pres' as const),
    user: fc.option(fc.tuple(userArb, fc.option(passwordArb, { nil: undefined })), { nil: undefined }),
    host: hostArb,
    port: fc.option(fc.integer({ min: 0, max: 65535 }), { nil: undefined }),
    params: fc.array(fc.tuple(paramCharsArb, fc.option(paramCharsArb, { nil: undefined })), { maxLength: 4 }),
    headers: fc.array(fc.tuple(hnvArb(1), hnvArb(0)), { maxLength: 3 }),
  })
  .map(({ scheme, user, host, port, params, headers }) => {
    const u: {
      scheme: SipUri['scheme'];
      user?: string;
      password?: string;
      host: string;
      port?: number;
      params: (readonly [string, string | undefined])[];
      headers: (readonly [string, string])[];
    } = { scheme, host, params, headers };
    if (user !== undefined) {
      u.user = user[0];
      if (user[1] !== undefined) u.password = user[1];
    }
    if (port !== undefined) u.port = port;
    return u;
  });

const telUriArb: fc.Arbitrary<SipUri> = fc
  .record({
    number: fc.stringMatching(/^[0-9][0-9().-]{0,14}$/),
    params: fc.array(
      fc.tuple(fc.stringMatching(/^[a-zA-Z0-9-]{1,10}$/), fc.option(paramCharsArb, { nil: undefined })),
      { maxLength: 3 },
    ),
  })
  .map(({ number, params }) => ({ scheme: 'tel' as const, user: '+' + number, host: '', params, headers: [] }));

describe('properties', () => {
  it('parseUri(formatUri(u)) round-trips generated sip/sips/pres URIs', () => {
    fc.assert(
      fc.property(sipUriArb, (u) => {
        expect(parseUri(formatUri(u))).toEqual(u);
      }),
      { numRuns: 500 },
    );
  });

  it('parseUri(formatUri(u)) round-trips generated tel URIs', () => {
    fc.assert(
      fc.property(telUriArb, (u) => {
        expect(parseUri(formatUri(u))).toEqual(u);
      }),
    );
  });

  const sipish = fc.string({
    unit: fc.constantFrom(...'sipte:@;=<>"\\,.?&%[]0123456789abcfAF +-_~\t'.split('')),
    maxLength: 60,
  });

  it('never throws on arbitrary strings; whatever parses re-formats to itself', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 80 }), sipish.map((s) => 'sip:' + s), sipish), (s) => {
        const u = parseUri(s);
        aorOf(s);
        isPrivateAddress(s);
        if (u !== undefined) {
          expect(parseUri(formatUri(u))).toEqual(u);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
