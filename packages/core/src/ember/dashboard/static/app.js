// The ember dashboard: a single page over the token-gated REST API (docs/dashboard.md).
// Plain JavaScript, no build step and no network beyond this server.
"use strict";

const TOKEN_KEY = "emberToken";
const PAGE_SIZE = 50;
const REFRESH_MS = 3000;
const SAMPLE_MS = 3000;

let token = sessionStorage.getItem(TOKEN_KEY);
let pageCleanup = [];                // timers and streams of the page on screen

class Unauthorized extends Error {}

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c !== null && c !== undefined) el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

const num = (n) => Number(n).toLocaleString("en-US");
const short = (id) => (id ? String(id).slice(0, 12) : "");
const ident = (id) => h("code", {class: "id", title: id || ""}, id || "");
const when = (ms) => (ms ? new Date(ms).toLocaleString() : "");

function duration(start, end) {
  if (!start) return "";
  const ms = (end || Date.now()) - start;
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(2)} s`;
  return `${Math.floor(ms / 60000)} min ${Math.round((ms % 60000) / 1000)} s`;
}

async function api(path, options = {}, bearer = token) {
  const headers = {...(options.headers || {}), Authorization: `Bearer ${bearer}`};
  const r = await fetch(path, {...options, headers});
  if (r.status === 401) {
    if (bearer === token) logout("The token was refused.");
    throw new Unauthorized("The token was refused.");
  }
  if (!r.ok) throw new Error(`${r.status}: ${await r.text()}`);
  return r;
}

async function apiJson(path) {
  return (await api(path)).json();
}

function setStatus(text) {
  const el = document.getElementById("status");
  if (el.textContent !== text) el.textContent = text;
}

function every(ms, fn) {
  let stopped = false, timer = null;
  const tick = async () => {
    try {
      await fn();
      setStatus("");
    } catch (e) {
      if (!(e instanceof Unauthorized)) setStatus(`cannot reach the dashboard: ${e.message}`);
    }
    if (!stopped) timer = setTimeout(tick, ms);
  };
  tick();
  const stop = () => { stopped = true; clearTimeout(timer); };
  pageCleanup.push(stop);
  return stop;
}

function badge(state) {
  return h("span", {class: `badge s-${String(state).toLowerCase()}`}, state);
}

function bar(used, total, fmt = num) {
  const pct = total > 0 ? Math.min(100, 100 * used / total) : 0;
  return h("div", {class: "bar", title: `${pct.toFixed(1)} %`},
    h("div", {class: "fill", style: `width:${pct}%`}),
    h("span", {}, `${fmt(used)} / ${fmt(total)}`));
}

// ---------------------------------------------------------------- paged lists

// A table over a server-paged list: filters, Prev/Next, and the total count.
// `load(query)` answers {rows, total}; the query holds limit/offset/filters.
function pagedTable({columns, filterKeys, load, onRow, note}) {
  const state = {offset: 0, filters: [], total: 0};
  const info = h("span", {class: "count"}, "loading…");
  const tbody = h("tbody");
  const first = h("button", {onclick: () => { state.offset = 0; refresh(); }}, "« First");
  const last = h("button", {onclick: () => {
    state.offset = Math.max(0, Math.floor((state.total - 1) / PAGE_SIZE) * PAGE_SIZE); refresh();
  }}, "Last »");
  const prev = h("button", {onclick: () => { state.offset = Math.max(0, state.offset - PAGE_SIZE); refresh(); }}, "‹ Prev");
  const next = h("button", {onclick: () => { state.offset += PAGE_SIZE; refresh(); }}, "Next ›");
  const key = h("select", {name: "key"}, filterKeys.map((k) => h("option", {value: k}, k)));
  const op = h("select", {name: "op"}, h("option", {value: "="}, "="), h("option", {value: "!="}, "!="));
  const value = h("input", {name: "value", placeholder: "value"});
  const chips = h("span", {class: "chips"});
  const form = h("form", {class: "filters", onsubmit: (e) => {
    e.preventDefault();
    if (!value.value) return;
    state.filters.push([key.value, op.value, value.value]);
    value.value = ""; state.offset = 0; drawChips(); refresh();
  }}, "Filter ", key, op, value, h("button", {type: "submit"}, "Add"), chips);

  function drawChips() {
    chips.textContent = "";
    state.filters.forEach((f, i) => chips.append(h("span", {class: "chip"}, f.join(" "),
      h("button", {class: "link", title: "remove", onclick: () => {
        state.filters.splice(i, 1); state.offset = 0; drawChips(); refresh();
      }}, "×"))));
  }

  async function refresh() {
    const q = new URLSearchParams({limit: PAGE_SIZE, offset: state.offset});
    for (const [k, o, v] of state.filters) {
      q.append("filter_keys", k); q.append("filter_predicates", o); q.append("filter_values", v);
    }
    const {rows, total} = await load(q);
    state.total = total;
    if (state.offset > 0 && state.offset >= total) {
      state.offset = Math.max(0, Math.floor((total - 1) / PAGE_SIZE) * PAGE_SIZE);
      return refresh();
    }
    // An unchanged page is left as it is (an open traceback, a selection stay).
    const seen = JSON.stringify([state.offset, total, rows]);
    if (seen === state.seen) return;
    state.seen = seen;
    const from = rows.length ? state.offset + 1 : 0;
    info.textContent = `showing ${num(from)}–${num(state.offset + rows.length)} of ${num(total)}`;
    prev.disabled = first.disabled = state.offset === 0;
    next.disabled = last.disabled = state.offset + rows.length >= total;
    tbody.textContent = "";
    for (const row of rows) {
      const tr = h("tr", {}, columns.map(([, cell]) => h("td", {}, cell(row))));
      if (onRow) { tr.classList.add("clickable"); tr.addEventListener("click", () => onRow(row)); }
      tbody.append(tr);
    }
    if (!rows.length) tbody.append(h("tr", {}, h("td", {colspan: columns.length, class: "empty"}, "nothing matches")));
  }

  every(REFRESH_MS, refresh);
  return h("div", {class: "paged"},
    form, note ? h("p", {class: "note"}, note) : null,
    h("table", {}, h("thead", {}, h("tr", {}, columns.map(([title]) => h("th", {}, title)))), tbody),
    h("div", {class: "pager"}, first, prev, info, next, last));
}

async function stateList(kind, q) {
  const body = (await apiJson(`/api/v0/${kind}?${q}`)).data.result;
  return {rows: body.result, total: body.total};
}

function statePage(title, kind, columns, filterKeys, onRow, note) {
  return (main) => main.append(h("h2", {}, title),
    pagedTable({columns, filterKeys, load: (q) => stateList(kind, q), onRow, note}));
}

// ---------------------------------------------------------------- pages

async function overview(main) {
  const nodes = h("tbody"), totals = h("div", {class: "cards"}), summaries = h("div", {class: "cards"});
  main.append(h("h2", {}, "Cluster"), totals, h("h2", {}, "Nodes"),
    h("table", {id: "nodes"}, h("thead", {}, h("tr", {},
      ["Node", "Address", "State", "CPU (logical) used", "Memory used", "Object store used", "Pending demand"]
        .map((t) => h("th", {}, t)))), nodes),
    h("h2", {}, "Work"), summaries);
  const bytes = (v) => Metrics.fmt(v, "bytes");
  every(REFRESH_MS, async () => {
    const [nodeList, tasks, actors, jobs] = await Promise.all([
      stateList("nodes", new URLSearchParams({limit: 10000})),
      apiJson("/api/v0/tasks/summarize"), apiJson("/api/v0/actors/summarize"),
      api("/api/jobs/?limit=0")]);
    const m = Metrics.latest();
    const metric = (name, node, where = {}) => (m.get(name) || [])
      .filter((p) => p.labels.NodeId === node && Object.entries(where).every(([k, v]) => p.labels[k] === v))
      .reduce((a, p) => a + p.value, 0);
    // Logical resources in use: the node's own report, else its ray_resources metric.
    const used = (n, k) => (n.resources_available && k in n.resources_available ?
      n.resources_total[k] - n.resources_available[k] :
      metric("ray_resources", n.node_id, {Name: k, State: "USED"}));
    const sum = {}, inUse = {};
    let demand = null;
    nodes.textContent = "";
    for (const n of nodeList.rows) {
      for (const [k, v] of Object.entries(n.resources_total || {})) {
        if (k.startsWith("node:")) continue;
        sum[k] = (sum[k] || 0) + v;
        inUse[k] = (inUse[k] || 0) + used(n, k);
      }
      if (n.pending_demand !== undefined) demand = (demand || 0) + n.pending_demand;
      const cpu = (n.resources_total || {}).CPU || 0;
      // Memory: what each node's heartbeat reported, else this server's /metrics.
      const alive = n.state === "ALIVE";
      const memTotal = n.mem_total ?? metric("ray_node_mem_total", n.node_id);
      const memUsed = n.mem_used ?? metric("ray_node_mem_used", n.node_id);
      const storeUsed = n.object_store_used ?? metric("ray_object_store_memory", n.node_id, {Location: "MMAP_SHM"});
      const storeCap = n.object_store_capacity ?? storeUsed + metric("ray_object_store_available_memory", n.node_id);
      nodes.append(h("tr", {}, h("td", {title: n.node_id}, short(n.node_id), n.is_head_node ? h("span", {class: "tag"}, "head") : null),
        h("td", {}, n.node_ip || ""), h("td", {}, badge(n.state)),
        h("td", {}, bar(used(n, "CPU"), cpu)),
        h("td", {class: "mem"}, alive && memTotal ? bar(memUsed, memTotal, bytes) : "–"),
        h("td", {class: "store"}, alive && storeCap ? bar(storeUsed, storeCap, bytes) : "–"),
        h("td", {}, n.pending_demand === undefined ? "–" : `${num(n.pending_demand)} CPU`)));
    }
    const card = (title, ...body) => h("div", {class: "card"}, h("h3", {}, title), ...body);
    const counts = (s) => Object.values(s.summary).reduce((acc, row) => {
      for (const [st, c] of Object.entries(row.state_counts)) acc[st] = (acc[st] || 0) + c;
      return acc;
    }, {});
    const stateCard = (title, c, total) => card(title, h("div", {class: "big"}, num(total)),
      h("ul", {}, Object.entries(c).sort().map(([st, n]) => h("li", {}, badge(st), " ", num(n)))));
    const taskCounts = counts(tasks.data.result);
    const waiting = Object.entries(taskCounts).filter(([st]) => st.startsWith("PENDING"))
      .reduce((a, [, c]) => a + c, 0);
    totals.textContent = "";
    totals.append(card("Nodes", h("div", {class: "big"}, num(nodeList.total))),
      ...Object.keys(sum).sort().map((k) => card(`${k} in use`,
        bar(inUse[k], sum[k], k.toLowerCase().includes("memory") ? bytes : num))),
      card("Demand", h("div", {class: "big"}, `${num(waiting)} tasks`),
        h("div", {class: "note"}, demand === null ? "waiting for a worker or resources" :
          `${num(demand)} CPU queued that the nodes could not place`)));
    summaries.textContent = "";
    summaries.append(stateCard("Tasks", taskCounts, tasks.data.result.total),
      stateCard("Actors", counts(actors.data.result), actors.data.result.total),
      card("Jobs", h("div", {class: "big"}, num(jobs.headers.get("X-Total-Count") || 0))));
  });
}

function logView(title) {
  const pre = h("pre", {class: "log"});
  const follow = h("input", {type: "checkbox", name: "follow"});
  const controls = h("div", {class: "controls"}, h("label", {}, follow, " Follow"));
  const box = h("div", {class: "logbox"}, h("h3", {}, title), controls, pre);
  const scroll = () => { pre.scrollTop = pre.scrollHeight; };
  return {box, pre, follow, controls, scroll};
}

// Streams /api/jobs/{id}/logs/tail into `view` until the job ends or follow is off.
function followJob(id, view) {
  const abort = new AbortController();
  pageCleanup.push(() => abort.abort());
  (async () => {
    try {
      const r = await api(`/api/jobs/${encodeURIComponent(id)}/logs/tail`, {signal: abort.signal});
      const reader = r.body.getReader(), dec = new TextDecoder();
      view.pre.textContent = "";
      for (;;) {
        const {done, value} = await reader.read();
        if (done) break;
        view.pre.append(dec.decode(value, {stream: true}));
        view.scroll();
      }
      view.pre.append(h("span", {class: "end"}, "\n— end of log (the job finished) —"));
    } catch (e) {
      if (e.name !== "AbortError") view.pre.append(`\n[${e.message}]`);
    }
  })();
  return () => abort.abort();
}

async function jobDetail(main, id) {
  const rec = h("dl", {class: "record"});
  const view = logView("Logs");
  const stop = h("button", {onclick: async () => {
    await api(`/api/jobs/${encodeURIComponent(id)}/stop`, {method: "POST"});
  }}, "Stop job");
  main.append(h("p", {}, h("a", {href: "#/jobs"}, "‹ all jobs")), h("h2", {}, `Job ${id}`), stop, rec, view.box);
  every(REFRESH_MS, async () => {
    const job = await apiJson(`/api/jobs/${encodeURIComponent(id)}`);
    rec.textContent = "";
    for (const k of ["status", "entrypoint", "message", "error_type", "start_time", "end_time",
      "driver_exit_code", "driver_pid", "runtime_env", "metadata"]) {
      let v = job[k];
      if (k === "status") v = badge(v);
      else if (k.endsWith("_time")) v = when(v);
      else if (v && typeof v === "object") v = JSON.stringify(v);
      rec.append(h("dt", {}, k), h("dd", {}, v ?? ""));
    }
    stop.disabled = !["PENDING", "RUNNING"].includes(job.status);
  });
  let unfollow = null;
  const load = async () => {
    const text = (await apiJson(`/api/jobs/${encodeURIComponent(id)}/logs`)).logs;
    view.pre.textContent = text; view.scroll();
  };
  view.follow.addEventListener("change", () => {
    if (view.follow.checked) unfollow = followJob(id, view);
    else { if (unfollow) unfollow(); load(); }
  });
  view.controls.append(h("button", {onclick: load}, "Reload"));
  await load();
}

function jobs(main, param) {
  if (param) return jobDetail(main, param);
  main.append(h("h2", {}, "Jobs"), pagedTable({
    columns: [["Submission id", (j) => h("a", {href: `#/jobs/${encodeURIComponent(j.submission_id)}`}, j.submission_id)],
      ["Status", (j) => badge(j.status)], ["Entrypoint", (j) => h("code", {}, j.entrypoint)],
      ["Started", (j) => when(j.start_time)], ["Duration", (j) => duration(j.start_time, j.end_time)],
      ["Message", (j) => j.message || ""]],
    filterKeys: ["status", "submission_id", "entrypoint"],
    load: async (q) => {
      const r = await api(`/api/jobs/?${q}`);
      return {rows: await r.json(), total: Number(r.headers.get("X-Total-Count"))};
    },
  }));
}

