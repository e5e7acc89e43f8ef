/**
 * The HTML report of a benchmark run (one self-contained file, SVG plots
 * drawn by bench/lib/svg.ts): headline table and ratios, then per scenario
 * throughput vs offered rate, NOTIFY/s vs offered rate, latency
 * percentiles over time, CPU over time and the CPU split between Kamailio
 * and presenced, and the step tables. Machine facts and parameters at the end.
 */
import type { StepResult } from '../scenarios/types.js';
import { HEADLINE_METRICS, type HeadlineRow } from './headline.js';
import type { ScenarioRun, TargetRun } from './runner.js';
import { esc, fmt, lineChart, PALETTE, type Series, stackedBarChart } from './svg.js';

export interface BenchResult {
  benchmark: 'presenced-bench';
  formatVersion: 1;
  name: string;
  command: string;
  startedAt: string;
  finishedAt: string;
  quick: boolean;
  machine: Record<string, unknown>;
  parameters: Record<string, unknown>;
  scenarios: ScenarioRun[];
  headline: { rows: HeadlineRow[]; ratios: Record<string, Record<string, number | null>> };
  completed: boolean;
  failures: number;
  notes: string[];
}

const TARGET_COLORS: Record<string, string | undefined> = {
  'presenced-sip': PALETTE[0] as string,
  'presenced-rpc': PALETTE[4] as string,
  'kamailio-sqlite': PALETTE[1] as string,
  'kamailio-memory': PALETTE[2] as string,
};

function cell(v: unknown): string {
  if (v === null || v === undefined) return '<td class="na">–</td>';
  if (typeof v === 'number') return `<td class="num">${esc(fmt(v))}</td>`;
  return `<td>${esc(String(v))}</td>`;
}

function headlineTable(r: BenchResult): string {
  const rows = r.headline.rows;
  if (rows.length === 0) return '';
  let h = '<table><thead><tr><th>metric</th>';
  for (const row of rows) h += `<th>${esc(row.label)}</th>`;
  const ratioKeys = Object.keys(r.headline.ratios);
  for (const k of ratioKeys) h += `<th>ratio ${esc(k)}</th>`;
  h += '<th>better</th></tr></thead><tbody>';
  for (const m of HEADLINE_METRICS) {
    if (rows.every((row) => row[m.key] === null)) continue;
    h += `<tr><td>${esc(m.label)}</td>`;
    for (const row of rows) h += cell(row[m.key]);
    for (const k of ratioKeys) {
      const v = r.headline.ratios[k]?.[m.key] ?? null;
      h += v === null ? '<td class="na">–</td>' : `<td class="num">×${esc(fmt(v))}</td>`;
    }
    h += `<td>${m.better}</td></tr>`;
  }
  return `${h}</tbody></table><p class="note">Ratios are presenced ÷ Kamailio: above 1 is better for rates, below 1 is better for latency, CPU and duplicates. Measured one after the other in this run on this machine; see the machine load columns below.</p>`;
}

function stepTable(sc: ScenarioRun, t: TargetRun): string {
  let h =
    `<table class="steps"><thead><tr><th>step</th><th>offered ${esc(sc.unit)}</th><th>achieved</th><th>×</th><th>PUBLISH/s</th><th>SUBSCRIBE/s</th>` +
    '<th>NOTIFY/s</th><th>NOTIFYs</th><th>expected</th><th>lat p50</th><th>lat p99</th><th>resp p50/p99</th><th>Kam CPU s</th><th>pres CPU s</th>' +
    '<th>s/1000 NOTIFY K+p</th><th>machine cores</th><th>dups</th><th>failures</th><th></th></tr></thead><tbody>';
  for (const s of t.steps) {
    const resp = Object.entries(s.responseMs)
      .filter(([, p]) => p.count > 0)
      .map(([k, p]) => `${k} ${fmt(p.p50)}/${fmt(p.p99)}`)
      .join(', ');
    h +=
      `<tr class="${s.ok ? 'ok' : 'bad'}"><td>${s.step + 1}</td>${cell(s.offeredPerSec)}${cell(s.achievedPerSec)}${cell(s.achievedRatio)}` +
      `${cell(s.publish.perSec)}${cell(s.subscribe.perSec)}${cell(s.notify.perSec)}${cell(s.notify.delivered)}${cell(s.notify.expected)}` +
      `${cell(s.latencyMs?.p50 ?? null)}${cell(s.latencyMs?.p99 ?? null)}<td class="small">${esc(resp)}</td>${cell(s.cpu.kamailioSeconds)}${cell(s.cpu.presencedSeconds)}` +
      `${cell(Number.isFinite(s.cpu.kamailioSecondsPer1000Notify) ? s.cpu.kamailioSecondsPer1000Notify + (Number.isFinite(s.cpu.presencedSecondsPer1000Notify) ? s.cpu.presencedSecondsPer1000Notify : 0) : null)}` +
      `${cell(s.cpu.machineBusyCores)}${cell(s.notify.duplicates)}${cell(s.failures)}<td class="small">${esc(s.failureDetails.join('; '))}</td></tr>`;
  }
  return `${h}</tbody></table>`;
}

