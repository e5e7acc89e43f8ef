/**
 * The shipped monitoring artefacts are valid for the tools that load them:
 * promtool accepts monitoring/prometheus/prometheus.yml and alerts.yml, the
 * alert rules fire on the inputs they are meant for (promtool rule unit
 * tests), the Grafana dashboard JSON parses and is consistent with the
 * provisioning files, and the example Kamailio config with xhttp_prom passes
 * `kamailio -c` with every combination of its defines.
 *
 * Needs promtool (monitoring/setup/install-prometheus.sh) and kamailio
 * (integrations/kamailio/setup/install-debian-packages.sh).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { kamailioBinary } from '../../integrations/kamailio/kamailio-process.js';
import {
  ALERTS_YML,
  DASHBOARD_JSON,
  PROMETHEUS_YML,
  REPO,
  alertRules,
  dashboardTargets,
  promtool,
  substituteTemplate,
  unknownVariables,
} from './prometheus-process.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'presenced-monitoring-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const DATASOURCE_PROVISIONING = path.join(REPO, 'monitoring/grafana/provisioning/datasources/prometheus.yml');
const DASHBOARD_PROVISIONING = path.join(REPO, 'monitoring/grafana/provisioning/dashboards/presenced.yml');

describe('promtool accepts the shipped Prometheus files', () => {
  it('promtool check config monitoring/prometheus/prometheus.yml (and the rule file it names)', () => {
    const r = promtool(['check', 'config', PROMETHEUS_YML]);
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/SUCCESS: .*prometheus\.yml is valid prometheus config file syntax/);
    expect(r.stdout).toMatch(/SUCCESS: 1 rule files found/);
    // both scrape jobs the alert rules refer to
    const cfg = readFileSync(PROMETHEUS_YML, 'utf8');
    expect(cfg).toMatch(/job_name: presenced\n\s+metrics_path: \/metrics[\s\S]*targets: \['127\.0\.0\.1:9469'\]/);
    expect(cfg).toMatch(/job_name: kamailio\n\s+metrics_path: \/metrics[\s\S]*targets: \['127\.0\.0\.1:5060'\]/);
  });

  it('promtool check rules monitoring/prometheus/alerts.yml; every required alert is there with for/severity/summary/description', () => {
    const r = promtool(['check', 'rules', ALERTS_YML]);
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    const rules = alertRules(readFileSync(ALERTS_YML, 'utf8'));
    expect(r.stdout).toContain(`SUCCESS: ${rules.length} rules found`);
    const names = rules.map((x) => x.alert);
    for (const required of [
      'PresencedDown',
      'PresencedKamailioLinkDown',
      'PresencedKamailioRpcDisconnected',
      'PresencedNotifyFailureRatioHigh',
      'PresencedPublishToNotifyP99High',
      'PresencedPoolQueueSaturated',
      'PresencedLmdbMapNearlyFull',
    ]) {
      expect(names).toContain(required);
    }
    // each rule block has for, severity, summary and description
    const text = readFileSync(ALERTS_YML, 'utf8');
    const blocks = text.split(/\n\s+- alert: /).slice(1);
    expect(blocks).toHaveLength(rules.length);
    for (const b of blocks) {
      const name = b.split('\n')[0];
      expect(b, name).toMatch(/\n\s+for: \d+[smh]\n/);
      expect(b, name).toMatch(/\n\s+severity: (critical|warning)\n/);
      expect(b, name).toMatch(/\n\s+summary: \S/);
      expect(b, name).toMatch(/\n\s+description: \S/);
    }
  });

  it('the alert rules fire on the inputs they are meant for, and stay quiet otherwise (promtool test rules)', () => {
    // Same rules without annotations: promtool compares annotations verbatim,
    // this test is about expressions, `for` and labels.
    const stripped = stripAnnotations(readFileSync(ALERTS_YML, 'utf8'));
    const rulesFile = path.join(tmp, 'alerts-no-annotations.yml');
    writeFileSync(rulesFile, stripped);
    expect(promtool(['check', 'rules', rulesFile]).status).toBe(0);
    const p = 'job="presenced", instance="ps1:9469"';
    const tests = `
rule_files:
  - ${rulesFile}
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'up{${p}}'
        values: '1 1 0 0 0 0'
      - series: 'up{job="kamailio", instance="k1:5060"}'
        values: '1 1 1 0 0 0 0'
      - series: 'presenced_kamailio_link_up{${p}, mode="sip"}'
        values: '1 0 0 0 0 0'
      - series: 'presenced_kamailio_rpc_connections{${p}}'
        values: '1 1 1 1 1 1'
      - series: 'presenced_pool_queue_depth{${p}}'
        values: '100 17000 17000 17000 17000 17000'
      - series: 'presenced_pool_max_pending{${p}}'
        values: '20000x10'
      - series: 'presenced_pool_refused_total{${p}}'
        values: '0 0 10 20 30 40'
      - series: 'presenced_lmdb_map_used_bytes{${p}}'
        values: '950x40'
      - series: 'presenced_lmdb_map_size_bytes{${p}}'
        values: '1000x40'
    alert_rule_test:
      - eval_time: 2m
        alertname: PresencedDown
        exp_alerts: []
      - eval_time: 3m
        alertname: PresencedDown
        exp_alerts:
          - exp_labels: { severity: critical, job: presenced, instance: "ps1:9469" }
      - eval_time: 5m
        alertname: KamailioMetricsDown
        exp_alerts:
          - exp_labels: { severity: warning, job: kamailio, instance: "k1:5060" }
      - eval_time: 2m
        alertname: PresencedKamailioLinkDown
        exp_alerts:
          - exp_labels: { severity: critical, job: presenced, instance: "ps1:9469", mode: sip }
      - eval_time: 5m
        alertname: PresencedKamailioRpcDisconnected
        exp_alerts: []
      - eval_time: 4m
        alertname: PresencedPoolQueueSaturated
        exp_alerts:
          - exp_labels: { severity: warning, instance: "ps1:9469" }
      - eval_time: 4m
        alertname: PresencedPoolRefusingRequests
        exp_alerts:
          - exp_labels: { severity: critical, instance: "ps1:9469" }
      - eval_time: 20m
        alertname: PresencedLmdbMapNearlyFull
        exp_alerts: []
      - eval_time: 35m
        alertname: PresencedLmdbMapNearlyFull
        exp_alerts:
          - exp_labels: { severity: warning, job: presenced, instance: "ps1:9469" }

  # NOTIFY failure ratio: 20% non-2xx fires after 10 minutes, 2% does not
  - interval: 1m
    input_series:
      - series: 'presenced_notify_responses_total{${p}, mode="sip", code="200"}'
        values: '0+240x30'
      - series: 'presenced_notify_responses_total{${p}, mode="sip", code="481"}'
        values: '0+60x30'
      - series: 'presenced_notify_responses_total{job="presenced", instance="ps2:9469", mode="sip", code="200"}'
        values: '0+294x30'
      - series: 'presenced_notify_responses_total{job="presenced", instance="ps2:9469", mode="sip", code="408"}'
        values: '0+6x30'
    alert_rule_test:
      - eval_time: 10m
        alertname: PresencedNotifyFailureRatioHigh
        exp_alerts: []
      - eval_time: 20m
        alertname: PresencedNotifyFailureRatioHigh
        exp_alerts:
          - exp_labels: { severity: warning, instance: "ps1:9469" }

  # PUBLISH→NOTIFY p99: every observation in the 2..5 s bucket fires; all below 10 ms does not
  - interval: 1m
    input_series:
      - series: 'presenced_publish_to_notify_seconds_bucket{${p}, mode="sip", le="0.01"}'
        values: '0+0x30'
      - series: 'presenced_publish_to_notify_seconds_bucket{${p}, mode="sip", le="2"}'
        values: '0+0x30'
      - series: 'presenced_publish_to_notify_seconds_bucket{${p}, mode="sip", le="5"}'
        values: '0+100x30'
      - series: 'presenced_publish_to_notify_seconds_bucket{${p}, mode="sip", le="+Inf"}'
        values: '0+100x30'
      - series: 'presenced_publish_to_notify_seconds_bucket{job="presenced", instance="ps2:9469", mode="sip", le="0.01"}'
        values: '0+100x30'
      - series: 'presenced_publish_to_notify_seconds_bucket{job="presenced", instance="ps2:9469", mode="sip", le="+Inf"}'
        values: '0+100x30'
    alert_rule_test:
      - eval_time: 20m
        alertname: PresencedPublishToNotifyP99High
        exp_alerts:
          - exp_labels: { severity: warning, instance: "ps1:9469" }
`;
    const testFile = path.join(tmp, 'alerts-unit.yml');
    writeFileSync(testFile, tests);
    const r = promtool(['test', 'rules', testFile]);
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    expect(r.stdout).toContain('SUCCESS');
  });
});

/** alerts.yml without the annotations blocks (line-based: the file's own indentation). */
function stripAnnotations(text: string): string {
  const out: string[] = [];
  let skipIndent = -1;
  for (const line of text.split('\n')) {
    const indent = line.length - line.trimStart().length;
    if (skipIndent >= 0) {
      if (line.trim() === '' || indent > skipIndent) continue;
      skipIndent = -1;
    }
    if (/^\s*annotations:\s*$/.test(line)) {
      skipIndent = indent;
      continue;
    }
    out.push(line);
  }
  return out.join('\n');
}

