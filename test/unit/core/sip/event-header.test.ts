import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { eventMatches, formatEvent, parseEvent } from '../../../../core/sip/event-header.js';

describe('parseEvent (RFC 6665 §8.2.1, §8.4)', () => {
  it('parses a bare package', () => {
    expect(parseEvent('presence')).toEqual({ package: 'presence', template: [], params: [] });
  });

  it('keeps the full name of a templated package and lists the templates', () => {
    expect(parseEvent('presence.winfo')).toEqual({ package: 'presence.winfo', template: ['winfo'], params: [] });
    expect(parseEvent('a.b.c')?.template).toEqual(['b', 'c']);
  });

  it('reads the id parameter; parameter names are case-insensitive', () => {
    expect(parseEvent('presence;id=3')).toEqual({ package: 'presence', template: [], id: '3', params: [['id', '3']] });
    expect(parseEvent('  presence ; ID = abc123 ')?.id).toBe('abc123');
  });

  it('keeps other parameters (dialog, ua-profile packages)', () => {
    const ev = parseEvent('dialog;call-id=a84b4c76e66710;to-tag=x;include-session-description')!;
    expect(ev.package).toBe('dialog');
    expect(ev.id).toBeUndefined();
    expect(ev.params).toEqual([
      ['call-id', 'a84b4c76e66710'],
      ['to-tag', 'x'],
      ['include-session-description', undefined],
    ]);
    expect(parseEvent('ua-profile;profile-type=device;vendor="Polycom";model="VVX 410"')?.params).toHaveLength(3);
  });

  it('keeps the event type case as written (compared byte by byte, §8.2.1)', () => {
    expect(parseEvent('Presence')?.package).toBe('Presence');
  });

  it('parses other registered packages', () => {
    for (const p of ['message-summary', 'reg', 'conference', 'refer', 'presence.winfo', 'xcap-diff', 'as-feature-event']) {
      expect(parseEvent(p)?.package).toBe(p);
    }
  });

  it.each([
    '',
    '   ',
    '.winfo',
    'presence.',
    'presence..winfo',
    'pres ence',
    'presence,dialog',
    'presence;',
    'presence;id',
    'presence;id=',
    'presence;id="x"',
    'presence;id=1;ID=2',
    'presence;x="unterminated',
    'presence/xml',
    ';id=1',
  ])('rejects %j', (text) => {
    expect(parseEvent(text)).toBeUndefined();
  });

  it('refuses values over 8 KiB', () => {
    expect(parseEvent('presence;x=' + 'a'.repeat(8200))).toBeUndefined();
  });
});

describe('formatEvent', () => {
  it('writes package and id', () => {
    expect(formatEvent('presence')).toBe('presence');
    expect(formatEvent('presence', undefined)).toBe('presence');
    expect(formatEvent('presence.winfo', '7')).toBe('presence.winfo;id=7');
  });
});

describe('eventMatches (RFC 6665 §4.4.1, §8.2.1)', () => {
  it('follows the RFC examples', () => {
    expect(eventMatches('foo; id=1234', 'foo; param=abcd; id=1234')).toBe(true);
    expect(eventMatches('foo; id=1234', 'foo')).toBe(false);
    expect(eventMatches('foo', 'foo; id=1234')).toBe(false);
    expect(eventMatches('foo; id=1234', 'Bar; id=1234')).toBe(false);
    expect(eventMatches('foo; id=1234', 'Foo; id=1234')).toBe(false);
  });

  it('compares the id byte by byte and ignores other params', () => {
    expect(eventMatches('presence;id=ABC', 'presence;id=abc')).toBe(false);
    expect(eventMatches('presence;id=abc', 'presence;ID=abc;x=1')).toBe(true);
    expect(eventMatches('presence', 'presence;x=1')).toBe(true);
    expect(eventMatches('presence', 'presence.winfo')).toBe(false);
  });

  it('accepts parsed values and rejects unparseable ones', () => {
    expect(eventMatches(parseEvent('presence;id=1')!, 'presence;id=1')).toBe(true);
    expect(eventMatches('presence;id=', 'presence;id=')).toBe(false);
  });
});

const tokenNodot = fc.stringMatching(/^[a-zA-Z0-9\-!%*_+`'~]{1,8}$/);
const tokenArb = fc.stringMatching(/^[a-zA-Z0-9\-.!%*_+`'~]{1,8}$/);

describe('properties', () => {
  it('parseEvent(formatEvent(pkg, id)) round-trips', () => {
    fc.assert(
      fc.property(fc.array(tokenNodot, { minLength: 1, maxLength: 3 }), fc.option(tokenArb, { nil: undefined }), (segs, id) => {
        const pkg = segs.join('.');
        const ev = parseEvent(formatEvent(pkg, id))!;
        expect(ev.package).toBe(pkg);
        expect(ev.template).toEqual(segs.slice(1));
        expect(ev.id).toBe(id);
        expect(eventMatches(ev, formatEvent(pkg, id))).toBe(true);
      }),
    );
  });

  it('never throws on arbitrary strings', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: 'binary', maxLength: 60 }), fc.string({ unit: fc.constantFrom(...'presnc.;id=" \\'.split('')), maxLength: 40 })),
        (s) => {
          parseEvent(s);
          eventMatches(s, s);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