function atMax(t: TargetRun): StepResult | undefined {
  return t.maxSustained ? t.steps[t.maxSustained.step] : t.steps[0];
}

function scenarioSection(sc: ScenarioRun): string {
  let h = `<section><h2>${esc(sc.title)}</h2><p>${esc(sc.description)}</p>`;
  h += `<p class="note">Ramp: ${sc.ramp.fixedRate !== null ? `one step at ${sc.ramp.fixedRate}` : `start ${sc.ramp.start} ${esc(sc.unit)}, ×${sc.ramp.factor} per step, at most ${sc.ramp.maxSteps} steps${sc.ramp.refine > 0 ? `, then ${sc.ramp.refine} bisection step(s) between the last passing and the first failing rate` : ''}`}, ${sc.ramp.seconds} s per step; a step passes with &lt; 1 % failures and achieved/offered ≥ 0.9.</p>`;
  h += '<table><thead><tr><th>target</th><th>max sustained</th><th>stopped by</th><th>wall s</th></tr></thead><tbody>';
  for (const t of sc.targets) {
    h +=
      `<tr class="${t.ok ? 'ok' : 'bad'}"><td>${esc(t.label)}</td><td>${t.maxSustained ? `${esc(fmt(t.maxSustained.achievedPerSec))} ${esc(sc.unit)} (offered ${esc(fmt(t.maxSustained.offeredPerSec))})` : '–'}</td>` +
      `<td class="small">${esc(t.error ? `error: ${t.error.split('\n')[0]}` : t.stoppedBy ? `${fmt(t.stoppedBy.offeredPerSec)}: ${t.stoppedBy.reason}` : 'ramp end')}</td><td class="num">${t.wallSeconds}</td></tr>`;
  }
  h += '</tbody></table><div class="charts">';
  const byOffered = (t: TargetRun): StepResult[] => [...t.steps].sort((a, b) => a.offeredPerSec - b.offeredPerSec);
  const tp: Series[] = sc.targets.map((t) => ({ name: t.target, color: TARGET_COLORS[t.target], points: byOffered(t).map((s) => [s.offeredPerSec, s.achievedPerSec] as const) }));
  const allOffered = sc.targets.flatMap((t) => t.steps.map((s) => s.offeredPerSec));
  if (allOffered.length > 0) {
    const lo = Math.min(...allOffered);
    const hi = Math.max(...allOffered);
    tp.push({ name: 'offered = achieved', color: '#999', dashed: true, markers: false, points: [[lo, lo], [hi, hi]] });
  }
  h += lineChart({ title: `Throughput vs offered rate (${sc.unit})`, xLabel: `offered ${sc.unit}`, yLabel: `achieved ${sc.unit}`, series: tp, xLog: true, yLog: true });
  if (sc.targets.some((t) => t.steps.some((s) => s.notify.delivered > 0))) {
    h += lineChart({
      title: 'NOTIFY/s delivered vs offered rate',
      xLabel: `offered ${sc.unit}`,
      yLabel: 'NOTIFY/s at the watchers',
      xLog: true,
      series: sc.targets.map((t) => ({ name: t.target, color: TARGET_COLORS[t.target], points: byOffered(t).map((s) => [s.offeredPerSec, s.notify.perSec] as const) })),
    });
  }
  // CPU split at the max sustained step (per 1000 NOTIFYs, or per request without NOTIFYs)
  const withNotify = sc.targets.some((t) => (atMax(t)?.notify.delivered ?? 0) > 0);
  h += stackedBarChart({
    title: withNotify ? 'CPU split at max sustained rate: seconds per 1000 NOTIFYs' : 'CPU split at max sustained rate: µs per request',
    yLabel: withNotify ? 'CPU s / 1000 NOTIFY' : 'CPU µs / request',
    categories: sc.targets.map((t) => t.target),
    stacks: [
      { name: 'Kamailio', color: '#d62728', values: sc.targets.map((t) => { const s = atMax(t); return s ? (withNotify ? s.cpu.kamailioSecondsPer1000Notify : s.cpu.kamailioUsPerRequest) : NaN; }) },
      { name: 'presenced', color: '#1f77b4', values: sc.targets.map((t) => { const s = atMax(t); return s ? (withNotify ? s.cpu.presencedSecondsPer1000Notify : s.cpu.presencedUsPerRequest) : NaN; }) },
    ],
  });
  for (const t of sc.targets) {
    const vlines = t.steps.map((s) => ({ x: s.t0, label: `${fmt(s.offeredPerSec)}` }));
    const lat = t.timeseries.latency.length > 0 ? t.timeseries.latency : t.timeseries.response;
    const what = t.timeseries.latency.length > 0 ? 'PUBLISH→NOTIFY latency' : 'response time (sipp, 1 ms resolution)';
    h += lineChart({
      title: `${t.target}: ${what} per second`,
      xLabel: 's since start (dotted: ramp steps, labelled with the offered rate)',
      yLabel: 'ms',
      vlines,
      series: [
        { name: 'p50', points: lat.map((p) => [p.t, p.p50] as const), color: '#2ca02c', markers: false },
        { name: 'p90', points: lat.map((p) => [p.t, p.p90] as const), color: '#ff7f0e', markers: false },
        { name: 'p99', points: lat.map((p) => [p.t, p.p99] as const), color: '#d62728', markers: false },
      ],
    });
    h += lineChart({
      title: `${t.target}: CPU over time`,
      xLabel: 's since start',
      yLabel: 'cores',
      vlines,
      series: [
        { name: 'Kamailio', points: t.timeseries.cpu.map((p) => [p.t, p.kamailioCores] as const), color: '#d62728', markers: false },
        ...(t.target.startsWith('presenced') ? [{ name: 'presenced', points: t.timeseries.cpu.map((p) => [p.t, p.presencedCores] as const), color: '#1f77b4', markers: false }] : []),
        { name: 'whole machine', points: t.timeseries.cpu.map((p) => [p.t, p.machineBusyCores] as const), color: '#999', dashed: true, markers: false },
      ],
    });
  }
  h += '</div>';
  for (const t of sc.targets) {
    h += `<h3>${esc(t.label)}</h3>`;
    if (t.error) h += `<pre class="err">${esc(t.error)}</pre>`;
    if (t.steps.length > 0) h += stepTable(sc, t);
    if (t.kamailioLogErrors && t.kamailioLogErrors.length > 0) h += `<details><summary>Kamailio log errors</summary><pre>${esc(t.kamailioLogErrors.join('\n'))}</pre></details>`;
  }
  return `${h}</section>`;
}

