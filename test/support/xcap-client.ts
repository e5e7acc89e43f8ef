/** A small XCAP (HTTP + Digest, RFC 7616 qop=auth) client for tests. */
import { createHash, randomBytes } from 'node:crypto';

export interface XcapClientResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
}

export class XcapClient {
  private nc = 0;
  private challenge: Record<string, string> | undefined;

  constructor(
    private readonly base: string,
    private readonly username: string,
    private readonly password: string,
    private readonly algorithm: 'MD5' | 'SHA-256' = 'SHA-256',
  ) {}

  async request(method: string, path: string, o: { body?: string | Buffer; contentType?: string; headers?: Record<string, string> } = {}): Promise<XcapClientResponse> {
    const url = new URL(path, this.base);
    const send = async (auth?: string): Promise<Response> => {
      const headers: Record<string, string> = { ...o.headers };
      if (auth) headers.Authorization = auth;
      if (o.contentType) headers['Content-Type'] = o.contentType;
      const init: RequestInit = { method, headers };
      if (o.body !== undefined) init.body = o.body;
      return fetch(url, init);
    };
    let res = this.challenge ? await send(this.authorization(method, url)) : await send();
    if (res.status === 401) {
      const www = res.headers.get('www-authenticate') ?? '';
      const pick = www.split(/,\s*(?=Digest )/).find((c) => c.includes(`algorithm=${this.algorithm}`)) ?? www;
      this.challenge = {};
      for (const m of pick.matchAll(/(\w+)=(?:"([^"]*)"|([^\s,]+))/g)) this.challenge[(m[1] as string).toLowerCase()] = (m[2] ?? m[3]) as string;
      await res.arrayBuffer();
      res = await send(this.authorization(method, url));
    }
    return { status: res.status, headers: res.headers, body: await res.text() };
  }

  private authorization(method: string, url: URL): string {
    const c = this.challenge as Record<string, string>;
    const h = (s: string): string => createHash(this.algorithm === 'MD5' ? 'md5' : 'sha256').update(s).digest('hex');
    const uri = url.pathname + url.search;
    const nc = (++this.nc).toString(16).padStart(8, '0');
    const cnonce = randomBytes(8).toString('hex');
    const ha1 = h(`${this.username}:${c.realm}:${this.password}`);
    const ha2 = h(`${method}:${uri}`);
    const response = h(`${ha1}:${c.nonce}:${nc}:${cnonce}:auth:${ha2}`);
    return `Digest username="${this.username}", realm="${c.realm}", nonce="${c.nonce}", uri="${uri}", algorithm=${this.algorithm}, qop=auth, nc=${nc}, cnonce="${cnonce}", response="${response}", opaque="${c.opaque ?? ''}"`;
  }
}
