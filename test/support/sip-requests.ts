/** Builders of realistic SipRequest values for tests. */
import type { SipRequest, SourceAddress } from '../../core/contract.js';

export const SOURCE: SourceAddress = { transport: 'udp', address: '192.0.2.10', port: 5060 };

let counter = 0;
export function uniq(prefix: string): string {
  counter += 1;
  return `${prefix}${counter}`;
}

export function pidf(entity: string, basic: 'open' | 'closed', note?: string, tupleId = 't1'): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" ` +
    `xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="${entity}">\n` +
    `  <tuple id="${tupleId}"><status><basic>${basic}</basic></status><contact priority="0.8">${entity}</contact></tuple>\n` +
    (note ? `  <dm:person id="p1"><rpid:activities><rpid:busy/></rpid:activities><dm:note>${note}</dm:note></dm:person>\n` : '') +
    `</presence>`
  );
}

export interface PublishOptions {
  readonly aor: string;
  readonly body?: string;
  readonly etag?: string;
  readonly expires?: number | string;
  readonly event?: string;
  readonly contentType?: string;
  readonly callId?: string;
  readonly cseq?: number;
}

export function publish(o: PublishOptions): SipRequest {
  const req: Record<string, unknown> = {
    method: 'PUBLISH',
    requestUri: o.aor,
    callId: o.callId ?? uniq('pub-'),
    from: `<${o.aor}>;tag=${uniq('pf')}`,
    to: `<${o.aor}>`,
    cseq: o.cseq ?? 1,
    event: o.event ?? 'presence',
    source: SOURCE,
    localTag: uniq('lt'),
  };
  if (o.expires !== undefined) req.expires = String(o.expires);
  if (o.etag !== undefined) req.sipIfMatch = o.etag;
  if (o.body !== undefined) {
    req.body = o.body;
    req.contentType = o.contentType ?? 'application/pidf+xml';
  }
  return req as unknown as SipRequest;
}

export interface SubscribeOptions {
  readonly watcher: string;
  readonly resource: string;
  readonly event?: string;
  readonly expires?: number | string;
  readonly accept?: readonly string[];
  readonly callId?: string;
  readonly fromTag?: string;
  /** Our tag as the edge will put it in the 2xx (initial) or the dialog's To tag (in-dialog). */
  readonly localTag?: string;
  readonly inDialog?: boolean;
  readonly cseq?: number;
  readonly contact?: string;
  readonly recordRoute?: readonly string[];
  readonly source?: SourceAddress;
  readonly identity?: string;
}

export function subscribe(o: SubscribeOptions): SipRequest {
  const localTag = o.localTag ?? uniq('lt');
  const req: Record<string, unknown> = {
    method: 'SUBSCRIBE',
    requestUri: o.inDialog ? 'sip:presence@192.0.2.1:5060' : o.resource,
    callId: o.callId ?? uniq('sub-'),
    from: `"Watcher" <${o.watcher}>;tag=${o.fromTag ?? 'wf1'}`,
    to: o.inDialog ? `<${o.resource}>;tag=${localTag}` : `<${o.resource}>`,
    cseq: o.cseq ?? 1,
    contact: o.contact ?? `<sip:${o.watcher.replace(/^sip:/, '').replace(/@.*/, '')}@192.0.2.20:5062;transport=udp>`,
    event: o.event ?? 'presence',
    source: o.source ?? SOURCE,
    localTag,
  };
  if (o.expires !== undefined) req.expires = String(o.expires);
  if (o.accept !== undefined) req.accept = o.accept;
  if (o.recordRoute !== undefined) req.recordRoute = o.recordRoute;
  if (o.identity !== undefined) req.identity = o.identity;
  return req as unknown as SipRequest;
}