export function renderHtml(r: BenchResult): string {
  const css = `body{font-family:sans-serif;margin:1.5em;max-width:1400px;color:#222}table{border-collapse:collapse;margin:.6em 0;font-size:12px}
th,td{border:1px solid #ccc;padding:3px 6px;vertical-align:top}th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
td.na{color:#aaa;text-align:center}tr.bad td{background:#fff1f0}.small{font-size:11px;max-width:420px}.note{color:#555;font-size:12px}
.charts{display:flex;flex-wrap:wrap;gap:8px}.charts svg{border:1px solid #eee;background:#fff}pre{background:#f7f7f7;padding:6px;font-size:11px;white-space:pre-wrap}
pre.err{background:#fff1f0}h2{margin-top:1.6em;border-bottom:2px solid #ddd}`;
  let h = `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${esc(r.name)} — presenced benchmark</title><style>${css}</style></head><body>`;
  h += `<h1>presenced benchmark: ${esc(r.name)}</h1>`;
  h += `<p>${r.completed ? '✔ completed' : '✘ NOT completed'} · ${r.failures} run failure(s) · ${esc(r.startedAt)} → ${esc(r.finishedAt)}${r.quick ? ' · <b>quick mode (smoke counts, not a measurement)</b>' : ''}</p>`;
  h += `<pre>${esc(r.command)}</pre>`;
  const m = r.machine as { cores?: number; memoryBytes?: number; cpuModel?: string; node?: string; tools?: Record<string, string>; loadAverage?: number[] };
  h += `<p class="note">Machine: ${esc(String(m.cores))} cores (${esc(String(m.cpuModel))}), ${esc(fmt((m.memoryBytes ?? 0) / 1024 ** 3))} GB RAM, node ${esc(String(m.node))}, ${esc(Object.values(m.tools ?? {}).join(', '))}; load average at start ${esc((m.loadAverage ?? []).map((x) => x.toFixed(2)).join(' '))}. Numbers from one machine shared with other work are indicative; the ratios measured in one run are the headline.</p>`;
  for (const n of r.notes) h += `<p class="note">${esc(n)}</p>`;
  if (r.headline.rows.length > 0) h += `<h2>Headline</h2>${headlineTable(r)}`;
  for (const sc of r.scenarios) h += scenarioSection(sc);
  h += `<h2>Machine and parameters</h2><pre>${esc(JSON.stringify({ machine: r.machine, parameters: r.parameters }, null, 2))}</pre>`;
  return `${h}</body></html>\n`;
}
