import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { findParam, formatParams, scanParams } from '../../../../core/sip/generic-params.js';

describe('scanParams (RFC 3261 §25.1 generic-param)', () => {
  it('scans params with token, host and quoted values, and valueless ones', () => {
    const text = ';tag=a1;received=[2001:db8::2];+sip.instance="<urn:uuid:1>";lr';
    expect(scanParams(text, 0, text.length)?.params).toEqual([
      ['tag', 'a1'],
      ['received', '[2001:db8::2]'],
      ['+sip.instance', '"<urn:uuid:1>"'],
      ['lr', undefined],
    ]);
  });

  it('allows SWS around ; and = and records spans', () => {
    const text = ' ; a = 1 ;b ';
    const s = scanParams(text, 0, text.length)!;
    expect(s.params).toEqual([
      ['a', '1'],
      ['b', undefined],
    ]);
    expect(s.spans[0]).toEqual({ start: 0, nameEnd: 4, valueStart: 7, end: 8 });
    expect(s.spans[1]).toEqual({ start: 8, nameEnd: 11, valueStart: 11, end: 11 });
  });

  it('gives no params for an empty tail', () => {
    expect(scanParams('', 0, 0)).toEqual({ params: [], spans: [] });
  });

  it.each([';', ';=', ';a=', 'a', ';a b', ';a="x', ';a=x,y', ';a=<x>'])('rejects %j', (text) => {
    expect(scanParams(text, 0, text.length)).toBeUndefined();
  });

  it('accepts 64 params and refuses a 65th (hostile input bound)', () => {
    const ok = ';a=1'.repeat(64);
    expect(scanParams(ok, 0, ok.length)?.params).toHaveLength(64);
    const bad = ok + ';b';
    expect(scanParams(bad, 0, bad.length)).toBeUndefined();
  });

  it('finds params case-insensitively', () => {
    const p = [['Tag', 'x'] as const, ['lr', undefined] as const];
    expect(findParam(p, 'tag')).toBe('x');
    expect(findParam(p, 'LR')).toBeUndefined();
    expect(findParam(p, 'ttl')).toBeNull();
  });

  it('formatParams/scanParams round-trip', () => {
    const token = fc.stringMatching(/^[a-zA-Z0-9\-.!%*_+`'~]{1,8}$/);
    fc.assert(
      fc.property(fc.array(fc.tuple(token, fc.option(token, { nil: undefined })), { maxLength: 5 }), (params) => {
        const text = formatParams(params);
        expect(scanParams(text, 0, text.length)?.params).toEqual(params);
      }),
    );
  });
});