const actors = statePage("Actors", "actors", [
  ["Actor id", (a) => ident(a.actor_id)], ["Class", (a) => a.class_name],
  ["Name", (a) => a.name || ""], ["State", (a) => badge(a.state)], ["PID", (a) => a.pid ?? ""],
  ["Node", (a) => short(a.node_id)], ["Restarts", (a) => a.num_restarts ?? 0],
  ["Death cause", (a) => a.death_cause || ""]],
["state", "class_name", "name", "node_id", "pid", "actor_id"]);

function taskError(t) {
  const msg = t.error_message || t.error || "";
  if (!msg && !t.error_type) return "";
  const first = String(msg).split("\n").filter(Boolean).pop() || t.error_type;
  return h("details", {}, h("summary", {}, t.error_type ? `${t.error_type}: ${first}` : first),
    h("pre", {class: "trace"}, msg));
}

const tasks = statePage("Tasks", "tasks", [
  ["Task id", (t) => ident(t.task_id)], ["Name", (t) => t.name],
  ["State", (t) => badge(t.state)], ["Type", (t) => t.type],
  ["Duration", (t) => duration(t.start_time_ms, t.end_time_ms)], ["Worker PID", (t) => t.pid ?? ""],
  ["Error", taskError]],
["state", "name", "type", "actor_id", "node_id", "pid", "task_id"]);

