import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  type SubscriptionState,
  formatSubscriptionState,
  parseSubscriptionState,
} from '../../../../core/sip/subscription-state.js';

describe('formatSubscriptionState (RFC 6665 §8.2.3, §4.1.3)', () => {
  it.each<[SubscriptionState, string]>([
    [{ state: 'active', expires: 3599 }, 'active;expires=3599'],
    [{ state: 'pending', expires: 60 }, 'pending;expires=60'],
    [{ state: 'terminated', reason: 'timeout' }, 'terminated;reason=timeout'],
    [{ state: 'terminated', reason: 'noresource' }, 'terminated;reason=noresource'],
    [{ state: 'terminated', reason: 'probation', retryAfter: 30 }, 'terminated;reason=probation;retry-after=30'],
    [{ state: 'terminated' }, 'terminated'],
    [{ state: 'active', expires: 12.9 }, 'active;expires=12'],
    [{ state: 'active', expires: -5 }, 'active;expires=0'],
    [{ state: 'active', expires: Number.NaN }, 'active;expires=0'],
    [{ state: 'active', expires: 1e12 }, 'active;expires=4294967295'],
  ])('%j → %s', (s, text) => {
    expect(formatSubscriptionState(s)).toBe(text);
  });
});

describe('parseSubscriptionState', () => {
  it('parses the common forms', () => {
    expect(parseSubscriptionState('active;expires=3599')).toEqual({
      state: 'active',
      expires: 3599,
      params: [['expires', '3599']],
    });
    expect(parseSubscriptionState('terminated;reason=giveup;retry-after=120')).toMatchObject({
      state: 'terminated',
      reason: 'giveup',
      retryAfter: 120,
    });
  });

  it('is case-insensitive for state, reason and parameter names', () => {
    expect(parseSubscriptionState(' Active ; EXPIRES = 60 ')).toMatchObject({ state: 'active', expires: 60 });
    expect(parseSubscriptionState('TERMINATED;Reason=DeActivated')).toMatchObject({ state: 'terminated', reason: 'deactivated' });
  });

  it('keeps extension states, reasons and params', () => {
    expect(parseSubscriptionState('waiting;reason=newthing;foo="bar"')).toEqual({
      state: 'waiting',
      reason: 'newthing',
      params: [
        ['reason', 'newthing'],
        ['foo', '"bar"'],
      ],
    });
  });

  it.each(['', ';expires=1', 'active;expires=', 'active;expires=-1', 'active;expires=1.5', 'active;expires', 'terminated;reason', 'terminated;reason="timeout"', 'active extra', 'active;'])(
    'rejects %j',
    (text) => {
      expect(parseSubscriptionState(text)).toBeUndefined();
    },
  );

  it('round-trips formatted values', () => {
    const arb: fc.Arbitrary<SubscriptionState> = fc
      .record({
        state: fc.constantFrom('active' as const, 'pending' as const, 'terminated' as const),
        expires: fc.option(fc.nat(), { nil: undefined }),
        reason: fc.option(
          fc.constantFrom('deactivated' as const, 'probation' as const, 'rejected' as const, 'timeout' as const, 'giveup' as const, 'noresource' as const, 'invariant' as const),
          { nil: undefined },
        ),
        retryAfter: fc.option(fc.nat(), { nil: undefined }),
      })
      .map((r) => {
        const s: { state: SubscriptionState['state']; expires?: number; reason?: SubscriptionState['reason'] & string; retryAfter?: number } = { state: r.state };
        if (r.expires !== undefined) s.expires = r.expires;
        if (r.reason !== undefined) s.reason = r.reason;
        if (r.retryAfter !== undefined) s.retryAfter = r.retryAfter;
        return s;
      });
    fc.assert(
      fc.property(arb, (s) => {
        const { params: _params, ...parsed } = parseSubscriptionState(formatSubscriptionState(s))!;
        expect(parsed).toEqual(s);
      }),
    );
  });

  it('never throws', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (s) => {
        parseSubscriptionState(s);
      }),
      { numRuns: 1000 },
    );
  });
});
