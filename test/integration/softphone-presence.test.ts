/**
 * A real softphone from Debian against the whole stack: baresip 1.0.0
 * (package baresip-core; headless, driven over its ctrl_tcp interface, see
 * test/support/baresip-process.ts) → real Kamailio 5.6 with the example
 * config → presenced. No registrar is involved: the accounts use regint=0.
 *
 * - bob (baresip) has alice in its contacts with ;presence=p2p: it
 *   SUBSCRIBEs, presenced lists it as alice's watcher, and PUBLISHes for
 *   alice (open, RPID busy, removal) change what bob shows for alice.
 * - bob PUBLISHes its own status (presence_online / presence_offline);
 *   a plain UDP watcher checks that the PIDF baresip sent is in the NOTIFY
 *   intact (namespaces, ids, the empty <rpid:activities/>, <contact>), also
 *   when composed with another device's publication carrying an unknown
 *   extension; carol (a second baresip) shows bob Online / Offline.
 * - bob's publication refreshes (SIP-If-Match, no body) keep it alive, and
 *   on shutdown it removes its publication and ends its subscription.
 *
 * The tests run in order and share one stack and the two softphones.
 */
import { SaxesParser } from 'saxes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BaresipProcess, tracedHeader, type TracedSipMessage } from '../support/baresip-process.js';
import { startStack, type Stack } from '../support/stack-harness.js';
import { header, type SipMessage, UdpSipUa } from '../support/udp-sip-ua.js';
import { sleep } from '../support/wait.js';

const PIDF_NS = 'urn:ietf:params:xml:ns:pidf';
const DM_NS = 'urn:ietf:params:xml:ns:pidf:data-model';
const RPID_NS = 'urn:ietf:params:xml:ns:pidf:rpid';
const EXT_NS = 'urn:example:presenced:softphone-test';
const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';

/** A namespace-resolved element tree (prefixes do not matter, namespaces do). */
interface XNode {
  readonly ns: string;
  readonly name: string;
  readonly attrs: Record<string, string>;
  /** Prefix → namespace declared on this element. */
  readonly decls: Record<string, string>;
  readonly children: XNode[];
  text: string;
}

function parseXml(xml: string): XNode {
  const parser = new SaxesParser({ xmlns: true });
  const stack: XNode[] = [];
  let root: XNode | undefined;
  parser.on('opentag', (tag) => {
    const attrs: Record<string, string> = {};
    const decls: Record<string, string> = {};
    for (const a of Object.values(tag.attributes)) {
      if (a.uri === XMLNS_NS) decls[a.prefix === 'xmlns' ? a.local : ''] = a.value;
      else attrs[a.uri ? `{${a.uri}}${a.local}` : a.local] = a.value;
    }
    const node: XNode = { ns: tag.uri, name: tag.local, attrs, decls, children: [], text: '' };
    stack[stack.length - 1]?.children.push(node);
    stack.push(node);
    root ??= node;
  });
  parser.on('text', (t) => {
    const top = stack[stack.length - 1];
    if (top) top.text += t;
  });
  parser.on('closetag', () => {
    stack.pop();
  });
  parser.write(xml).close();
  if (!root) throw new Error('no root element');
  return root;
}

/** Canonical form: namespace + local name, sorted attributes, trimmed text, children in order. */
function canon(n: XNode): string {
  const attrs = Object.entries(n.attrs)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(' ');
  return `<{${n.ns}}${n.name}${attrs ? ' ' + attrs : ''}>${JSON.stringify(n.text.trim())}${n.children.map(canon).join('')}</>`;
}

const byId = (root: XNode, id: string): XNode | undefined => root.children.find((c) => c.attrs['id'] === id);
const isResponseTo = (m: TracedSipMessage, req: TracedSipMessage): boolean =>
  m.startLine.startsWith('SIP/2.0 ') && tracedHeader(m, 'Call-ID') === tracedHeader(req, 'Call-ID') && tracedHeader(m, 'CSeq') === tracedHeader(req, 'CSeq');
const isFinal = (m: TracedSipMessage): boolean => /^SIP\/2\.0 [2-6]\d\d /.test(m.startLine);

