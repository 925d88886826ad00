// charon-auth demo page: live charts of the /metrics text (Prometheus exposition format).
//
// No build step, no library: app.js polls /metrics every 2 s and hands the text over in a
// `charon-metrics` event; this script parses it, keeps the last two minutes of samples and
// draws inline SVG charts:
// - request rate by outcome: rate of charon_token_valid_total / charon_token_invalid_total;
// - invalid tokens by error kind: rate of charon_token_invalid_total by error_kind;
// - sessions: rates of charon_session_{create,refresh,delete,delete_all}_total;
// - verification and Redis latency p50/p99: from the histograms
//   charon_token_verification_duration_seconds and charon_store_operation_duration_seconds
//   (histogram_quantile over the `_bucket` increase of the last 10 s, as Prometheus does),
//   or from their summary quantiles when the exporter renders summaries. "no data" when
//   neither is exposed.
//
// Each chart's <figure> carries its state for tests and curious readers: data-state
// ("waiting", "data" or "no-data"), data-points (points drawn) and data-last (the latest
// value of each series, JSON).
'use strict';
(() => {
  const SAMPLES = 60; // 2 minutes at one sample per 2 s
  const QUANTILE_WINDOW = 5; // samples: the 10 s window of the latency quantiles
  const SVG = 'http://www.w3.org/2000/svg';
  const COLORS = ['#2f5bd3', '#b42318', '#1b7f4b', '#b26b00', '#7a3db8', '#0f7c8c', '#5b6475'];
  const W = 340;
  const H = 120;
  const PAD = { left: 44, right: 8, top: 8, bottom: 18 };

  const samples = []; // { t: seconds, series: Map(name -> [{ labels, value }]) }

  // ---- the Prometheus text format -------------------------------------------------------

  function parseLabels(text) {
    const labels = {};
    const re = /([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
    let m;
    while ((m = re.exec(text)) !== null) {
      labels[m[1]] = m[2].replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
    }
    return labels;
  }

  function parseValue(text) {
    if (text === '+Inf') return Infinity;
    if (text === '-Inf') return -Infinity;
    return Number(text);
  }

  // Map(metric name -> [{ labels, value }]) of the charon_* samples.
  function parse(text) {
    const series = new Map();
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      if (!line.startsWith('charon_')) continue;
      const m = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$/.exec(line);
      if (!m) continue;
      const value = parseValue(m[3]);
      if (Number.isNaN(value)) continue;
      if (!series.has(m[1])) series.set(m[1], []);
      series.get(m[1]).push({ labels: parseLabels(m[2] || ''), value });
    }
    return series;
  }

  // ---- queries over the samples ---------------------------------------------------------

  // Sum of `name` per group (`by` a label, or all), in one sample.
  function sumBy(sample, name, by) {
    const out = new Map();
    for (const s of sample.series.get(name) || []) {
      const key = by ? (s.labels[by] || 'none') : '';
      out.set(key, (out.get(key) || 0) + s.value);
    }
    return out;
  }

  // Per-second rate of counter `name` (per group) between consecutive samples; a counter
  // reset (the value went down) counts from zero, as rate() does.
  function rates(name, by) {
    const groups = new Set();
    const points = samples.map((s, i) => {
      if (i === 0) return null;
      const prev = sumBy(samples[i - 1], name, by);
      const cur = sumBy(s, name, by);
      const dt = s.t - samples[i - 1].t;
      const row = new Map();
      for (const [key, v] of cur) {
        groups.add(key);
        const before = prev.get(key) || 0;
        row.set(key, dt > 0 ? (v >= before ? v - before : v) / dt : 0);
      }
      return row;
    });
    return { groups: [...groups].sort(), points };
  }

  // histogram_quantile(q, buckets): buckets are [{ le, count }] cumulative, sorted by le.
  function histogramQuantile(q, buckets) {
    if (!buckets.length) return null;
    const total = buckets[buckets.length - 1].count;
    if (!(total > 0)) return null;
    const rank = q * total;
    let prevLe = 0;
    let prevCount = 0;
    for (const b of buckets) {
      if (b.count >= rank) {
        if (b.le === Infinity) return prevLe;
        const inBucket = b.count - prevCount;
        return inBucket > 0 ? prevLe + ((b.le - prevLe) * (rank - prevCount)) / inBucket : b.le;
      }
      prevLe = b.le;
      prevCount = b.count;
    }
    return prevLe;
  }

  // Cumulative buckets of histogram `base` in one sample, summed over every other label.
  function buckets(sample, base) {
    const byLe = new Map();
    for (const s of sample.series.get(`${base}_bucket`) || []) {
      const le = parseValue(s.labels.le);
      byLe.set(le, (byLe.get(le) || 0) + s.value);
    }
    return [...byLe.entries()].sort((a, b) => a[0] - b[0]).map(([le, count]) => ({ le, count }));
  }

  // p50 and p99 of histogram `base` at each sample: from the `_bucket` increase over the
  // last QUANTILE_WINDOW samples, or from summary quantiles. `null` when not exposed.
  function latency(base) {
    const last = samples[samples.length - 1];
    const hasBuckets = last && last.series.has(`${base}_bucket`);
    const hasSummary = last && (last.series.get(base) || []).some((s) => 'quantile' in s.labels);
    if (!hasBuckets && !hasSummary) return null;
    const points = samples.map((s, i) => {
      const row = new Map();
      if (hasBuckets) {
        if (i === 0) return null;
        const then = buckets(samples[Math.max(0, i - QUANTILE_WINDOW)], base);
        const now = buckets(s, base);
        const before = new Map(then.map((b) => [b.le, b.count]));
        const window = now.map((b) => ({ le: b.le, count: Math.max(0, b.count - (before.get(b.le) || 0)) }));
        for (const [key, q] of [['p50', 0.5], ['p99', 0.99]]) {
          const v = histogramQuantile(q, window);
          if (v !== null) row.set(key, v);
        }
      } else {
        for (const [key, q] of [['p50', '0.5'], ['p99', '0.99']]) {
          const values = (s.series.get(base) || [])
            .filter((x) => x.labels.quantile === q && Number.isFinite(x.value))
            .map((x) => x.value);
          if (values.length) row.set(key, Math.max(...values));
        }
      }
      return row;
    });
    return { groups: ['p50', 'p99'], points };
  }

  // ---- drawing --------------------------------------------------------------------------

  function el(name, attrs, text) {
    const node = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function formatRate(v) {
    if (v === 0) return '0';
    if (v >= 100) return v.toFixed(0);
    if (v >= 1) return v.toFixed(1);
    return v.toFixed(2);
  }

  function formatSeconds(v) {
    if (v >= 1) return `${v.toFixed(2)} s`;
    if (v >= 1e-3) return `${(v * 1e3).toFixed(v >= 0.1 ? 0 : 1)} ms`;
    return `${(v * 1e6).toFixed(0)} µs`;
  }

  // Draw `data` ({ groups, points } or null) into figure `id`.
  function draw(id, data, format, noDataText) {
    const figure = document.getElementById(id);
    if (!figure) return;
    const svg = figure.querySelector('svg');
    const legend = figure.querySelector('.legend');
    svg.replaceChildren();
    legend.replaceChildren();
    svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
    const x0 = PAD.left;
    const x1 = W - PAD.right;
    const y0 = H - PAD.bottom;
    const y1 = PAD.top;
    svg.append(el('line', { x1: x0, y1: y0, x2: x1, y2: y0, class: 'axis' }));
    svg.append(el('line', { x1: x0, y1, x2: x0, y2: y0, class: 'axis' }));
    // The window shown: from the oldest sample kept (two minutes at most) to now.
    const spanSecs = samples.length > 1 ? samples[samples.length - 1].t - samples[0].t : 0;
    const spanText = spanSecs >= 90 ? `−${Math.round(spanSecs / 60)} min` : `−${Math.round(spanSecs)} s`;
    svg.append(el('text', { x: x0, y: H - 4, class: 'tick' }, spanText));
    svg.append(el('text', { x: x1, y: H - 4, class: 'tick', 'text-anchor': 'end' }, 'now'));

    const values = [];
    if (data) {
      for (const row of data.points) if (row) for (const v of row.values()) values.push(v);
    }
    if (!data || !data.groups.length || !values.length) {
      const waiting = samples.length < 2;
      figure.dataset.state = waiting ? 'waiting' : 'no-data';
      figure.dataset.points = '0';
      figure.dataset.last = '{}';
      svg.append(el('text', {
        x: (x0 + x1) / 2, y: (y0 + y1) / 2, class: 'nodata', 'text-anchor': 'middle',
      }, waiting ? 'waiting for samples…' : noDataText));
      return;
    }
    const max = Math.max(...values) || 1;
    svg.append(el('text', { x: x0 - 4, y: y1 + 8, class: 'tick', 'text-anchor': 'end' }, format(max)));
    svg.append(el('text', { x: x0 - 4, y: y0, class: 'tick', 'text-anchor': 'end' }, '0'));
    // Samples spread over the width, the oldest kept at the left edge, the newest at the
    // right one.
    const n = Math.max(data.points.length, 2);
    const slot = (i) => x0 + (i * (x1 - x0)) / (n - 1);
    const y = (v) => y0 - ((y0 - y1) * v) / max;
    let drawn = 0;
    const last = {};
    data.groups.forEach((group, g) => {
      const color = COLORS[g % COLORS.length];
      let d = '';
      let pen = false;
      data.points.forEach((row, i) => {
        const v = row ? row.get(group) : undefined;
        if (v === undefined) {
          pen = false;
          return;
        }
        d += `${pen ? 'L' : 'M'}${slot(i).toFixed(1)},${y(v).toFixed(1)}`;
        pen = true;
        drawn += 1;
        last[group] = v;
      });
      if (d) svg.append(el('path', { d, stroke: color, class: 'series', 'data-series': group }));
      const item = document.createElement('span');
      item.className = 'item';
      const swatch = document.createElement('i');
      swatch.style.background = color;
      item.append(swatch, `${group} ${last[group] === undefined ? '–' : format(last[group])}`);
      legend.append(item);
    });
    figure.dataset.state = 'data';
    figure.dataset.points = String(drawn);
    figure.dataset.last = JSON.stringify(last);
  }

  function renderAll() {
    const outcome = rates('charon_token_valid_total');
    const invalid = rates('charon_token_invalid_total');
    const requests = {
      groups: ['valid', 'invalid'],
      points: outcome.points.map((row, i) => {
        if (!row) return null;
        const both = new Map([['valid', row.get('') || 0]]);
        const bad = invalid.points[i];
        both.set('invalid', bad ? bad.get('') || 0 : 0);
        return both;
      }),
    };
    // Before the first token event neither counter exists: nothing to draw yet.
    if (!outcome.groups.length && !invalid.groups.length) requests.groups = [];
    draw('chart-requests', requests, formatRate, 'no token checks yet');
    draw('chart-invalid', rates('charon_token_invalid_total', 'error_kind'), formatRate,
      'no invalid tokens yet');
    const sessions = { groups: [], points: samples.map(() => new Map()) };
    for (const [event, label] of [['create', 'created'], ['refresh', 'refreshed'],
      ['delete', 'deleted'], ['delete_all', 'deleted all']]) {
      const r = rates(`charon_session_${event}_total`);
      if (!r.groups.length) continue;
      sessions.groups.push(label);
      r.points.forEach((row, i) => {
        if (row && sessions.points[i]) sessions.points[i].set(label, row.get('') || 0);
        else sessions.points[i] = null;
      });
    }
    draw('chart-sessions', sessions, formatRate, 'no session events yet');
    draw('chart-verify', latency('charon_token_verification_duration_seconds'), formatSeconds,
      'no data: /metrics has no verification histogram');
    draw('chart-store', latency('charon_store_operation_duration_seconds'), formatSeconds,
      'no data: /metrics has no store histogram');
  }

  document.addEventListener('charon-metrics', (event) => {
    samples.push({ t: performance.now() / 1000, series: parse(event.detail) });
    while (samples.length > SAMPLES) samples.shift();
    renderAll();
  });
  renderAll();
})();
