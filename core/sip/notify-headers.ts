/**
 * The header block of a dialog's NOTIFYs (RFC 6665 §4.2.2, RFC 3261
 * §12.2.1.1): rendered once per dialog (creation, refresh), parsed back only
 * when a front or a test wants the typed view.
 */
import type { Notify, NotifyHeaders } from '../contract.js';

export interface DialogHeaderFields {
  readonly from: string;
  readonly to: string;
  readonly callId: string;
  readonly route: readonly string[];
  readonly contact: string;
  readonly event: string;
}

/** Render the constant header lines of a dialog, CRLF-terminated. */
export function renderDialogHeaders(f: DialogHeaderFields): string {
  let s = `From: ${f.from}\r\nTo: ${f.to}\r\nCall-ID: ${f.callId}\r\n`;
  for (const r of f.route) s += `Route: ${r}\r\n`;
  return `${s}Contact: ${f.contact}\r\nEvent: ${f.event}\r\n`;
}

/** Parse a block made by `renderDialogHeaders`. */
export function parseDialogHeaders(block: string): DialogHeaderFields {
  const out = { from: '', to: '', callId: '', route: [] as string[], contact: '', event: '' };
  for (const line of block.split('\r\n')) {
    const i = line.indexOf(': ');
    if (i < 0) continue;
    const name = line.slice(0, i);
    const value = line.slice(i + 2);
    switch (name) {
      case 'From':
        out.from = value;
        break;
      case 'To':
        out.to = value;
        break;
      case 'Call-ID':
        out.callId = value;
        break;
      case 'Route':
        out.route.push(value);
        break;
      case 'Contact':
        out.contact = value;
        break;
      case 'Event':
        out.event = value;
        break;
      default:
        break;
    }
  }
  return out;
}

/** The typed header view of a NOTIFY. */
export function notifyHeaders(n: Notify): NotifyHeaders {
  return { ...parseDialogHeaders(n.dialogHeaders), cseq: n.cseq, subscriptionState: n.subscriptionState };
}
