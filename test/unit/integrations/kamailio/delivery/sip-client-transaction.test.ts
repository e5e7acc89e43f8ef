/**
 * RFC 3261 §17.1.2.2 non-INVITE client transaction (sip-client-transaction.ts)
 * driven by vitest fake timers: the retransmission schedule, Timer F, Timer K,
 * response matching and absorption.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  ClientTransactionTable,
  type ClientTransactionUser,
  NonInviteClientTransaction,
  type SipTimers,
  resolveTimers,
} from '../../../../../integrations/kamailio/delivery/sip-client-transaction.js';
import type { SipResponse } from '../../../../../integrations/kamailio/delivery/sip-message.js';

const TIMERS: SipTimers = { t1Ms: 500, t2Ms: 4000, t4Ms: 5000 };
const BRANCH = 'z9hG4bKtesttesttesttest';
const REQUEST = Buffer.from('NOTIFY sip:x SIP/2.0\r\n\r\n');

interface Recorder extends ClientTransactionUser {
  readonly events: string[];
  /** Fake-clock times of every transmit (first one included). */
  readonly sends: { at: number; retransmission: boolean }[];
  readonly finals: SipResponse[];
}

function recorder(): Recorder {
  const events: string[] = [];
  const sends: { at: number; retransmission: boolean }[] = [];
  const finals: SipResponse[] = [];
  return {
    events,
    sends,
    finals,
    transmit: (_b, retransmission) => sends.push({ at: Date.now(), retransmission }),
    onProvisional: (r) => events.push(`provisional ${r.status}`),
    onFinal: (r) => {
      finals.push(r);
      events.push(`final ${r.status}`);
    },
    onTimeout: () => events.push('timeout'),
    onTransportError: (d) => events.push(`transport-error ${d}`),
    onTerminated: () => events.push('terminated'),
  };
}

function res(status: number, o: Partial<SipResponse> = {}): SipResponse {
  return { status, reason: 'X', branch: BRANCH, cseq: 1, method: 'NOTIFY', ...o };
}

function tx(user: ClientTransactionUser, reliable = false, timers: SipTimers = TIMERS): NonInviteClientTransaction {
  return new NonInviteClientTransaction({ branch: BRANCH, method: 'NOTIFY', request: REQUEST, reliable, timers, user });
}