describe('Grafana dashboard and provisioning', () => {
  const dashboard = JSON.parse(readFileSync(DASHBOARD_JSON, 'utf8')) as {
    uid: string;
    title: string;
    schemaVersion: number;
    panels: { id: number; type: string; title: string; gridPos: { x: number; y: number; w: number; h: number }; datasource?: { uid?: string }; targets?: { expr?: string; datasource?: { uid?: string } }[] }[];
    templating: { list: { name: string; type: string; query?: unknown; current?: { value?: unknown } }[] };
  };

  it('parses; every panel has a Prometheus query through the ${datasource} variable; ids unique; layout within 24 columns', () => {
    expect(dashboard.uid).toBe('presenced');
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const rows = dashboard.panels.filter((p) => p.type === 'row').map((p) => p.title);
    expect(rows).toEqual(['Overview', 'Traffic', 'Latency', 'NOTIFY outcomes', 'Subscriptions and publications', 'Worker pool', 'Store (LMDB)', 'Kamailio', 'Process']);
    for (const p of dashboard.panels.filter((x) => x.type !== 'row')) {
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      expect(p.datasource?.uid, p.title).toBe('${datasource}');
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets ?? []) {
        expect(t.expr?.trim(), p.title).toBeTruthy();
        expect(t.datasource?.uid, p.title).toBe('${datasource}');
      }
    }
    const vars = dashboard.templating.list.map((v) => v.name);
    expect(vars).toEqual(['datasource', 'instance', 'kamailio']);
  });

  it('uses only template variables the live test can substitute', () => {
    const targets = dashboardTargets(dashboard);
    expect(targets.length).toBeGreaterThan(40);
    for (const t of targets) {
      expect(unknownVariables(t.expr), `${t.panel}/${t.refId}: ${t.expr}`).toEqual([]);
      expect(substituteTemplate(t.expr)).not.toContain('$');
    }
  });

  it('the datasource provisioning uid is the dashboard\'s default datasource; the dashboard provider is a file provider', () => {
    const ds = readFileSync(DATASOURCE_PROVISIONING, 'utf8');
    const uid = /^\s+uid:\s*(\S+)\s*$/m.exec(ds)?.[1];
    expect(uid).toBe('presenced-prometheus');
    expect(ds).toMatch(/^\s+type:\s*prometheus\s*$/m);
    expect(ds).toMatch(/^apiVersion:\s*1\s*$/m);
    const dsVar = dashboard.templating.list.find((v) => v.name === 'datasource');
    expect(dsVar?.type).toBe('datasource');
    expect(dsVar?.query).toBe('prometheus');
    expect(dsVar?.current?.value).toBe(uid);
    const prov = readFileSync(DASHBOARD_PROVISIONING, 'utf8');
    expect(prov).toMatch(/^apiVersion:\s*1\s*$/m);
    expect(prov).toMatch(/^\s+type:\s*file\s*$/m);
    expect(prov).toMatch(/^\s+path:\s*\/\S+\s*$/m);
    // full YAML parse where a parser is at hand (python3-yaml); the regexes above hold either way
    const py = spawnSync('python3', ['-c', 'import sys, yaml, json\nfor f in sys.argv[1:]: print(json.dumps(yaml.safe_load(open(f))))', DATASOURCE_PROVISIONING, DASHBOARD_PROVISIONING], { encoding: 'utf8', timeout: 20_000 });
    if (py.status === 0) {
      const [d, p] = py.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      expect((d?.['datasources'] as { uid: string }[])[0]?.uid).toBe(uid);
      expect((p?.['providers'] as { type: string }[])[0]?.type).toBe('file');
    }
  });
});

describe.skipIf(kamailioBinary() === null)('example Kamailio config with xhttp_prom', () => {
  const cfg = path.join(REPO, 'integrations/kamailio/cfg/kamailio-presence-proxy.cfg');
  it.each([
    [[]],
    [['WITH_PROMETHEUS']],
    [['WITH_RPC_DELIVERY']],
    [['WITH_PROMETHEUS', 'WITH_RPC_DELIVERY']],
    [['WITH_PROMETHEUS', 'WITH_RPC_DELIVERY', 'PRESENCED_RPC_OWN_XHTTP_ROUTE']],
  ] as const)('kamailio -c -f kamailio-presence-proxy.cfg with %j', (defines) => {
    const r = spawnSync(kamailioBinary() as string, ['-c', '-f', cfg, ...defines.flatMap((d) => ['-A', d])], { encoding: 'utf8', timeout: 20_000 });
    const out = `${r.stdout}${r.stderr}`;
    expect(r.status, out).toBe(0);
    expect(out).toContain('config file ok');
  });
});
