/**
 * Minimal SVG charts for the benchmark reports (no dependencies): line
 * charts (linear or log axes, optional vertical markers) and stacked bar
 * charts. Output is a self-contained <svg> element.
 */

export interface Series {
  readonly name: string;
  readonly points: ReadonlyArray<readonly [number, number]>;
  readonly color?: string | undefined;
  readonly dashed?: boolean;
  /** Draw markers at the points. */
  readonly markers?: boolean;
}

export interface LineChartOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  readonly width?: number;
  readonly height?: number;
  readonly xLog?: boolean;
  readonly yLog?: boolean;
  /** Vertical markers (e.g. ramp step boundaries). */
  readonly vlines?: ReadonlyArray<{ readonly x: number; readonly label?: string }>;
  readonly yMin?: number;
}

export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** "Nice" tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 6): number[] {
  if (!(hi > lo)) {
    const v = Number.isFinite(lo) ? lo : 0;
    return [v, v + 1];
  }
  const raw = (hi - lo) / Math.max(1, count - 1);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10) * mag;
  const start = Math.floor(lo / step) * step;
  const ticks: number[] = [];
  // the last tick is >= hi, so a domain taken from the ticks contains every value
  for (let v = start; ticks.length === 0 || (ticks[ticks.length - 1] as number) < hi - step * 1e-9; v += step) ticks.push(Math.round(v / step) * step);
  return ticks;
}

function logTicks(lo: number, hi: number): number[] {
  const pick = (mantissas: readonly number[]): number[] => {
    const ticks: number[] = [];
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
      for (const m of mantissas) {
        const v = m * 10 ** e;
        if (v >= lo / 1.0001 && v <= hi * 1.0001) ticks.push(v);
      }
    }
    return ticks;
  };
  let ticks = pick([1, 2, 5]);
  if (ticks.length < 3) ticks = pick([1, 1.5, 2, 3, 4, 5, 6, 7, 8, 9]);
  return ticks.length >= 2 ? ticks : [lo, hi];
}

export function fmt(v: number): string {
  if (!Number.isFinite(v)) return '–';
  const a = Math.abs(v);
  if (a >= 1e6) return `${+(v / 1e6).toFixed(a >= 1e7 ? 0 : 1)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toFixed(a >= 1e5 ? 0 : 1)}k`;
  if (a >= 100) return String(Math.round(v));
  if (a >= 10) return String(+v.toFixed(1));
  if (a >= 1) return String(+v.toFixed(2));
  if (a === 0) return '0';
  return String(+v.toPrecision(2));
}