const objects = statePage("Objects", "objects", [
  ["Object id", (o) => ident(o.object_id)],
  ["Size", (o) => (o.object_size == null ? "" : Metrics.fmt(o.object_size, "bytes"))],
  ["References", (o) => o.reference_count ?? ""], ["State", (o) => badge(o.state)],
  ["In store", (o) => (o.in_store ? "yes" : "no")], ["Node", (o) => short(o.node_id)]],
["state", "node_id", "object_id"]);

const placementGroups = statePage("Placement groups", "placement_groups", [
  ["Id", (p) => ident(p.placement_group_id)],
  ["Name", (p) => p.name || ""], ["Strategy", (p) => p.strategy], ["State", (p) => badge(p.state)],
  ["Bundles", (p) => h("code", {}, JSON.stringify(p.bundles))]],
["state", "name", "strategy"]);

const workers = statePage("Workers", "workers", [
  ["Worker id", (w) => ident(w.worker_id)], ["PID", (w) => w.pid],
  ["State", (w) => badge(w.state)], ["Alive", (w) => (w.is_alive ? "yes" : "no")],
  ["Type", (w) => w.worker_type],
  ["Log", (w) => h("a", {href: `#/logs/worker-${w.pid}.out`}, `worker-${w.pid}.out`)]],
["state", "pid", "worker_type"]);

