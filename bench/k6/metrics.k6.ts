/**
 * k6 load test of the Prometheus endpoints: presenced's /metrics
 * (prom-client registry, counters merged from the worker threads; default
 * http://127.0.0.1:9469/metrics) and, when KAMAILIO_METRICS_URL is set,
 * Kamailio's xhttp_prom /metrics. A scrape must stay cheap while the
 * service is under load: run it next to a SIP load (e.g. `npm run bench --
 * fanout --rate 500 --seconds 60` against a presenced you started, or
 * against production-like traffic) and watch the thresholds.
 *
 * Each iteration is one scrape; the body must be the text exposition format
 * (version 0.0.4) with presenced's own series (presenced_*), HELP/TYPE lines
 * and parseable sample lines.
 *
 *   k6 run bench/k6/metrics.k6.ts                                          # k6 >= 0.57
 *   k6 run --compatibility-mode=experimental_enhanced bench/k6/metrics.k6.ts     # k6 0.52 - 0.56
 *   npx tsc -p bench/k6/tsconfig.json --noEmit false --outDir dist/k6 && k6 run dist/k6/metrics.k6.js   # any k6
 *
 * Environment: METRICS_URL (http://127.0.0.1:9469/metrics), KAMAILIO_METRICS_URL
 * (unset = skip), RATE (scrapes/s, 20), DURATION (1m), VUS (20).
 */
import { check } from 'k6';
import http from 'k6/http';
import { Rate, Trend } from 'k6/metrics';
import type { Options } from 'k6/options';

const URL = __ENV['METRICS_URL'] ?? 'http://127.0.0.1:9469/metrics';
const KAMAILIO_URL = __ENV['KAMAILIO_METRICS_URL'];
const RATE = Number(__ENV['RATE'] ?? 20);
const VUS = Number(__ENV['VUS'] ?? 20);

export const options: Options = {
  scenarios: {
    scrape: {
      executor: 'constant-arrival-rate',
      rate: RATE,
      timeUnit: '1s',
      duration: __ENV['DURATION'] ?? '1m',
      preAllocatedVUs: Math.min(VUS, 5),
      maxVUs: VUS,
    },
  },
  thresholds: {
    checks: ['rate>0.999'],
    http_req_failed: ['rate<0.001'],
    'http_req_duration{target:presenced}': ['p(95)<50', 'p(99)<200'],
    'http_req_duration{target:kamailio}': ['p(95)<50', 'p(99)<200'],
    metrics_series: ['min>20'],
    metrics_valid: ['rate==1'],
    dropped_iterations: ['count==0'],
  },
};

const series = new Trend('metrics_series');
const valid = new Rate('metrics_valid');

/** Prometheus text format 0.0.4: comments, or `name{labels} value [timestamp]`. */
const SAMPLE = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})?\s+(-?[0-9.eE+-]+|NaN|[+-]Inf)(\s+-?[0-9]+)?$/;

function parse(body: string): { samples: number; bad: number; helps: number } {
  let samples = 0;
  let bad = 0;
  let helps = 0;
  for (const line of body.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('# HELP ') || line.startsWith('# TYPE ')) {
      helps++;
      continue;
    }
    if (line.startsWith('#')) continue;
    if (SAMPLE.test(line)) samples++;
    else bad++;
  }
  return { samples, bad, helps };
}

function scrape(url: string, target: 'presenced' | 'kamailio', mustContain: RegExp): void {
  const res = http.get(url, { tags: { target, name: `${target} /metrics` }, headers: { Accept: 'text/plain;version=0.0.4' } });
  const body = typeof res.body === 'string' ? res.body : '';
  const p = parse(body);
  series.add(p.samples, { target });
  const good = check(res, {
    [`${target}: 200`]: (r) => r.status === 200,
    [`${target}: text exposition format`]: (r) => /^text\/plain/.test(r.headers['Content-Type'] ?? ''),
    [`${target}: own series present`]: () => mustContain.test(body),
    [`${target}: every line parses`]: () => p.bad === 0 && p.samples > 0 && p.helps > 0,
  });
  valid.add(good, { target });
}

export default function (): void {
  scrape(URL, 'presenced', /^presenced_[a-z_]+/m);
  if (KAMAILIO_URL !== undefined && KAMAILIO_URL !== '') scrape(KAMAILIO_URL, 'kamailio', /^kamailio_[a-z_]+/m);
}
