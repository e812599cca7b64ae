// Metrics for the dashboard: Prometheus text from /metrics, sampled in the browser
// every few seconds, and line charts drawn on <canvas>. No Prometheus or Grafana needed.
"use strict";

const Metrics = (() => {
  const MAX_SAMPLES = 600;          // 30 minutes at one sample every 3 s
  const samples = [];               // [{t, series: Map(name -> [{labels, value}])}]

  function parseLabels(text) {
    const labels = {};
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
    let m;
    while ((m = re.exec(text)) !== null) labels[m[1]] = m[2].replace(/\\(.)/g, "$1");
    return labels;
  }

  // Prometheus text exposition format: `name{label="v",...} value [timestamp]`.
  function parse(text) {
    const series = new Map();
    const re = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
    for (const line of text.split("\n")) {
      if (!line || line[0] === "#") continue;
      const m = re.exec(line);
      if (!m) continue;
      const value = Number(m[3]);
      if (!Number.isFinite(value)) continue;
      if (!series.has(m[1])) series.set(m[1], []);
      series.get(m[1]).push({labels: parseLabels(m[2] || ""), value});
    }
    return series;
  }

  function add(text, t) {
    samples.push({t, series: parse(text)});
    if (samples.length > MAX_SAMPLES) samples.shift();
  }

  function latest() {
    return samples.length ? samples[samples.length - 1].series : new Map();
  }

  // Sum `name` over the samples, grouped by the label `by` (or all labels when null),
  // keeping only points whose labels pass `where(labels)`.
  function lines(name, by, where) {
    const out = new Map();
    samples.forEach((s, i) => {
      const points = s.series.get(name) || [];
      const sums = new Map();
      for (const p of points) {
        if (where && !where(p.labels)) continue;
        const key = by ? (p.labels[by] || "") :
          Object.entries(p.labels).filter(([k]) => k !== "NodeId")
            .map(([k, v]) => `${k}=${v}`).join(",") || name;
        sums.set(key, (sums.get(key) || 0) + p.value);
      }
      for (const [key, v] of sums) {
        if (!out.has(key)) out.set(key, new Array(samples.length).fill(null));
        out.get(key)[i] = v;
      }
    });
    for (const arr of out.values()) arr.length = samples.length;
    return {times: samples.map((s) => s.t), lines: out};
  }

  function names() {
    return [...latest().keys()].sort();
  }

  const COLORS = ["#2f6fdf", "#e4572e", "#29a36a", "#a24bcf", "#f0a202", "#17a2b8",
    "#d63384", "#6c757d", "#8a6d3b", "#20c997"];

  // The y axis' top: 1, 2, 2.5 or 5 times a power of ten (of 1024 for bytes), above `v`.
  function niceMax(v, unit) {
    if (!(v > 0)) return 1;
    const base = unit === "bytes" ? 1024 : 10;
    const p = Math.pow(base, Math.floor(Math.log(v) / Math.log(base)));
    for (const m of [1, 2, 2.5, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000]) if (m * p >= v) return m * p;
    return v;
  }

  function fmt(v, unit) {
    if (unit === "bytes") {
      const u = ["B", "KiB", "MiB", "GiB", "TiB"];
      let i = 0;
      while (Math.abs(v) >= 1024 && i < u.length - 1) { v /= 1024; i++; }
      return `${v.toFixed(v < 10 && i ? 1 : 0)} ${u[i]}`;
    }
    if (Math.abs(v) >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
    if (Math.abs(v) >= 1e4) return `${(v / 1e3).toFixed(0)}k`;
    if (Number.isInteger(v)) return v.toLocaleString("en-US");
    return Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2);
  }

  // A line chart of `data` ({times, lines}) on a <canvas>, with a legend under it.
  function draw(canvas, legend, data, unit) {
    const dpr = window.devicePixelRatio || 1;
    const w = canvas.clientWidth, h = canvas.clientHeight;
    canvas.width = w * dpr; canvas.height = h * dpr;
    const g = canvas.getContext("2d");
    g.scale(dpr, dpr);
    g.clearRect(0, 0, w, h);
    const left = 64, right = 8, top = 8, bottom = 22;
    const {times, lines} = data;
    let max = 0;
    for (const arr of lines.values()) for (const v of arr) if (v !== null) max = Math.max(max, v);
    max = niceMax(max, unit);
    const t0 = times.length ? times[0] : 0, t1 = times.length ? times[times.length - 1] : 1;
    const span = Math.max(t1 - t0, 1);
    const x = (t) => left + (w - left - right) * (t - t0) / span;
    const y = (v) => top + (h - top - bottom) * (1 - v / max);
    g.strokeStyle = "#ddd"; g.fillStyle = "#666"; g.font = "11px system-ui, sans-serif";
    g.lineWidth = 1;
    for (let i = 0; i <= 4; i++) {
      const v = max * i / 4, yy = Math.round(y(v)) + 0.5;
      g.beginPath(); g.moveTo(left, yy); g.lineTo(w - right, yy); g.stroke();
      g.fillText(fmt(v, unit), 4, yy + 4);
    }
    if (times.length) {
      g.fillText(new Date(t0).toLocaleTimeString(), left, h - 6);
      const last = new Date(t1).toLocaleTimeString();
      g.fillText(last, w - right - g.measureText(last).width, h - 6);
    }
    legend.textContent = "";
    let i = 0;
    for (const [key, arr] of [...lines.entries()].sort()) {
      const color = COLORS[i++ % COLORS.length];
      g.strokeStyle = color; g.lineWidth = 2; g.beginPath();
      let pen = false;
      arr.forEach((v, j) => {
        if (v === null) { pen = false; return; }
        if (pen) g.lineTo(x(times[j]), y(v)); else g.moveTo(x(times[j]), y(v));
        pen = true;
      });
      if (arr.length === 1 && arr[0] !== null) g.arc(x(times[0]), y(arr[0]), 2, 0, 7);
      g.stroke();
      const item = document.createElement("span");
      item.className = "legend-item";
      const swatch = document.createElement("i");
      swatch.style.background = color;
      const lastValue = [...arr].reverse().find((v) => v !== null);
      item.append(swatch, `${key || "(all)"}: ${lastValue === undefined ? "–" : fmt(lastValue, unit)}`);
      legend.append(item);
    }
    if (!lines.size) legend.textContent = "none yet";
  }

  return {add, draw, fmt, latest, lines, names, parse, samples};
})();