function logFile(main, name) {
  const view = logView(name);
  const lines = h("input", {type: "number", name: "lines", value: 1000, min: 1, class: "narrow"});
  view.controls.append(h("label", {}, " last ", lines, " lines"));
  main.append(h("p", {}, h("a", {href: "#/logs"}, "‹ all logs")), view.box);
  let stopFollow = null;
  const load = async () => {
    const text = await (await api(`/api/v0/logs/file?${new URLSearchParams({filename: name, lines: lines.value})}`)).text();
    if (view.pre.textContent !== text) { view.pre.textContent = text; view.scroll(); }
  };
  view.follow.addEventListener("change", () => {
    if (stopFollow) { stopFollow(); stopFollow = null; }
    if (view.follow.checked) stopFollow = every(1000, load);
  });
  lines.addEventListener("change", load);
  view.controls.append(h("button", {onclick: load}, "Reload"));
  return load();
}

function logs(main, param) {
  if (param) return logFile(main, param);
  const tbody = h("tbody"), info = h("span", {class: "count"});
  const filter = h("input", {placeholder: "name contains…", name: "filter"});
  main.append(h("h2", {}, "Logs"), h("div", {class: "filters"}, filter, " ", info),
    h("table", {}, h("thead", {}, h("tr", {}, ["File", "Node", "Size"].map((t) => h("th", {}, t)))), tbody));
  let files = [];
  const draw = () => {
    const shown = files.filter((f) => f.filename.includes(filter.value));
    info.textContent = `${num(shown.length)} of ${num(files.length)} files`;
    tbody.textContent = "";
    for (const f of shown) {
      tbody.append(h("tr", {}, h("td", {}, h("a", {href: `#/logs/${encodeURIComponent(f.filename)}`}, f.filename)),
        h("td", {}, short(f.node)), h("td", {}, Metrics.fmt(f.size, "bytes"))));
    }
  };
  filter.addEventListener("input", draw);
  every(REFRESH_MS, async () => {
    const byNode = (await apiJson("/api/v0/logs")).data.result;
    files = Object.entries(byNode).flatMap(([node, list]) => list.map((f) => ({...f, node})))
      .sort((a, b) => a.filename.localeCompare(b.filename));
    draw();
  });
}

