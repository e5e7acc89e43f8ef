/**
 * Free loopback ports for test servers. A port is handed out only when both
 * a TCP listener and a UDP socket could bind it (SIP listens on both), and
 * never twice within one process, so parallel suites in one worker do not
 * collide with each other. Another process can still take a port between
 * the probe and its use: callers start their server promptly.
 */
import dgram from 'node:dgram';
import net from 'node:net';

const issued = new Set<number>();

function bindTcp(port: number, host: string): Promise<net.Server | null> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(null));
    srv.listen({ port, host, exclusive: true }, () => resolve(srv));
  });
}

function bindUdp(port: number, host: string): Promise<dgram.Socket | null> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket({ type: host.includes(':') ? 'udp6' : 'udp4' });
    sock.once('error', () => {
      sock.close();
      resolve(null);
    });
    sock.bind({ port, address: host, exclusive: true }, () => resolve(sock));
  });
}

function closeTcp(srv: net.Server): Promise<void> {
  return new Promise((resolve) => srv.close(() => resolve()));
}

function closeUdp(sock: dgram.Socket): Promise<void> {
  return new Promise((resolve) => sock.close(() => resolve()));
}

/** A port free for both TCP and UDP on `host` (default 127.0.0.1). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const tcp = await bindTcp(0, host);
    if (tcp === null) continue;
    const addr = tcp.address();
    const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
    const udp = port > 0 && !issued.has(port) ? await bindUdp(port, host) : null;
    await closeTcp(tcp);
    if (udp === null) continue;
    await closeUdp(udp);
    issued.add(port);
    return port;
  }
  throw new Error(`no free TCP+UDP port on ${host} after 50 attempts`);
}

/** `count` distinct free ports. */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const ports: number[] = [];
  for (let i = 0; i < count; i++) ports.push(await freePort(host));
  return ports;
}
