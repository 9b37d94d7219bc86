/*
 * chart.js - the usage charts of the details view, drawn as inline SVG
 * (no library, no canvas). Colours come from app.css classes; sizes are
 * in a viewBox so the charts scale with the card. Every chart has a text
 * alternative: a <title>/<desc>, a <title> per bar (the tooltip), and the
 * numbers as a table in a <details> below it.
 */

import { h, svg } from './dom.js';

const shortDay = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' });
let chartSeq = 0;

/* "2026-11-23" (a UTC day) -> "Nov 23". */
function dayLabel(date) {
  const t = Date.parse(date + 'T00:00:00Z');
  return Number.isNaN(t) ? date : shortDay.format(t);
}

/* The smallest of 1, 2, 5, 10, 20, 50, ... that is >= n (1 for 0). */
function niceCeil(n) {
  if (n <= 1) return 1;
  const p = 10 ** Math.floor(Math.log10(n));
  for (const m of [1, 2, 5, 10]) if (m * p >= n) return m * p;
  return 10 * p;
}

/* The <title>/<desc> pair and aria wiring of an SVG chart. */
function labelled(title, desc) {
  const id = `chart${++chartSeq}`;
  return {
    attrs: { role: 'img', 'aria-labelledby': `${id}-t ${id}-d` },
    nodes: [svg('title', { id: `${id}-t` }, title), svg('desc', { id: `${id}-d` }, desc)],
  };
}

/* The drawing width for a chart about px pixels wide: user units then
   match pixels, so the labels keep their size on a phone. */
function drawWidth(px, fallback) {
  return px > 0 ? Math.round(Math.min(900, Math.max(280, px))) : fallback;
}

/**
 * Requests per day, allowed (below) and blocked (stacked on top), from
 * the "daily" rows [{date, allowed, blocked}] of GET /tokens/{id}/usage;
 * px is the width it will be shown at.
 */
export function dailyChart(daily, px) {
  const W = drawWidth(px, 640), H = 200, L = 40, R = 8, T = 10, B = 26;
  const plotW = W - L - R, plotH = H - T - B;
  const rows = daily || [];
  const peak = Math.max(0, ...rows.map((d) => d.allowed + d.blocked));
  const top = niceCeil(peak);
  const y = (v) => T + plotH - (v / top) * plotH;
  const slot = rows.length ? plotW / rows.length : plotW;
  const barW = Math.max(1, slot * 0.72);
  const allowed = rows.reduce((s, d) => s + d.allowed, 0);
  const blocked = rows.reduce((s, d) => s + d.blocked, 0);
  const { attrs, nodes } = labelled('Requests per day',
    `${rows.length} days: ${allowed} allowed and ${blocked} blocked requests.`);

  const grid = [0, top / 2, top].filter((v, i) => i === 0 || Number.isInteger(v)).map((v) => [
    svg('line', { class: 'grid-line', x1: L, x2: W - R, y1: y(v), y2: y(v) }),
    svg('text', { class: 'axis-text', x: L - 6, y: y(v) + 4, 'text-anchor': 'end' }, String(v)),
  ]);
  const bars = rows.map((d, i) => {
    const x = L + i * slot + (slot - barW) / 2;
    const aH = (d.allowed / top) * plotH;
    const bH = (d.blocked / top) * plotH;
    return svg('g', { class: 'day' },
      svg('title', null, `${d.date}: ${d.allowed} allowed, ${d.blocked} blocked`),
      /* an invisible full-height target so that the tooltip shows on empty days too */
      svg('rect', { x: L + i * slot, y: T, width: slot, height: plotH, fill: 'transparent' }),
      aH > 0 ? svg('rect', { class: 'bar-allowed', x, y: y(d.allowed), width: barW, height: aH, rx: 1.5 }) : null,
      bH > 0 ? svg('rect', {
        class: 'bar-blocked', x, y: y(d.allowed + d.blocked), width: barW, height: bH, rx: 1.5,
      }) : null);
  });
  const ticks = rows.length ? [0, Math.floor((rows.length - 1) / 2), rows.length - 1] : [];
  const xLabels = [...new Set(ticks)].map((i, k, all) => svg('text', {
    class: 'axis-text',
    x: L + i * slot + slot / 2,
    y: H - 8,
    'text-anchor': all.length > 1 && k === 0 ? 'start' : k === all.length - 1 && all.length > 1 ? 'end' : 'middle',
  }, dayLabel(rows[i].date)));

  const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, ...attrs, class: 'daily-chart' },
    ...nodes, grid, bars, xLabels);
  return h('figure', { class: 'chart', 'aria-label': 'Requests per day' },
    h('h3', null, 'Requests per day'),
    h('div', { class: 'legend' },
      h('span', null, h('span', { class: 'swatch allowed' }), 'Allowed'),
      h('span', null, h('span', { class: 'swatch blocked' }), 'Blocked')),
    chart,
    dataTable(['Day', 'Allowed', 'Blocked'],
      rows.filter((d) => d.allowed || d.blocked).map((d) => [d.date, d.allowed, d.blocked]),
      'No requests in this period.'));
}

/* Cut s to n characters with an ellipsis. */
function cut(s, n) {
  return s.length > n ? s.slice(0, n - 1) + '\u2026' : s;
}

/**
 * The busiest paths: top_endpoints [[path, count], ...] as horizontal
 * bars, the path above its bar and the count at the right; px is the
 * width it will be shown at.
 */
export function endpointsChart(top, px) {
  const rows = top || [];
  const W = drawWidth(px, 400), ROW = 40, PAD = 4;
  const H = Math.max(1, rows.length) * ROW + PAD;
  const peak = Math.max(1, ...rows.map((r) => r[1]));
  const { attrs, nodes } = labelled('Top endpoints',
    rows.map(([p, n]) => `${p}: ${n}`).join('; ') || 'No requests.');
  const bars = rows.map(([path, count], i) => {
    const y0 = i * ROW + PAD;
    return svg('g', null,
      svg('title', null, `${path}: ${count} requests`),
      svg('text', { class: 'ep-text', x: 0, y: y0 + 13 }, cut(path, Math.floor((W - 40) / 7.5))),
      svg('text', { class: 'ep-count', x: W, y: y0 + 13, 'text-anchor': 'end' }, String(count)),
      svg('rect', { class: 'bar-track', x: 0, y: y0 + 19, width: W, height: 10, rx: 5 }),
      svg('rect', { class: 'bar-endpoint', x: 0, y: y0 + 19, width: Math.max(4, (count / peak) * W), height: 10, rx: 5 }));
  });
  return h('figure', { class: 'chart', 'aria-label': 'Top endpoints' },
    h('h3', null, 'Top endpoints'),
    rows.length
      ? svg('svg', { viewBox: `0 0 ${W} ${H}`, ...attrs, class: 'endpoints-chart' }, ...nodes, bars)
      : h('p', { class: 'muted' }, 'No requests in this period.'),
    rows.length ? dataTable(['Path', 'Requests'], rows, '') : null);
}

/* The numbers of a chart as a table inside <details>. */
function dataTable(headers, rows, ifEmpty) {
  if (!rows.length) return ifEmpty ? h('p', { class: 'muted' }, ifEmpty) : null;
  return h('details', { class: 'data-table' },
    h('summary', null, 'Show as a table'),
    h('table', null,
      h('thead', null, h('tr', null, headers.map((t, i) => h('th', { scope: 'col', class: i ? 'num' : null }, t)))),
      h('tbody', null, rows.map((r) => h('tr', null,
        r.map((v, i) => h('td', { class: i ? 'num' : null }, String(v))))))));
}
