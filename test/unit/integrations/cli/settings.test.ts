/**
 * presenced's settings (integrations/cli/settings.ts): defaults, the
 * environment overriding the config file, and refusals that name the
 * setting (the service must not start on a bad value).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultSettings, loadSettings } from '../../../../integrations/cli/settings.js';

const dir = mkdtempSync(join(tmpdir(), 'presenced-settings-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(content: unknown): string {
  const f = join(dir, `s${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(f, JSON.stringify(content));
  return f;
}

describe('settings', () => {
  it('defaults: SIP delivery over TCP to Kamailio on 127.0.0.1:5060, durable commits', () => {
    const d = defaultSettings();
    expect(d.delivery.mode).toBe('sip');
    expect(d.delivery.proxy).toEqual({ host: '127.0.0.1', port: 5060, transport: 'tcp' });
    expect(d.durability).toBe('sync');
    const r = loadSettings(undefined, {});
    expect(r.ok).toBe(true);
  });

  it('the environment overrides the config file', () => {
    const cfg = file({ delivery: { proxy: { host: '10.0.0.1', port: 5080, transport: 'tcp' } }, durability: 'sync' });
    const r = loadSettings(cfg, { PRESENCED_DELIVERY_TRANSPORT: 'udp', PRESENCED_PROXY_HOST: '10.0.0.9', PRESENCED_DURABILITY: 'none' });
    if (!r.ok) throw new Error(r.problems.join('; '));
    expect(r.settings.delivery.proxy).toEqual({ host: '10.0.0.9', port: 5080, transport: 'udp' });
    expect(r.settings.durability).toBe('none');
    const fromFile = loadSettings(cfg, {});
    if (!fromFile.ok) throw new Error(fromFile.problems.join('; '));
    expect(fromFile.settings.delivery.proxy).toEqual({ host: '10.0.0.1', port: 5080, transport: 'tcp' });
  });

  it('refuses bad values, naming the setting', () => {
    const bad = loadSettings(undefined, { PRESENCED_DELIVERY_TRANSPORT: 'sctp', PRESENCED_DURABILITY: 'later', PRESENCED_THREADS: 'many' });
    expect(bad.ok).toBe(false);
    const problems = bad.ok ? [] : bad.problems.join('\n');
    expect(problems).toContain('delivery.proxy.transport');
    expect(problems).toContain('durability');
    expect(problems).toContain('PRESENCED_THREADS');
    expect(loadSettings(join(dir, 'missing.json'), {}).ok).toBe(false);
  });
});