describe('real softphone (Debian baresip 1.0.0) publishing and subscribing through Kamailio + presenced', () => {
  let stack: Stack;
  let ua: UdpSipUa;
  let bob: BaresipProcess;
  let carol: BaresipProcess;
  let k = 0;
  let bobUri = '';
  let aliceUri = '';
  let seq = 0;

  /** PUBLISH from the plain UA; resolves with its final response. */
  async function uaPublish(user: string, o: { body?: string; etag?: string | undefined; expires?: number }): Promise<SipMessage> {
    const n = ++seq;
    const cid = `sp-pub-${n}`;
    const body = o.body ?? '';
    ua.send(
      `PUBLISH sip:${user}@127.0.0.1:${k} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${ua.port};branch=z9hG4bK-sp${n};rport\r\n` +
        `From: <sip:${user}@127.0.0.1>;tag=sp${n}\r\nTo: <sip:${user}@127.0.0.1>\r\nCall-ID: ${cid}\r\nCSeq: 1 PUBLISH\r\nMax-Forwards: 70\r\n` +
        `Event: presence\r\nExpires: ${o.expires ?? 300}\r\n` +
        (o.etag ? `SIP-If-Match: ${o.etag}\r\n` : '') +
        (body ? 'Content-Type: application/pidf+xml\r\n' : '') +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    return ua.waitFor((m) => /^SIP\/2\.0 [2-6]/.test(m.startLine) && header(m, 'call-id') === cid);
  }

  /** SUBSCRIBE from the plain UA (as `from`); resolves with its first NOTIFY. */
  async function uaSubscribe(from: string, to: string, cid: string, event = 'presence'): Promise<SipMessage> {
    const n = ++seq;
    ua.send(
      `SUBSCRIBE sip:${to}@127.0.0.1:${k} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${ua.port};branch=z9hG4bK-ss${n};rport\r\n` +
        `From: <sip:${from}@127.0.0.1>;tag=ss${n}\r\nTo: <sip:${to}@127.0.0.1>\r\nCall-ID: ${cid}\r\nCSeq: 1 SUBSCRIBE\r\n` +
        `Contact: <sip:${from}@127.0.0.1:${ua.port}>\r\nMax-Forwards: 70\r\nEvent: ${event}\r\nExpires: 600\r\nContent-Length: 0\r\n\r\n`,
    );
    return ua.waitFor((m) => m.startLine.startsWith('NOTIFY ') && header(m, 'call-id') === cid);
  }

  /** NOTIFYs the plain UA got on dialog `cid`, in arrival order. */
  const notifiesOn = (cid: string): SipMessage[] => ua.received.filter((m) => m.startLine.startsWith('NOTIFY ') && header(m, 'call-id') === cid);

  /** bob's PUBLISHes and their final responses, in order. */
  function bobPublishes(): { req: TracedSipMessage; res: TracedSipMessage | undefined }[] {
    const trace = bob.sipTrace();
    return trace
      .filter((m) => m.direction === 'sent' && m.startLine.startsWith('PUBLISH '))
      // baresip retransmits over UDP: one entry per transaction
      .filter((m, i, all) => all.findIndex((x) => tracedHeader(x, 'Via') === tracedHeader(m, 'Via')) === i)
      .map((req) => ({ req, res: trace.find((m) => m.direction === 'received' && isFinal(m) && isResponseTo(m, req)) }));
  }

  /** The SIP-ETag of the last 2xx to a PUBLISH that bob had received before it sent `req` (the one it must put in SIP-If-Match). */
  function etagBefore(req: TracedSipMessage): string | undefined {
    const trace = bob.sipTrace();
    const at = trace.findIndex((m) => m.raw === req.raw);
    return trace
      .slice(0, at)
      .filter((m) => m.direction === 'received' && /^SIP\/2\.0 2\d\d /.test(m.startLine) && / PUBLISH$/.test(tracedHeader(m, 'CSeq') ?? ''))
      .map((m) => tracedHeader(m, 'SIP-ETag'))
      .at(-1);
  }

  beforeAll(async () => {
    // PUBLISH min-expires lowered so baresip can publish with a short
    // interval (pubint=4) and its refreshes happen within the test.
    stack = await startStack({ config: { packageExpires: { presence: { publish: { default: 3600, min: 1, max: 7200 } } } } });
    k = stack.sipPort;
    bobUri = `sip:bob@127.0.0.1:${k}`;
    aliceUri = `sip:alice@127.0.0.1:${k}`;
    ua = new UdpSipUa(k);
    await ua.start();
    [bob, carol] = await Promise.all([
      BaresipProcess.start({ aor: bobUri, displayName: 'Bob', pubint: 4, contacts: [{ name: 'alice', uri: aliceUri }] }),
      BaresipProcess.start({ aor: `sip:carol@127.0.0.1:${k}`, displayName: 'Carol', pubint: 0, contacts: [{ name: 'bob', uri: bobUri }] }),
    ]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([bob?.stop().catch(() => undefined), carol?.stop().catch(() => undefined)]);
    ua?.close();
    await stack?.stop();
  }, 30_000);

  it('bob SUBSCRIBEs to alice: 200, then the initial NOTIFY (answered 200 by baresip); presenced lists bob as alice\'s watcher', async () => {
    const sub = await bob.waitForSip((m) => m.direction === 'sent' && m.startLine === `SUBSCRIBE ${aliceUri} SIP/2.0`, 5000);
    expect(tracedHeader(sub, 'Event')).toBe('presence');
    expect(tracedHeader(sub, 'Expires')).toBe('600');
    expect(tracedHeader(sub, 'From')).toMatch(new RegExp(`^<${bobUri}>;tag=\\S+$`));
    expect(tracedHeader(sub, 'To')).toBe(`<${aliceUri}>`);
    expect(tracedHeader(sub, 'Contact')).toMatch(new RegExp(`^<sip:bob-[^@]+@127\\.0\\.0\\.1:${bob.sipPort}>$`));
    const cid = tracedHeader(sub, 'Call-ID');

    const ok = await bob.waitForSip((m) => m.direction === 'received' && isFinal(m) && isResponseTo(m, sub));
    expect(ok.startLine).toBe('SIP/2.0 200 OK');
    expect(tracedHeader(ok, 'Expires')).toBe('600');
    expect(tracedHeader(ok, 'Contact')).toBe(`<sip:presence@127.0.0.1:${k}>`);
    const notify = await bob.waitForSip((m) => m.direction === 'received' && m.startLine.startsWith('NOTIFY ') && tracedHeader(m, 'Call-ID') === cid);
    const trace = bob.sipTrace();
    expect(trace.findIndex((m) => m.raw === ok.raw)).toBeLessThan(trace.findIndex((m) => m.raw === notify.raw));
    expect(notify.startLine).toMatch(new RegExp(`^NOTIFY ${tracedHeader(sub, 'Contact')?.slice(1, -1)} SIP/2\\.0$`));
    expect(tracedHeader(notify, 'Subscription-State')).toMatch(/^active;expires=\d+$/);
    expect(tracedHeader(notify, 'Content-Type')).toBe('application/pidf+xml');
    // nothing published for alice yet: an empty document
    const empty = parseXml(notify.body);
    expect([empty.ns, empty.name, empty.attrs['entity'], empty.children.length]).toEqual([PIDF_NS, 'presence', 'sip:alice@127.0.0.1', 0]);
    await bob.waitForSip((m) => m.direction === 'sent' && m.startLine === 'SIP/2.0 200 OK' && tracedHeader(m, 'CSeq') === tracedHeader(notify, 'CSeq') && tracedHeader(m, 'Call-ID') === cid);
    // baresip shows a PIDF without <basic>open</basic> as Offline
    await bob.waitForContactStatus(aliceUri, 'Offline', 5000);

    // presenced's view: alice's watcher info lists bob, active
    const winfo = await uaSubscribe('alice', 'alice', 'sp-winfo-alice', 'presence.winfo');
    expect(header(winfo, 'content-type')).toBe('application/watcherinfo+xml');
    expect(winfo.body).toMatch(/<watcher [^>]*status="active"[^>]*>sip:bob@127\.0\.0\.1<\/watcher>/);
  });

  it('PUBLISHes for alice change what bob shows: open → Online, RPID busy (any prefix) → Busy, removal → Offline', async () => {
    const from = bob.output().length;
    const open =
      `<?xml version="1.0" encoding="UTF-8"?><presence xmlns="${PIDF_NS}" entity="sip:alice@127.0.0.1">` +
      `<tuple id="a1"><status><basic>open</basic></status><contact>sip:alice@127.0.0.1</contact><note>at my desk</note></tuple></presence>`;
    const r1 = await uaPublish('alice', { body: open });
    expect(r1.startLine).toBe('SIP/2.0 200 OK');
    await bob.waitForContactStatus(aliceUri, 'Online', 5000);
    await bob.waitForOutput(new RegExp(`<${aliceUri}> changed status from Offline to Online`), 2000, from);

    // baresip matches the literal "<rpid:busy/>": the publisher here uses
    // other prefixes, presenced renders the conventional ones.
    const busy =
      `<?xml version="1.0" encoding="UTF-8"?><presence xmlns="${PIDF_NS}" xmlns:d="${DM_NS}" xmlns:r="${RPID_NS}" entity="sip:alice@127.0.0.1">` +
      `<tuple id="a1"><status><basic>open</basic></status></tuple>` +
      `<d:person id="pa"><r:activities><r:busy/></r:activities><d:note>in a meeting</d:note></d:person></presence>`;
    const r2 = await uaPublish('alice', { body: busy, etag: header(r1, 'sip-etag') });
    expect(r2.startLine).toBe('SIP/2.0 200 OK');
    await bob.waitForContactStatus(aliceUri, 'Busy', 5000);
    await bob.waitForOutput(new RegExp(`<${aliceUri}> changed status from Online to Busy`), 2000, from);
    const busyNotify = bob.sipTrace().filter((m) => m.direction === 'received' && m.startLine.startsWith('NOTIFY ') && m.body.includes('in a meeting'));
    expect(busyNotify.length).toBeGreaterThan(0);
    expect(busyNotify[0]?.body).toContain('<rpid:busy/>');

    const r3 = await uaPublish('alice', { etag: header(r2, 'sip-etag'), expires: 0 });
    expect(r3.startLine).toBe('SIP/2.0 200 OK');
    await bob.waitForContactStatus(aliceUri, 'Offline', 5000);
    await bob.waitForOutput(new RegExp(`<${aliceUri}> changed status from Busy to Offline`), 2000, from);
  });

  it('bob PUBLISHes its status: its unset-status body is refused (400), presence_online is accepted and the watcher gets baresip\'s PIDF intact; carol shows bob Online', async () => {
    // Before any status is set (baresip sets "open" only on a successful
    // REGISTER) it publishes <basic>unknown</basic>: not valid PIDF.
    const first = bobPublishes()[0];
    expect(first?.req.body).toContain('<basic>unknown</basic>');
    expect(first?.res?.startLine).toBe('SIP/2.0 400 Bad Request');
    expect(bob.output()).toContain(`${bobUri}: publisher got error response 400 Bad Request`);
    await carol.waitForContactStatus(bobUri, 'Offline', 5000);

    const before = bobPublishes().length;
    expect((await bob.command('presence_online')).ok).toBe(true);
    const deadline = Date.now() + 5000;
    while (!(bobPublishes().length > before && bobPublishes()[before]?.res) && Date.now() < deadline) await sleep(50);
    const online = bobPublishes()[before];
    if (!online?.res) throw new Error('no answered PUBLISH after presence_online');
    expect(online.req.startLine).toBe(`PUBLISH ${bobUri} SIP/2.0`);
    expect(tracedHeader(online.req, 'SIP-If-Match')).toBeUndefined();
    expect(tracedHeader(online.req, 'Expires')).toBe('4');
    expect(tracedHeader(online.req, 'Content-Type')).toBe('application/pidf+xml');
    expect(online.req.body).toContain('<basic>open</basic>');
    expect(online.res.startLine).toBe('SIP/2.0 200 OK');
    expect(tracedHeader(online.res, 'SIP-ETag')).toMatch(/^\S+$/);
    expect(tracedHeader(online.res, 'Expires')).toBe('4');

    const notify = await uaSubscribe('watcher', 'bob', 'sp-watch-bob');
    expect(header(notify, 'content-type')).toBe('application/pidf+xml');
    const published = parseXml(online.req.body);
    const got = parseXml(notify.body);
    expect([got.ns, got.name]).toEqual([PIDF_NS, 'presence']);
    // entity = the presentity's AOR (baresip put its AOR with the proxy port)
    expect(published.attrs['entity']).toBe(bobUri);
    expect(got.attrs['entity']).toBe('sip:bob@127.0.0.1');
    // every element baresip published is there, by namespace, with its
    // attributes and text: the person with its empty RPID activities, the
    // tuple with status and contact
    expect(got.children.map(canon).sort()).toEqual(published.children.map(canon).sort());
    expect(canon(byId(got, 'p4159')!)).toBe(`<{${DM_NS}}person id="p4159">""<{${RPID_NS}}activities>""</></>`);
    expect(byId(got, 't4109')?.children.map((c) => c.name)).toEqual(['status', 'contact']);
    // the namespaces baresip declared, with the prefixes baresip (as a
    // watcher) depends on
    expect(got.decls).toMatchObject({ '': PIDF_NS, dm: DM_NS, rpid: RPID_NS });
    expect(notify.body).toContain('<rpid:activities/>');

    await carol.waitForContactStatus(bobUri, 'Online', 5000);
    await carol.waitForOutput(new RegExp(`<${bobUri}> changed status from Offline to Online`), 2000);
  });

  it('composition: another device\'s publication for bob (unknown extension) is merged; baresip\'s elements and the extension survive', async () => {
    const base = notifiesOn('sp-watch-bob').length;
    const desk =
      `<?xml version="1.0" encoding="UTF-8"?><presence xmlns="${PIDF_NS}" xmlns:x="${EXT_NS}" entity="sip:bob@127.0.0.1">` +
      `<tuple id="desk"><status><basic>open</basic><x:line state="idle" number="1001"/></status><contact>sip:bob-desk@127.0.0.1</contact></tuple>` +
      `<x:location floor="3">Room 3.14</x:location></presence>`;
    const from = ua.received.length;
    const r = await uaPublish('bob', { body: desk });
    expect(r.startLine).toBe('SIP/2.0 200 OK');
    // (the NOTIFY may arrive before the PUBLISH's 200: both legs are independent)
    const n = await ua.waitFor((m) => m.startLine.startsWith('NOTIFY ') && header(m, 'call-id') === 'sp-watch-bob' && m.body.includes('desk'), 8000, from);
    expect(notifiesOn('sp-watch-bob').length).toBeGreaterThan(base);
    const got = parseXml(n.body);
    const bobDoc = parseXml(bobPublishes().filter((p) => p.req.body.includes('<basic>open</basic>')).at(-1)!.req.body);
    const deskDoc = parseXml(desk);
    for (const id of ['t4109', 'p4159']) expect(canon(byId(got, id)!)).toBe(canon(byId(bobDoc, id)!));
    expect(canon(byId(got, 'desk')!)).toBe(canon(byId(deskDoc, 'desk')!));
    const ext = got.children.filter((c) => c.ns === EXT_NS);
    expect(ext.map(canon)).toEqual([canon(deskDoc.children[1]!)]);
    expect(Object.values(got.decls)).toEqual(expect.arrayContaining([PIDF_NS, DM_NS, RPID_NS, EXT_NS]));
    // carol still shows bob Online (both devices open)
    expect((await carol.contactStatuses()).get(bobUri)).toBe('Online');

    const removed = await uaPublish('bob', { etag: header(r, 'sip-etag'), expires: 0 });
    expect(removed.startLine).toBe('SIP/2.0 200 OK');
    const after = await ua.waitFor((m) => m.startLine.startsWith('NOTIFY ') && header(m, 'call-id') === 'sp-watch-bob' && !m.body.includes('desk'), 8000, ua.received.indexOf(n) + 1);
    expect(parseXml(after.body).children.map(canon).sort()).toEqual(bobDoc.children.map(canon).sort());
  });

  it('baresip refreshes its publication (SIP-If-Match with the last ETag, no body) and bob stays Online past several Expires periods', async () => {
    const start = bobPublishes().findIndex((p) => p.req.body.includes('<basic>open</basic>'));
    const deadline = Date.now() + 15_000;
    while (bobPublishes().slice(start + 1).filter((p) => p.res).length < 2 && Date.now() < deadline) await sleep(100);
    const chain = bobPublishes().slice(start);
    expect(chain.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < 3; i++) {
      const { req, res } = chain[i]!;
      expect(tracedHeader(req, 'SIP-If-Match')).toBe(tracedHeader(chain[i - 1]!.res!, 'SIP-ETag'));
      expect(tracedHeader(req, 'SIP-If-Match')).toBe(etagBefore(req));
      expect(tracedHeader(req, 'Content-Length')).toBe('0');
      expect(req.body).toBe('');
      // baresip 1.0.0 keeps "Content-Type: application/pidf+xml" on a
      // bodiless refresh; presenced treats it as the refresh it is
      expect(tracedHeader(req, 'Content-Type')).toBe('application/pidf+xml');
      expect(res?.startLine).toBe('SIP/2.0 200 OK');
      expect(tracedHeader(res!, 'SIP-ETag')).not.toBe(tracedHeader(req, 'SIP-If-Match'));
    }
    // more than two 4 s periods since presence_online: still open everywhere
    const last = notifiesOn('sp-watch-bob').at(-1)!;
    expect(header(last, 'subscription-state')).toMatch(/^active;/);
    expect(last.body).toContain('<basic>open</basic>');
    expect((await carol.contactStatuses()).get(bobUri)).toBe('Online');
  }, 30_000);

  it('presence_offline: a PUBLISH modify (SIP-If-Match, closed) reaches the watcher; carol shows bob Offline', async () => {
    const from = ua.received.length;
    const before = bobPublishes().length;
    expect((await bob.command('presence_offline')).ok).toBe(true);
    const closed = await ua.waitFor((m) => m.startLine.startsWith('NOTIFY ') && header(m, 'call-id') === 'sp-watch-bob' && m.body.includes('<basic>closed</basic>'), 8000, from);
    const isModify = (p: { req: TracedSipMessage }): boolean => p.req.body.includes('<basic>closed</basic>') && tracedHeader(p.req, 'SIP-If-Match') !== undefined;
    // the watcher's NOTIFY can overtake the 200 to baresip: wait for it
    const deadline = Date.now() + 5000;
    while (!bobPublishes().slice(before).find(isModify)?.res && Date.now() < deadline) await sleep(50);
    const modify = bobPublishes().slice(before).find(isModify);
    expect(modify?.res).toBeDefined();
    expect(tracedHeader(modify!.req, 'SIP-If-Match')).toBe(etagBefore(modify!.req));
    // 200; a 412 only if a refresh was in flight at that very moment, and
    // then baresip publishes the same body again without SIP-If-Match
    if (modify!.res?.startLine !== 'SIP/2.0 200 OK') {
      expect(modify!.res?.startLine).toBe('SIP/2.0 412 Conditional Request Failed');
      expect(bobPublishes().slice(before).find((p) => p.req.body.includes('<basic>closed</basic>') && p.res?.startLine === 'SIP/2.0 200 OK')).toBeDefined();
    }
    const got = parseXml(closed.body);
    expect(got.children.map(canon).sort()).toEqual(parseXml(modify!.req.body).children.map(canon).sort());
    await carol.waitForContactStatus(bobUri, 'Offline', 5000);
    await carol.waitForOutput(new RegExp(`<${bobUri}> changed status from Online to Offline`), 2000);
  });

  it('shutdown: baresip removes its publication and ends its subscription; presenced answers both and sends the final NOTIFY', async () => {
    const from = ua.received.length;
    await bob.stop();
    const trace = bob.sipTrace();
    const sent = trace.filter((m) => m.direction === 'sent');
    const unpublish = sent.find((m) => m.startLine.startsWith('PUBLISH ') && tracedHeader(m, 'Expires') === '0');
    expect(unpublish).toBeDefined();
    expect(tracedHeader(unpublish!, 'SIP-If-Match')).toBe(etagBefore(unpublish!));
    expect(trace.find((m) => m.direction === 'received' && isFinal(m) && isResponseTo(m, unpublish!))?.startLine).toBe('SIP/2.0 200 OK');
    const unsubscribe = sent.find((m) => m.startLine === `SUBSCRIBE sip:presence@127.0.0.1:${k} SIP/2.0` && tracedHeader(m, 'Expires') === '0');
    expect(unsubscribe).toBeDefined();
    expect(tracedHeader(unsubscribe!, 'To')).toMatch(/;tag=\S+/);
    expect(trace.find((m) => m.direction === 'received' && isFinal(m) && isResponseTo(m, unsubscribe!))?.startLine).toBe('SIP/2.0 200 OK');
    const final = trace.find((m) => m.direction === 'received' && m.startLine.startsWith('NOTIFY ') && tracedHeader(m, 'Call-ID') === tracedHeader(unsubscribe!, 'Call-ID') && /^terminated/.test(tracedHeader(m, 'Subscription-State') ?? ''));
    expect(tracedHeader(final!, 'Subscription-State')).toBe('terminated;reason=timeout');
    // bob's publication is gone: the watcher gets a document without it
    const gone = await ua.waitFor((m) => m.startLine.startsWith('NOTIFY ') && header(m, 'call-id') === 'sp-watch-bob' && !m.body.includes('t4109'), 8000, from);
    expect(parseXml(gone.body).children).toEqual([]);
    expect(bob.alive).toBe(false);
  });
});
