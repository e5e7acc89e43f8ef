import { describe, it, expect } from 'vitest';
import {
  CC_HNV,
  CC_PARAM,
  CC_PASSWORD,
  CC_TOKEN,
  CC_UNRESERVED,
  CC_USER,
  charHas,
  equalsIgnoreCase,
  hexValue,
  isToken,
  skipLws,
  trimEndLws,
  trimLws,
} from '../../../../core/sip/char-class.js';

const has = (chars: string, cls: number): boolean => [...chars].every((c) => charHas(c.charCodeAt(0), cls));
const none = (chars: string, cls: number): boolean => [...chars].every((c) => !charHas(c.charCodeAt(0), cls));

describe('character classes (RFC 3261 §25.1)', () => {
  it('token', () => {
    expect(has("aZ9-.!%*_+`'~", CC_TOKEN)).toBe(true);
    expect(none('()<>@,;:\\"/[]?={} \t\u00e9', CC_TOKEN)).toBe(true);
  });
  it('unreserved', () => {
    expect(has("aZ9-_.!~*'()", CC_UNRESERVED)).toBe(true);
    expect(none('%+&=$,;?/:@[]', CC_UNRESERVED)).toBe(true);
  });
  it('user, password, paramchar, hname/hvalue', () => {
    expect(has('&=+$,;?/', CC_USER)).toBe(true);
    expect(none(':@[]%', CC_USER)).toBe(true);
    expect(has('&=+$,', CC_PASSWORD)).toBe(true);
    expect(none(';?/:@', CC_PASSWORD)).toBe(true);
    expect(has('[]/:&+$', CC_PARAM)).toBe(true);
    expect(none(';=?@,', CC_PARAM)).toBe(true);
    expect(has('[]/?:+$', CC_HNV)).toBe(true);
    expect(none('&=;@,', CC_HNV)).toBe(true);
  });
  it('isToken', () => {
    expect(isToken('presence.winfo')).toBe(true);
    expect(isToken('')).toBe(false);
    expect(isToken('a b')).toBe(false);
  });
});

describe('helpers', () => {
  it('hexValue', () => {
    expect(['0', '9', 'a', 'F'].map((c) => hexValue(c.charCodeAt(0)))).toEqual([0, 9, 10, 15]);
    expect(hexValue('g'.charCodeAt(0))).toBe(-1);
  });
  it('LWS trimming (SP, HTAB, CR, LF only)', () => {
    expect(skipLws(' \t\r\nx', 0, 5)).toBe(4);
    expect(trimEndLws('x \t', 0, 3)).toBe(1);
    expect(trimLws(' \tabc \r\n')).toBe('abc');
    expect(trimLws('\u000babc')).toBe('\u000babc');
  });
  it('equalsIgnoreCase folds ASCII only', () => {
    expect(equalsIgnoreCase('Tag', 'tAG')).toBe(true);
    expect(equalsIgnoreCase('tag', 'tags')).toBe(false);
    expect(equalsIgnoreCase('\u212Aey', 'key')).toBe(false);
  });
});
