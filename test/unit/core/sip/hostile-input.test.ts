/**
 * Bounded work on crafted input: every scanner in core/sip must stay linear
 * (no backtracking, no repeated re-slicing) on 8 KiB values built to hurt.
 * The time bound is generous (catches quadratic/exponential regressions, not
 * micro-slowdowns); flattened strings mimic values decoded from JSON-RPC.
 */
import { describe, it, expect } from 'vitest';
import { parseAccept } from '../../../../core/sip/accept-header.js';
import { parseDeltaSeconds } from '../../../../core/sip/delta-seconds.js';
import { routeInDialog, routeSetFromRecordRoute } from '../../../../core/sip/dialog-routing.js';
import { parseEvent } from '../../../../core/sip/event-header.js';
import { splitHeaderList } from '../../../../core/sip/header-list.js';
import { parseMediaType } from '../../../../core/sip/media-type.js';
import { parseNameAddr, tagOf, withTag, withoutTag } from '../../../../core/sip/name-addr.js';
import { parseSubscriptionState } from '../../../../core/sip/subscription-state.js';
import { aorOf, parseUri } from '../../../../core/sip/uri.js';

const flat = (s: string): string => JSON.parse(JSON.stringify(s)) as string;
const fill = (unit: string, prefix = '', suffix = ''): string =>
  flat(prefix + unit.repeat(Math.floor((8190 - prefix.length - suffix.length) / unit.length)) + suffix);

const inputs: [string, string][] = [
  ['semicolons', fill(';a', 'sip:a@b.example')],
  ['tag params', fill(';tag=x', '<sip:a@b.example>')],
  ['escaped quotes', fill('\\"', '"', '" <sip:a@b.example>')],
  ['open quotes', fill('"')],
  ['angles', fill('<')],
  ['closing angles', fill('>')],
  ['at signs', fill('@', 'sip:')],
  ['colons in brackets', fill(':', 'sip:a@[', ']')],
  ['broken escapes', fill('%4', 'sip:', '@h')],
  ['display tokens', fill('a ', '', 'x')],
  ['commas', fill(',')],
  ['dots', fill('.', 'presence')],
  ['digits', fill('9')],
  ['slashes', fill('/', 'a')],
  ['label dashes', fill('a-', 'sip:u@', '.com')],
  ['equals', fill('=', '<sip:a@b.example>;a')],
];

const parsers: [string, (s: string) => unknown][] = [
  ['parseUri', parseUri],
  ['aorOf', aorOf],
  ['parseNameAddr', parseNameAddr],
  ['tagOf', tagOf],
  ['withTag', (s) => withTag(s, 't')],
  ['withoutTag', withoutTag],
  ['splitHeaderList', splitHeaderList],
  ['parseEvent', parseEvent],
  ['parseMediaType', parseMediaType],
  ['parseAccept', (s) => parseAccept([s, s])],
  ['parseDeltaSeconds', parseDeltaSeconds],
  ['parseSubscriptionState', parseSubscriptionState],
  ['routeSetFromRecordRoute', (s) => routeSetFromRecordRoute([s])],
  ['routeInDialog', (s) => routeInDialog(s, [s])],
];

describe('hostile 8 KiB inputs', () => {
  it.each(inputs)('%s: every parser finishes in bounded time without throwing', (_name, input) => {
    expect(input.length).toBeLessThanOrEqual(8192);
    for (const [, parse] of parsers) {
      const start = performance.now();
      for (let i = 0; i < 20; i++) parse(input);
      expect(performance.now() - start).toBeLessThan(400);
    }
  });

  it('refuses everything just over 8 KiB without scanning it', () => {
    const big = flat('sip:' + 'a'.repeat(8200) + '@b.example');
    expect(parseUri(big)).toBeUndefined();
    expect(parseNameAddr(big)).toBeUndefined();
    expect(splitHeaderList(big)).toBeUndefined();
    expect(parseEvent(big)).toBeUndefined();
    expect(parseMediaType(big)).toBeUndefined();
    expect(parseAccept([big])).toBeUndefined();
    expect(parseDeltaSeconds(big)).toBeUndefined();
    expect(parseSubscriptionState(big)).toBeUndefined();
  });
});