export function lineChart(o: LineChartOptions): string {
  const W = o.width ?? 640;
  // legend entries wrap onto as many rows as they need below the plot
  const legendRows: Array<Array<{ s: Series; k: number; x: number }>> = [[]];
  let lx0 = 62;
  o.series.forEach((s, k) => {
    const w = 26 + s.name.length * 6.2;
    if (lx0 + w > W && (legendRows[legendRows.length - 1] as unknown[]).length > 0) {
      legendRows.push([]);
      lx0 = 62;
    }
    (legendRows[legendRows.length - 1] as Array<{ s: Series; k: number; x: number }>).push({ s, k, x: lx0 });
    lx0 += w + 8;
  });
  const H = (o.height ?? 320) + (legendRows.length - 1) * 14;
  const m = { l: 62, r: 16, t: 30, b: 50 + legendRows.length * 14 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const pts = o.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!o.xLog || x > 0) && (!o.yLog || y > 0));
  let out = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`;
  out += `<text x="${W / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">${esc(o.title)}</text>`;
  if (pts.length === 0) {
    out += `<text x="${W / 2}" y="${H / 2}" text-anchor="middle" fill="#888">no data</text></svg>`;
    return out;
  }
  let xlo = Math.min(...pts.map((p) => p[0]));
  let xhi = Math.max(...pts.map((p) => p[0]));
  let ylo = o.yMin ?? (o.yLog ? Math.min(...pts.map((p) => p[1])) : Math.min(0, ...pts.map((p) => p[1])));
  let yhi = Math.max(...pts.map((p) => p[1]));
  if (xhi === xlo) {
    xhi = xlo + 1;
    if (!o.xLog) xlo = Math.max(0, xlo - 1);
  }
  if (yhi === ylo) yhi = ylo + 1;
  const xt = o.xLog ? logTicks(xlo, xhi) : niceTicks(xlo, xhi);
  const yt = o.yLog ? logTicks(ylo, yhi) : niceTicks(ylo, yhi);
  if (!o.xLog) {
    xlo = Math.min(xlo, xt[0] as number);
    xhi = Math.max(xhi, xt[xt.length - 1] as number);
  }
  if (!o.yLog) {
    ylo = Math.min(ylo, yt[0] as number);
    yhi = Math.max(yhi, yt[yt.length - 1] as number);
  }
  const tx = (x: number): number => (o.xLog ? m.l + ((Math.log10(x) - Math.log10(xlo)) / (Math.log10(xhi) - Math.log10(xlo))) * pw : m.l + ((x - xlo) / (xhi - xlo)) * pw);
  const ty = (y: number): number => (o.yLog ? m.t + ph - ((Math.log10(y) - Math.log10(ylo)) / (Math.log10(yhi) - Math.log10(ylo))) * ph : m.t + ph - ((y - ylo) / (yhi - ylo)) * ph);
  out += `<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`;
  for (const v of yt) {
    if (v < ylo || v > yhi) continue;
    const y = ty(v).toFixed(1);
    out += `<line x1="${m.l}" x2="${m.l + pw}" y1="${y}" y2="${y}" stroke="#eee"/><text x="${m.l - 4}" y="${y}" text-anchor="end" dominant-baseline="middle">${fmt(v)}</text>`;
  }
  for (const v of xt) {
    if (v < xlo || v > xhi) continue;
    const x = tx(v).toFixed(1);
    out += `<line x1="${x}" x2="${x}" y1="${m.t}" y2="${m.t + ph}" stroke="#eee"/><text x="${x}" y="${m.t + ph + 14}" text-anchor="middle">${fmt(v)}</text>`;
  }
  for (const v of o.vlines ?? []) {
    if (v.x < xlo || v.x > xhi) continue;
    const x = tx(v.x).toFixed(1);
    out += `<line x1="${x}" x2="${x}" y1="${m.t}" y2="${m.t + ph}" stroke="#bbb" stroke-dasharray="2,3"/>`;
    if (v.label) out += `<text x="${x}" y="${m.t + 9}" font-size="9" fill="#777" text-anchor="start" dx="2">${esc(v.label)}</text>`;
  }
  out += `<text x="${m.l + pw / 2}" y="${m.t + ph + 30}" text-anchor="middle">${esc(o.xLabel)}</text>`;
  out += `<text transform="translate(14 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`;
  o.series.forEach((s, k) => {
    const color = s.color ?? PALETTE[k % PALETTE.length];
    const sp = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!o.xLog || x > 0) && (!o.yLog || y > 0));
    if (sp.length > 0) {
      const d = sp.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${tx(x).toFixed(1)},${ty(y).toFixed(1)}`).join('');
      out += `<path d="${d}" fill="none" stroke="${color}" stroke-width="1.8"${s.dashed ? ' stroke-dasharray="5,4"' : ''}/>`;
      if (s.markers ?? sp.length <= 30) for (const [x, y] of sp) out += `<circle cx="${tx(x).toFixed(1)}" cy="${ty(y).toFixed(1)}" r="2.6" fill="${color}"/>`;
    }
  });
  // legend below the plot
  legendRows.forEach((row, r) => {
    const ly = H - 14 * (legendRows.length - r);
    for (const { s, k, x: lx } of row) {
      const color = s.color ?? PALETTE[k % PALETTE.length];
      out += `<line x1="${lx}" x2="${lx + 18}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5,4"' : ''}/>`;
      out += `<text x="${lx + 22}" y="${ly}" dominant-baseline="middle">${esc(s.name)}</text>`;
    }
  });
  return `${out}</svg>`;
}

