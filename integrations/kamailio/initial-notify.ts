/**
 * The NOTIFY that must follow a SUBSCRIBE's 2xx travels inside the JSON-RPC
 * result and is sent by Kamailio's result route with t_uac_send() right
 * after t_reply() (tm 5.6: `t_uac_send(method, ruri, nexthop, socket,
 * headers, body)`; it keeps our From tag). These are its parameters.
 */
import type { Notify } from '../../core/contract.js';
import { parseDialogHeaders } from '../../core/sip/notify-headers.js';

export interface TUacSendParams {
  readonly notifyRuri: string;
  /** '' = route by the Route headers / Request-URI. */
  readonly notifyNexthop: string;
  /** CRLF-separated header lines, without Content-Length (tm adds it). */
  readonly notifyHeaders: string;
  readonly notifyBody: string;
}

const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f]/;

/** Parameters for t_uac_send, or undefined when the NOTIFY cannot be passed safely as config strings. */
export function tUacSendParams(n: Notify): TUacSendParams | undefined {
  let nexthop = '';
  if (n.destination) nexthop = `sip:${n.destination.address.includes(':') ? `[${n.destination.address}]` : n.destination.address}:${n.destination.port};transport=${n.destination.transport}`;
  else if (n.nextHop !== n.requestUri) nexthop = n.nextHop;
  let headers = `${n.dialogHeaders}CSeq: ${n.cseq} NOTIFY\r\nSubscription-State: ${n.subscriptionState}\r\nMax-Forwards: 70\r\n`;
  if (n.body) headers += `Content-Type: ${n.body.contentType}\r\n`;
  for (const v of [n.requestUri, nexthop, n.subscriptionState]) if (CONTROL.test(v)) return undefined;
  if (headers.slice(0, -2).split('\r\n').some((l) => CONTROL.test(l))) return undefined;
  if (n.body?.text.includes('\u0000')) return undefined;
  return { notifyRuri: n.requestUri, notifyNexthop: nexthop, notifyHeaders: headers, notifyBody: n.body?.text ?? '' };
}

/** The NOTIFY of `notifies` that belongs to the dialog of the SUBSCRIBE with this Call-ID. */
export function subscriberNotify(notifies: readonly Notify[], callId: string): Notify | undefined {
  return notifies.find((n) => parseDialogHeaders(n.dialogHeaders).callId === callId);
}