let t0 = 0;
beforeEach(() => {
  vi.useFakeTimers();
  t0 = Date.now();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('NonInviteClientTransaction over UDP', () => {
  it('retransmits at T1, 2T1, 4T1, … capped at T2 and times out at 64·T1 (Timer F)', async () => {
    const u = recorder();
    const t = tx(u);
    t.start();
    expect(t.state).toBe('trying');
    await vi.advanceTimersByTimeAsync(64 * TIMERS.t1Ms - 1);
    expect(u.events).toEqual([]);
    const gaps = u.sends.slice(1).map((s, i) => s.at - (u.sends[i] as { at: number }).at);
    // 500, 1000, 2000, 4000 (= T2), then T2 until Timer F at 32 s
    expect(gaps).toEqual([500, 1000, 2000, 4000, 4000, 4000, 4000, 4000, 4000, 4000]);
    expect(u.sends.map((s) => s.at - t0)).toEqual([0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]);
    expect(u.sends[0]?.retransmission).toBe(false);
    expect(u.sends.slice(1).every((s) => s.retransmission)).toBe(true);
    expect(t.retransmissions).toBe(10);
    await vi.advanceTimersByTimeAsync(1);
    expect(u.events).toEqual(['timeout', 'terminated']);
    expect(t.state).toBe('terminated');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(u.sends).toHaveLength(11); // nothing after Terminated
    expect(vi.getTimerCount()).toBe(0);
  });

  it('follows the schedule with other timer values (T1 = 100, T2 = 350)', async () => {
    const u = recorder();
    tx(u, false, { t1Ms: 100, t2Ms: 350, t4Ms: 200 }).start();
    await vi.advanceTimersByTimeAsync(6400);
    expect(u.sends.map((s) => s.at - t0).slice(0, 7)).toEqual([0, 100, 300, 650, 1000, 1350, 1700]);
    expect(u.events).toEqual(['timeout', 'terminated']);
  });

  it('1xx → Proceeding: retransmissions go on every T2; then 200 → Completed, TU told once', async () => {
    const u = recorder();
    const t = tx(u);
    t.start();
    await vi.advanceTimersByTimeAsync(600); // one retransmission at 500
    expect(t.receive(res(100))).toBe(true);
    expect(t.state).toBe('proceeding');
    expect(u.events).toEqual(['provisional 100']);
    // the running Timer E (1000 ms, armed at 500) fires at 1500; it is then reset to T2
    await vi.advanceTimersByTimeAsync(1500 + 2 * TIMERS.t2Ms - 600);
    expect(u.sends.map((s) => s.at - t0)).toEqual([0, 500, 1500, 5500, 9500]);
    t.receive(res(180));
    expect(t.state).toBe('proceeding');
    t.receive(res(200));
    expect(t.state).toBe('completed');
    expect(u.events).toEqual(['provisional 100', 'provisional 180', 'final 200']);
    await vi.advanceTimersByTimeAsync(TIMERS.t4Ms - 1);
    expect(u.sends).toHaveLength(5); // no retransmission after the final response
    expect(t.state).toBe('completed');
    await vi.advanceTimersByTimeAsync(1);
    expect(t.state).toBe('terminated'); // Timer K = T4
    expect(u.events.at(-1)).toBe('terminated');
  });

  it('absorbs retransmitted final responses and late 1xx in Completed', async () => {
    const u = recorder();
    const t = tx(u);
    t.start();
    t.receive(res(200));
    t.receive(res(200));
    t.receive(res(481));
    t.receive(res(100));
    await vi.advanceTimersByTimeAsync(1000);
    t.receive(res(200));
    expect(u.events).toEqual(['final 200']);
    expect(u.finals).toHaveLength(1);
    expect(u.sends).toHaveLength(1);
  });

  it('a final response straight from Trying completes it; Timer F never fires afterwards', async () => {
    const u = recorder();
    const t = tx(u);
    t.start();
    t.receive(res(503, { retryAfter: 30 }));
    expect(u.finals[0]?.retryAfter).toBe(30);
    await vi.advanceTimersByTimeAsync(64 * TIMERS.t1Ms + TIMERS.t4Ms);
    expect(u.events).toEqual(['final 503', 'terminated']);
  });

  it('ignores a response with another CSeq method or branch (§17.1.3)', () => {
    const u = recorder();
    const t = tx(u);
    t.start();
    expect(t.receive(res(200, { method: 'OPTIONS' }))).toBe(false);
    expect(t.receive(res(200, { branch: 'z9hG4bKother' }))).toBe(false);
    expect(t.state).toBe('trying');
    expect(u.events).toEqual([]);
  });

  it('a transport error ends it at once and tells the TU; nothing is retransmitted afterwards', async () => {
    const u = recorder();
    const t = tx(u);
    t.start();
    t.transportError('connection lost');
    expect(u.events).toEqual(['transport-error connection lost', 'terminated']);
    t.receive(res(200));
    await vi.advanceTimersByTimeAsync(40_000);
    expect(u.events).toHaveLength(2);
    expect(u.sends).toHaveLength(1);
  });

  it('abort() ends it silently (no TU callback but onTerminated)', async () => {
    const u = recorder();
    const t = tx(u);
    t.start();
    t.abort();
    await vi.advanceTimersByTimeAsync(40_000);
    expect(u.events).toEqual(['terminated']);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('NonInviteClientTransaction over TCP (reliable)', () => {
  it('never retransmits; Timer F still ends it', async () => {
    const u = recorder();
    const t = tx(u, true);
    t.start();
    await vi.advanceTimersByTimeAsync(64 * TIMERS.t1Ms - 1);
    expect(u.sends).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(u.events).toEqual(['timeout', 'terminated']);
  });

  it('terminates right after the final response (Timer K = 0)', async () => {
    const u = recorder();
    const t = tx(u, true);
    t.start();
    t.receive(res(100));
    t.receive(res(200));
    expect(u.events).toEqual(['provisional 100', 'final 200']);
    await Promise.resolve();
    expect(t.state).toBe('terminated');
    expect(u.events.at(-1)).toBe('terminated');
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('ClientTransactionTable', () => {
  it('matches by branch + method, drops entries when they terminate', async () => {
    const table = new ClientTransactionTable();
    const u1 = recorder();
    const u2 = recorder();
    const a = table.create({ branch: 'z9hG4bKa', method: 'NOTIFY', request: REQUEST, reliable: false, timers: TIMERS, user: u1 });
    const b = table.create({ branch: 'z9hG4bKb', method: 'OPTIONS', request: REQUEST, reliable: false, timers: TIMERS, user: u2 });
    a.start();
    b.start();
    expect(table.size).toBe(2);
    expect(() => table.create({ branch: 'z9hG4bKa', method: 'NOTIFY', request: REQUEST, reliable: false, timers: TIMERS, user: u1 })).toThrow();
    expect(table.dispatch(res(200, { branch: 'z9hG4bKa' }))).toBe(true);
    expect(table.dispatch(res(200, { branch: 'z9hG4bKb', method: 'NOTIFY' }))).toBe(false); // wrong method
    expect(table.dispatch(res(200, { branch: 'z9hG4bKnone' }))).toBe(false);
    expect(table.dispatch(res(200, { branch: 'z9hG4bKa' }))).toBe(true); // absorbed in Completed
    expect(u1.finals).toHaveLength(1);
    expect(table.pending()).toEqual([b]);
    await vi.advanceTimersByTimeAsync(TIMERS.t4Ms);
    expect(table.size).toBe(1); // a terminated by Timer K
    expect(table.dispatch(res(200, { branch: 'z9hG4bKa' }))).toBe(false); // now a stray
    table.abortAll();
    expect(table.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('resolveTimers', () => {
  it('fills defaults and refuses nonsense', () => {
    expect(resolveTimers(undefined)).toEqual({ t1Ms: 500, t2Ms: 4000, t4Ms: 5000 });
    expect(resolveTimers({ t1Ms: 20 })).toEqual({ t1Ms: 20, t2Ms: 4000, t4Ms: 5000 });
    expect(() => resolveTimers({ t1Ms: 0 })).toThrow(RangeError);
    expect(() => resolveTimers({ t1Ms: Number.NaN })).toThrow(RangeError);
    expect(() => resolveTimers({ t1Ms: 500, t2Ms: 100 })).toThrow(RangeError);
  });
});