const CHARTS = [
  ["Live tasks by state", "ray_tasks", "State", (l) => !["FINISHED", "FAILED"].includes(l.State), ""],
  ["Finished and failed tasks (cumulative)", "ray_tasks", "State", (l) => ["FINISHED", "FAILED"].includes(l.State), ""],
  ["Actors by state", "ray_actors", "State", null, ""],
  ["Logical resources in use", "ray_resources", "Name", (l) => l.State === "USED" && !l.Name.startsWith("node:"), ""],
  ["Object store memory", "ray_object_store_memory", "Location", null, "bytes"],
  ["Node memory used", "ray_node_mem_used", "NodeId", null, "bytes"],
  ["Worker processes", "ray_node_workers", "NodeId", null, ""],
];

function metrics(main) {
  const grid = h("div", {class: "charts"});
  const pick = h("select", {name: "metric"}, h("option", {value: ""}, "another metric…"));
  const extra = [];
  main.append(h("h2", {}, "Metrics"),
    h("p", {class: "note"}, `Sampled from /metrics every ${SAMPLE_MS / 1000} s by this page while it is open (the last 30 minutes are kept).`),
    h("div", {class: "filters"}, pick), grid);
  const charts = CHARTS.map(([title, name, by, where, unit]) => {
    const canvas = h("canvas", {class: "chart", "data-metric": name});
    const legend = h("div", {class: "legend"});
    grid.append(h("div", {class: "card chart-card"}, h("h3", {}, title), canvas, legend));
    return {canvas, legend, name, by, where, unit};
  });
  pick.addEventListener("change", () => {
    if (!pick.value) return;
    const canvas = h("canvas", {class: "chart", "data-metric": pick.value});
    const legend = h("div", {class: "legend"});
    grid.append(h("div", {class: "card chart-card"}, h("h3", {}, pick.value), canvas, legend));
    extra.push({canvas, legend, name: pick.value, by: null, where: null, unit: ""});
    pick.value = "";
    redraw();
  });
  const redraw = () => {
    for (const c of [...charts, ...extra]) Metrics.draw(c.canvas, c.legend, Metrics.lines(c.name, c.by, c.where), c.unit);
    const have = new Set([...pick.options].map((o) => o.value));
    for (const n of Metrics.names()) if (!have.has(n)) pick.append(h("option", {value: n}, n));
  };
  every(1000, redraw);
}

