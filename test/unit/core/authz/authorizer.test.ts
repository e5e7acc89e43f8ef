/**
 * The default authorization (core/authz/authorizer.ts): presence is open to
 * every watcher until pres-rules exist; watcher information (`*.winfo`) is
 * for the resource's owner only (RFC 3857 §5.2).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DefaultAuthorizer, FULL_VIEW, type AuthorizationRequest, type Authorizer } from '../../../../core/authz/authorizer.js';
import { MemoryKv } from '../../../../core/store/memory-kv.js';

const ALICE = 'sip:alice@example.com';
const BOB = 'sip:bob@example.com';
const authz: Authorizer = new DefaultAuthorizer();
const kv = new MemoryKv();

const req = (o: Partial<AuthorizationRequest>): AuthorizationRequest => ({ resource: ALICE, event: 'presence', watcher: BOB, authenticated: true, ...o });

describe('DefaultAuthorizer', () => {
  it('allows anyone the full presence view, authenticated or not', () => {
    expect(authz.authorize(req({}), kv)).toEqual({ handling: 'allow', view: FULL_VIEW });
    expect(authz.authorize(req({ authenticated: false }), kv)).toEqual({ handling: 'allow', view: FULL_VIEW });
    expect(authz.authorize(req({ watcher: 'sip:anonymous@anonymous.invalid', authenticated: false }), kv)).toEqual({ handling: 'allow', view: FULL_VIEW });
    expect(authz.authorize(req({ watcher: ALICE }), kv)).toEqual({ handling: 'allow', view: FULL_VIEW });
  });

  it('lets the owner watch her own watchers', () => {
    expect(authz.authorize(req({ event: 'presence.winfo', watcher: ALICE }), kv)).toEqual({ handling: 'allow', view: FULL_VIEW });
  });

  it('blocks watcher information of somebody else, for any *.winfo package', () => {
    for (const event of ['presence.winfo', 'dialog.winfo', 'message-summary.winfo']) {
      expect(authz.authorize(req({ event, watcher: BOB }), kv).handling).toBe('block');
    }
  });

  it('compares identities exactly (canonical AORs come from the request layer)', () => {
    expect(authz.authorize(req({ event: 'presence.winfo', watcher: 'sip:alice@example.org' }), kv).handling).toBe('block');
    expect(authz.authorize(req({ event: 'presence.winfo', watcher: 'sip:Alice@example.com' }), kv).handling).toBe('block');
  });

  it('treats only the .winfo suffix as a watcher-information package', () => {
    expect(authz.authorize(req({ event: 'winfo' }), kv).handling).toBe('allow');
    expect(authz.authorize(req({ event: 'presence.winfo.extra' }), kv).handling).toBe('allow');
  });

  it('holds for any resource and watcher', () => {
    const aor = fc.constantFrom(ALICE, BOB, 'sip:carol@example.com', 'tel:+15551234567', 'sip:alice@example.com.evil');
    fc.assert(
      fc.property(aor, aor, fc.boolean(), fc.constantFrom('presence', 'presence.winfo', 'dialog', 'dialog.winfo'), (resource, watcher, authenticated, event) => {
        const d = authz.authorize({ resource, watcher, authenticated, event }, kv);
        expect(d.view).toBe(FULL_VIEW);
        expect(d.handling).toBe(event.endsWith('.winfo') && watcher !== resource ? 'block' : 'allow');
      }),
      { numRuns: 100 },
    );
  });
});