export interface StackedBarOptions {
  readonly title: string;
  readonly yLabel: string;
  readonly categories: readonly string[];
  readonly stacks: ReadonlyArray<{ readonly name: string; readonly values: readonly number[]; readonly color?: string }>;
  readonly width?: number;
  readonly height?: number;
}

export function stackedBarChart(o: StackedBarOptions): string {
  const W = o.width ?? 640;
  const H = o.height ?? 320;
  const m = { l: 62, r: 16, t: 30, b: 78 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const totals = o.categories.map((_, i) => o.stacks.reduce((a, s) => a + (Number.isFinite(s.values[i]) ? (s.values[i] as number) : 0), 0));
  const yhiRaw = Math.max(0, ...totals);
  let out = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`;
  out += `<text x="${W / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">${esc(o.title)}</text>`;
  if (o.categories.length === 0 || yhiRaw <= 0) return `${out}<text x="${W / 2}" y="${H / 2}" text-anchor="middle" fill="#888">no data</text></svg>`;
  const yt = niceTicks(0, yhiRaw);
  const yhi = yt[yt.length - 1] as number;
  const ty = (y: number): number => m.t + ph - (y / yhi) * ph;
  out += `<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`;
  for (const v of yt) {
    const y = ty(v).toFixed(1);
    out += `<line x1="${m.l}" x2="${m.l + pw}" y1="${y}" y2="${y}" stroke="#eee"/><text x="${m.l - 4}" y="${y}" text-anchor="end" dominant-baseline="middle">${fmt(v)}</text>`;
  }
  out += `<text transform="translate(14 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`;
  const slot = pw / o.categories.length;
  const bw = Math.min(70, slot * 0.6);
  o.categories.forEach((cat, i) => {
    const x = m.l + slot * i + (slot - bw) / 2;
    let acc = 0;
    o.stacks.forEach((s, k) => {
      const v = s.values[i];
      if (!Number.isFinite(v) || (v as number) <= 0) return;
      const y0 = ty(acc);
      acc += v as number;
      const y1 = ty(acc);
      out += `<rect x="${x.toFixed(1)}" y="${y1.toFixed(1)}" width="${bw.toFixed(1)}" height="${(y0 - y1).toFixed(1)}" fill="${s.color ?? PALETTE[k % PALETTE.length]}"><title>${esc(`${s.name}: ${fmt(v as number)}`)}</title></rect>`;
    });
    out += `<text x="${(x + bw / 2).toFixed(1)}" y="${(ty(acc) - 4).toFixed(1)}" text-anchor="middle" font-size="10">${fmt(totals[i] as number)}</text>`;
    const words = cat.split(/\s+/);
    const lines: string[] = [];
    for (const w of words) {
      const last = lines[lines.length - 1];
      if (last !== undefined && (last + ' ' + w).length <= Math.max(10, Math.floor(slot / 6))) lines[lines.length - 1] = `${last} ${w}`;
      else lines.push(w);
    }
    lines.slice(0, 3).forEach((l, j) => {
      out += `<text x="${(x + bw / 2).toFixed(1)}" y="${m.t + ph + 14 + j * 12}" text-anchor="middle" font-size="10">${esc(l)}</text>`;
    });
  });
  let lx = m.l;
  const ly = H - 12;
  o.stacks.forEach((s, k) => {
    out += `<rect x="${lx}" y="${ly - 5}" width="12" height="10" fill="${s.color ?? PALETTE[k % PALETTE.length]}"/>`;
    out += `<text x="${lx + 16}" y="${ly}" dominant-baseline="middle">${esc(s.name)}</text>`;
    lx += 30 + s.name.length * 6.2;
  });
  return `${out}</svg>`;
}