// Serve's processes are actors in the "serve" namespace; a replica's name is
// SERVE_REPLICA::<application>#<deployment>#<replica id>.
function serveRole(a) {
  const m = /^SERVE_REPLICA::(.*)#([^#]*)#([^#]*)$/.exec(a.name || "");
  return m ? {role: "replica", app: m[1], deployment: m[2], replica: m[3]} :
    {role: a.class_name === "ServeController" ? "controller" : a.class_name === "ProxyActor" ? "proxy" : a.class_name};
}

// One application: its status, route and each deployment's replicas and config.
function serveApp(name, app) {
  const deployments = Object.values(app.deployments || {});
  const replicaCounts = (d) => Object.entries(d.replica_states || {}).sort()
    .map(([st, n]) => h("span", {}, badge(st), ` ${num(n)} `));
  return h("div", {class: "card serve-app", "data-app": name},
    h("h3", {}, name, " ", badge(app.status)),
    h("dl", {class: "record"},
      h("dt", {}, "Route prefix"), h("dd", {}, app.route_prefix ?? "–"),
      h("dt", {}, "Ingress"), h("dd", {}, app.ingress || "–"),
      h("dt", {}, "Last deployed"), h("dd", {}, app.last_deployed_time_s ?
        new Date(app.last_deployed_time_s * 1000).toLocaleString() : "–"),
      app.message ? [h("dt", {}, "Message"), h("dd", {}, app.message)] : null),
    h("table", {class: "deployments"},
      h("thead", {}, h("tr", {}, ["Deployment", "Status", "Replicas", "Target", "Config"].map((t) => h("th", {}, t)))),
      h("tbody", {}, deployments.map((d) => h("tr", {"data-deployment": d.name},
        h("td", {}, d.name), h("td", {}, badge(d.status)), h("td", {}, replicaCounts(d)),
        h("td", {}, d.target_num_replicas ?? ""),
        h("td", {}, h("details", {class: "config"}, h("summary", {}, "config"),
          h("pre", {}, JSON.stringify(d.deployment_config || {}, null, 2)))))))));
}

function serveApps(main) {
  const apps = h("div", {id: "serve-apps", class: "cards"});
  let shown = null;
  every(REFRESH_MS, async () => {
    const body = await apiJson("/api/serve/applications/");
    const text = JSON.stringify(body.applications);
    if (text === shown) return;  // unchanged: keep open configs open
    shown = text;
    const names = Object.keys(body.applications || {}).sort();
    apps.textContent = "";
    apps.append(...(names.length ? names.map((n) => serveApp(n, body.applications[n])) :
      [h("p", {class: "note"}, "No Serve application is running.")]));
  });
  main.append(h("h2", {}, "Serve applications"), apps,
    h("h2", {}, "Serve actors"),
    h("p", {class: "note"}, "Serve's controller, proxies and replicas (actors in the serve namespace)."),
    pagedTable({
      columns: [["Role", (a) => serveRole(a).role], ["Application", (a) => serveRole(a).app || ""],
        ["Deployment", (a) => serveRole(a).deployment || ""], ["Replica", (a) => serveRole(a).replica || ""],
        ["State", (a) => badge(a.state)], ["PID", (a) => a.pid ?? ""], ["Node", (a) => short(a.node_id)],
        ["Restarts", (a) => a.num_restarts ?? 0], ["Death cause", (a) => a.death_cause || ""]],
      filterKeys: ["state", "class_name", "name", "node_id"],
      load: (q) => {
        q.append("filter_keys", "namespace"); q.append("filter_predicates", "="); q.append("filter_values", "serve");
        return stateList("actors", q);
      },
    }));
}

const PAGES = [
  ["overview", "Overview", overview], ["jobs", "Jobs", jobs], ["actors", "Actors", actors],
  ["tasks", "Tasks", tasks], ["objects", "Objects", objects],
  ["placement-groups", "Placement groups", placementGroups], ["serve", "Serve", serveApps],
  ["workers", "Workers", workers],
  ["logs", "Logs", logs], ["metrics", "Metrics", metrics],
];

// ---------------------------------------------------------------- shell

function route() {
  for (const stop of pageCleanup) stop();
  pageCleanup = [];
  const [, name = "overview", ...rest] = location.hash.split("/");
  const param = rest.length ? decodeURIComponent(rest.join("/")) : null;
  const page = PAGES.find(([id]) => id === name) || PAGES[0];
  for (const a of document.querySelectorAll("#tabs a")) a.classList.toggle("active", a.dataset.page === page[0]);
  const main = document.getElementById("main");
  main.textContent = "";
  main.dataset.page = page[0];
  document.title = `${page[1]} · ember dashboard`;
  Promise.resolve(page[2](main, param)).catch((e) => {
    if (!(e instanceof Unauthorized)) main.append(h("p", {class: "error"}, e.message));
  });
}

let sampler = null;

function startSampler() {
  const tick = async () => {
    try { Metrics.add(await (await api("/metrics")).text(), Date.now()); } catch (e) { /* shown on the next page load */ }
  };
  tick();
  sampler = setInterval(tick, SAMPLE_MS);
}

function showApp() {
  document.getElementById("login").hidden = true;
  document.getElementById("app").hidden = false;
  if (!sampler) startSampler();
  route();
}

function logout(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  token = null;
  clearInterval(sampler); sampler = null;
  for (const stop of pageCleanup) stop();
  pageCleanup = [];
  document.getElementById("app").hidden = true;
  document.getElementById("login").hidden = false;
  document.getElementById("login-error").textContent = message || "";
}

document.getElementById("tabs").append(...PAGES.map(([id, title]) => h("a", {href: `#/${id}`, "data-page": id}, title)));
window.addEventListener("hashchange", () => { if (token) route(); });
document.getElementById("logout").addEventListener("click", () => logout(""));
document.getElementById("login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const candidate = document.getElementById("token").value.trim();
  const error = document.getElementById("login-error");
  error.textContent = "";
  try {
    await api("/api/version", {}, candidate);
  } catch (err) {
    error.textContent = err instanceof Unauthorized ? "The token was refused." : err.message;
    return;
  }
  token = candidate;
  sessionStorage.setItem(TOKEN_KEY, token);
  showApp();
});

if (token) showApp(); else logout("");
