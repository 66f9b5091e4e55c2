// DR control console: vanilla JS, no build step. Every value from the server is written
// with textContent (never innerHTML) so nothing it contains can run as markup.
"use strict";

const API = "/api/v1";
const state = { token: sessionStorage.getItem("drcontrol.token"), me: null, etag: null,
                selected: null, stream: null, refreshTimer: null, session: 0,
                chain: Promise.resolve() };
const $ = (selector, root = document) => root.querySelector(selector);

function el(tag, text, attrs = {}) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  return node;
}

function when(epoch) {
  return epoch ? new Date(epoch * 1000).toLocaleString() : "—";
}

function newKey() {
  return "console-" + (crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2));
}

async function api(method, path, body, extra = {}) {
  const headers = { Authorization: "Bearer " + state.token, ...extra };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["Idempotency-Key"] = newKey();
  const response = await fetch(API + path, { method, headers,
    body: body === undefined ? undefined : JSON.stringify(body) });
  if (path === "/sites" && response.ok) state.etag = response.headers.get("ETag");
  const text = await response.text();
  const data = text ? (response.headers.get("content-type") || "").includes("json")
    ? JSON.parse(text) : text : null;
  if (!response.ok) {
    const error = new Error(`${response.status}: ${data && data.detail ? data.detail : text}`);
    error.status = response.status;
    throw error;
  }
  return data;
}

function say(text, bad = false) {
  const node = $("#message");
  node.textContent = text;
  node.className = bad ? "message error" : "message";
}

function can(permission) {
  return state.me && state.me.permissions.includes(permission);
}

// ---- session ---------------------------------------------------------------------------

async function login(token) {
  state.session += 1;
  state.token = token;
  try {
    state.me = await api("GET", "/whoami");
  } catch (error) {
    state.token = null;
    $("#login-error").textContent = "登录失败 login failed: " + error.message;
    return;
  }
  sessionStorage.setItem("drcontrol.token", token);
  $("#login-error").textContent = "";
  $("#login-panel").hidden = true;
  $("#app").hidden = false;
  $("#session").hidden = false;
  $("#whoami").textContent = `${state.me.user} (${state.me.role})`;
  $("#request-panel").hidden = !can("request");
  await refreshAll();
  connectStream();
}

function logout() {
  state.session += 1;  // anything still in flight belongs to the old session: drop it
  clearTimeout(state.refreshTimer);
  state.refreshTimer = null;
  pendingParts.clear();
  sessionStorage.removeItem("drcontrol.token");
  if (state.stream) state.stream.abort();
  Object.assign(state, { token: null, me: null, selected: null, stream: null });
  $("#app").hidden = true;
  $("#session").hidden = true;
  $("#login-panel").hidden = false;
  $("#token").value = "";
  setLive(false);
}

// ---- live updates (SSE over fetch, so the token travels in a header) -----------------

function setLive(on) {
  const badge = $("#live");
  badge.className = "badge " + (on ? "on" : "off");
  badge.textContent = on ? "实时 live" : "离线 offline";
}

async function connectStream() {
  const controller = new AbortController();
  state.stream = controller;
  try {
    const response = await fetch(API + "/events", { signal: controller.signal,
      headers: { Authorization: "Bearer " + state.token, Accept: "text/event-stream" } });
    if (!response.ok) throw new Error(String(response.status));
    setLive(true);
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        handleFrame(buffer.slice(0, cut));
        buffer = buffer.slice(cut + 2);
      }
    }
  } catch (error) {
    if (controller.signal.aborted) return;
  }
  setLive(false);
  if (state.token && state.stream === controller) setTimeout(connectStream, 2000);
}

function handleFrame(frame) {
  let kind = "message";
  for (const line of frame.split("\n")) {
    if (line.startsWith("event: ")) kind = line.slice(7);
  }
  if (kind === "status") scheduleRefresh(["status"]);
  else if (kind === "step") scheduleRefresh(["execution"]);
  else if (kind !== "message") scheduleRefresh(["status", "pending", "ops", "execution"]);
}

const pendingParts = new Set();
function scheduleRefresh(parts) {
  parts.forEach((p) => pendingParts.add(p));
  if (state.refreshTimer) return;
  state.refreshTimer = setTimeout(async () => {
    const todo = [...pendingParts];
    pendingParts.clear();
    state.refreshTimer = null;
    await refresh(todo);
  }, 150);
}

async function refreshAll() {
  await refresh(["status", "pending", "ops", "execution"]);
}

// Refreshes run one after another, so an older answer never overwrites a newer one.
function refresh(parts) {
  if (!state.token) return state.chain;  // logged out: nothing to show, nobody to ask as
  const session = state.session;  // taken now: by the time it runs the user may have left
  state.chain = state.chain.then(() => refreshNow(parts, session));
  return state.chain;
}

async function refreshNow(parts, session) {
  const live = () => session === state.session && state.token !== null;
  try {
    if (parts.includes("status") && live()) await loadStatus(live);
    if (parts.includes("pending") && live()) await loadPending(live);
    if (parts.includes("ops") && live()) await loadOps(live);
    if (parts.includes("execution") && state.selected && live()) {
      await loadExecution(state.selected, live);
    }
  } catch (error) {
    if (!live()) return;
    if (error.status === 401) logout();
    else say(error.message, true);
  }
}

// ---- status: sites, lag, applications ----------------------------------------------------

const SITE_NAMES = { primary: "主中心 home", standby: "灾备中心 DR" };
const SETTLED = new Set(["healthy", "on_standby"]);
const BROKEN = new Set(["switch_failed"]);

function hhmm(epoch, seconds = false) {
  if (!epoch) return "—";
  const d = new Date(epoch * 1000);
  const pad = (n) => String(n).padStart(2, "0");
  return `${pad(d.getHours())}:${pad(d.getMinutes())}` + (seconds ? `:${pad(d.getSeconds())}` : "");
}

// green: settled; amber: needs attention (waiting, moving, blocked); red: broken
function appClass(app) {
  if (BROKEN.has(app.state)) return "bad";
  if (!SETTLED.has(app.state) || app.blocked || app.alert) return "warn";
  return "ok";
}

async function loadStatus(live) {
  const sites = await api("GET", "/sites");
  if (!live()) return;
  $("#etag").textContent = "ETag " + state.etag;
  const box = $("#sites");
  box.replaceChildren();
  for (const site of sites.sites) {
    const card = el("div", null, { class: "site" + (site.database_role === "primary"
      ? " primary-db" : ""), "data-site": site.id });
    card.append(el("h3", `${site.display_name} (${site.id})${site.local ? " ★" : ""}`));
    card.append(el("p", `数据库 database: ${site.database_role === "primary"
      ? "主 primary" : "备 standby"}`, { class: "db-role" }));
    card.append(el("p", "应用 apps: " + (site.applications.join(", ") || "—")));
    box.append(card);
  }
  $("#replication").textContent = "复制方向 replication: " + sites.replication;
  const banner = $("#freeze-banner");
  banner.hidden = !sites.freeze;
  if (sites.freeze) {
    banner.textContent = `冻结中 FROZEN since ${when(sites.freeze.at)} by ${sites.freeze.by}: ` +
      sites.freeze.comment;
  }
  showBlocks(sites.blocks || {});
  const status = await api("GET", "/status");
  if (!live()) return;
  showLag(status.lag, status.lag_alert_seconds);
  drawLag(status.lag_history, status.lag_alert_seconds);
  showPeers(status);
  const apps = status.appha && status.appha.ok ? status.appha.data : [];
  showAlerts(status, apps);
  showVerification(status.apply_summary);
  const body = $("#apps tbody");
  body.replaceChildren();
  for (const app of apps) {
    const row = el("tr", null, { "data-app": app.name });
    const note = app.blocked ? "已阻止 blocked: " + app.blocked : app.alert || app.message || "";
    row.append(el("td", app.name), el("td", app.state, { class: appClass(app) }),
      el("td", SITE_NAMES[app.active_site] || app.active_site), el("td", app.mode),
      el("td", note, { class: app.blocked || app.alert ? "warn" : "" }));
    body.append(row);
  }
}

// apply's latest comparison of the DR copy with the source, per schema
function verificationText(v) {
  if (!v) return "未知 unknown";
  if (v.differences) return `✘ ${v.differences} 处差异 difference(s)`;
  return v.stale ? "过期 stale" : "✔ 一致 equal";
}

function showVerification(summary) {
  const body = $("#verification tbody");
  body.replaceChildren();
  const v = summary ? summary.verification : null;
  const per = v ? v.per_schema : {};
  const names = [...Object.keys(per), ...(v ? v.unverified_schemas : [])].sort();
  if (!names.length) {
    const row = el("tr");
    row.append(el("td", "—"), el("td", "未校验 never verified", { class: "warn" }),
      el("td", ""), el("td", ""), el("td", ""));
    body.append(row);
  }
  for (const name of names) {
    const d = per[name];
    const row = el("tr", null, { "data-schema": name });
    const cls = !d || d.stale ? "warn" : d.differences ? "bad" : "ok";
    row.append(el("td", name), el("td", d ? verificationText(d) : "未校验 not verified",
      { class: cls }), el("td", d ? String(d.scn ?? "—") : ""),
      el("td", d ? `${hhmm(Date.parse(d.verified_at) / 1000, true)} (${Math.round(
        d.age_seconds)} s ago)` : ""),
      el("td", d ? (d.tables_differing || []).join(", ") : ""));
    body.append(row);
  }
}

function showBlocks(blocks) {
  const box = $("#blocks");
  box.replaceChildren();
  const names = Object.keys(blocks).sort();
  box.hidden = !names.length;
  box.className = "banner block";
  for (const name of names) {
    const b = blocks[name];
    const line = el("p", `防抖阻止 ANTI-FLAPPING BLOCK ${name} since ${when(b.since)}: ${b.reason}`,
      { "data-block": name });
    if (can("ack_block")) {
      const button = el("button", "确认解除 acknowledge", { type: "button", class: "ack-block" });
      button.addEventListener("click", () => acknowledgeBlock(name));
      line.append(" ", button);
    }
    box.append(line);
  }
}

async function acknowledgeBlock(name) {
  const comment = prompt(`为何安全 why is it safe to allow ${name} again? (required)`);
  if (!comment) return;
  try {
    await api("GET", "/sites");
    await api("POST", `/blocks/${name}/acknowledge`, { comment }, { "If-Match": state.etag });
    say(`${name}: 已解除 block lifted`);
  } catch (error) { say(error.message, true); }
  await refreshAll();
}

function showLag(lag, limit) {
  const node = $("#lag-now");
  if (!lag || lag.seconds === null || lag.seconds === undefined) {
    node.className = "stale";
    node.textContent = "延迟未知 lag unknown" +
      (lag && lag.unknown_since ? ` since ${hhmm(lag.unknown_since)}` : "") +
      (lag && lag.error ? ` — ${lag.error}` : "");
    return;
  }
  node.className = lag.seconds > limit ? "stale" : "";
  node.textContent = `延迟 lag ${lag.seconds.toFixed(1)} s · 来源 from ${lag.source || "apply"}` +
    ` · 测量于 measured ${hhmm(lag.measured_at, true)} (${lag.age_seconds.toFixed(0)} s ago)`;
}

function showPeers(status) {
  const body = $("#peers tbody");
  body.replaceChildren();
  for (const name of ["capture", "apply", "appha"]) {
    const reading = status[name];
    const row = el("tr", null, { "data-peer": name });
    if (!reading) {
      row.append(el("td", name), el("td", "未配置 not configured", { class: "warn" }),
        el("td", ""), el("td", ""));
    } else {
      const detail = reading.ok ? (name === "appha" ? `${reading.data.length} app(s)`
        : reading.data.state || "") : reading.error;
      row.append(el("td", name), el("td", reading.ok ? "正常 answering" : "无响应 unreachable",
        { class: reading.ok ? "ok" : "bad" }), el("td", detail), el("td", hhmm(reading.at, true)));
    }
    body.append(row);
  }
}

function showAlerts(status, apps) {
  const list = $("#alerts");
  list.replaceChildren();
  const a = status.alerts;
  const items = [];
  if (a.lag_high) items.push("复制延迟超限 replication lag above the threshold");
  if (a.capture_stopped) items.push("捕获停止 capture stopped or unreachable");
  if (a.apply_error) items.push("应用复制错误 apply in error or unreachable");
  if (a.capture_degraded) items.push("捕获等待故障恢复 capture waiting out a fault");
  if (a.apply_degraded) items.push("应用复制等待故障恢复 apply waiting out a fault");
  for (const app of a.apps_down) items.push(`应用故障 application down: ${app}`);
  for (const schema of a.dr_differs || []) {
    items.push(`DR 副本与源不一致 the DR copy differs from the source: ${schema}`);
  }
  for (const app of apps) if (app.alert) items.push(`${app.name}: ${app.alert}`);
  if (status.audit && !(status.audit.ok && status.audit.anchored)) {
    items.push(`审计链 audit chain: ${status.audit.reason}`);
  }
  if (!items.length) list.append(el("li", "无告警 no alerts", { class: "none" }));
  for (const text of items) list.append(el("li", text));
}

const SVG = "http://www.w3.org/2000/svg";
function svgEl(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

// Lag over time with real axes: time (HH:MM:SS) along x, seconds up y, the alert threshold
// dashed; unknown readings break the line instead of being drawn as if they were known.
function drawLag(history, limit) {
  const svg = $("#lag-chart");
  svg.replaceChildren();
  const [W, H, L, R, T, B] = [640, 160, 48, 10, 10, 26];
  if (history.length < 2) {
    svg.append(svgEl("text", { x: L, y: H / 2 }, "数据不足 not enough samples yet"));
    return;
  }
  const known = history.filter((p) => p.lag_seconds !== null).map((p) => p.lag_seconds);
  const top = Math.max(1, limit || 0, ...known) * 1.1;
  const t0 = history[0].at, t1 = Math.max(history[history.length - 1].at, t0 + 1);
  const x = (t) => L + ((W - L - R) * (t - t0)) / (t1 - t0);
  const y = (v) => H - B - ((H - B - T) * v) / top;
  for (const v of [0, top / 2, top]) {
    svg.append(svgEl("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "grid" }));
    svg.append(svgEl("text", { x: L - 4, y: y(v) + 4, "text-anchor": "end" },
      `${v.toFixed(v < 10 ? 1 : 0)} s`));
  }
  for (let i = 0; i <= 4; i += 1) {
    const t = t0 + ((t1 - t0) * i) / 4;
    svg.append(svgEl("line", { x1: x(t), x2: x(t), y1: H - B, y2: H - B + 4, class: "axis" }));
    svg.append(svgEl("text", { x: x(t), y: H - 8, "text-anchor": i === 0 ? "start"
      : i === 4 ? "end" : "middle", class: "tick" }, hhmm(t, true)));
  }
  svg.append(svgEl("line", { x1: L, x2: L, y1: T, y2: H - B, class: "axis" }));
  svg.append(svgEl("line", { x1: L, x2: W - R, y1: H - B, y2: H - B, class: "axis" }));
  if (limit) {
    svg.append(svgEl("line", { x1: L, x2: W - R, y1: y(limit), y2: y(limit), class: "limit" }));
    svg.append(svgEl("text", { x: W - R, y: y(limit) - 3, "text-anchor": "end",
      class: "limit-label" }, `告警阈值 alert ${limit} s`));
  }
  let segment = [];
  const flush = () => {
    if (segment.length > 1) svg.append(svgEl("polyline", { points: segment.join(" "),
      class: "line" }));
    segment = [];
  };
  for (const p of history) {
    if (p.lag_seconds === null) { flush(); continue; }
    segment.push(`${x(p.at).toFixed(1)},${y(p.lag_seconds).toFixed(1)}`);
  }
  flush();
}

// ---- pending requests and confirmation -------------------------------------------------

async function loadPending(live) {
  const pending = await api("GET", "/approvals");
  if (!live()) return;
  const box = $("#pending");
  box.replaceChildren();
  if (!pending.length) box.append(el("p", "无 none", { class: "muted" }));
  for (const op of pending) box.append(pendingCard(op));
}

// Which way an operation moves things, in words a person checks at 3 a.m.
function direction(op) {
  const asked = (op.requester_evidence || {}).direction;
  const what = op.app ? `应用 ${op.app}` : "数据库与应用 database and applications";
  let from = "primary", to = "standby";
  if (op.type === "switchback" || asked === "switchback") [from, to] = ["standby", "primary"];
  const drill = op.type === "drill" ? " (演练 drill: nothing moves)" : "";
  return `方向 direction: ${what} ${SITE_NAMES[from]} → ${SITE_NAMES[to]}${drill}`;
}

function pendingCard(op) {
  const card = $("#pending-template").content.firstElementChild.cloneNode(true);
  card.dataset.opId = op.id;
  $(".op-id", card).textContent = op.id;
  $(".op-type", card).textContent = op.type + (op.drill_of ? ` (${op.drill_of})` : "");
  $(".direction", card).textContent = direction(op);
  const badge = $(".state", card);
  badge.textContent = op.state;
  badge.classList.add(op.state);
  $(".op-meta", card).textContent = `申请人 by ${op.requested_by} · ${when(op.requested_at)}` +
    ` · 原因 reason: ${op.reason || "—"} · 截止 expires ${when(op.expires_at)}` +
    ` · 已确认 approvals ${op.approvals_counted}/${op.policy.required_approvals}`;
  const evidence = op.evidence;
  if (evidence) {
    const body = $(".checks tbody", card);
    for (const check of evidence.checks) {
      const row = el("tr");
      // a failed required check blocks (red); a failed informational one needs reading (amber)
      row.append(el("td", check.name), el("td", check.ok ? "✔" : "✘",
        { class: check.ok ? "ok" : check.required ? "bad" : "warn" }),
        el("td", check.required ? "是 yes" : ""),
        el("td", check.detail));
      body.append(row);
    }
    const loss = evidence.loss;
    const secs = loss.seconds === null ? "未知 unknown" : `${loss.seconds.toFixed(1)} s`;
    $(".loss", card).textContent = `预计丢失 estimated loss: ${secs}, ` +
      `${loss.transactions ?? "未知 unknown"} tx · 源 SCN ${loss.source_scn ?? "—"} · 已应用 ` +
      `applied ${loss.applied_scn ?? "—"} · 采集 collected ${when(evidence.collected_at)}` +
      (loss.basis ? ` · ${loss.basis}` : "");
    const v = ((evidence.facts || {}).apply || {}).verification;
    const line = $(".verification-line", card);
    if (v && Object.keys(v.per_schema || {}).length) {
      line.textContent = "DR 副本校验 verification: " + Object.entries(v.per_schema).map(
        ([name, d]) => `${name} SCN ${d.scn ?? "—"}, ${Math.round(d.age_seconds)} s ago, ` +
          verificationText(d)).join(" · ");
      line.className = "verification-line " + (v.differences ? "bad" : v.stale_schemas.length ||
        v.unverified_schemas.length ? "warn" : "ok");
    } else {
      line.textContent = "DR 副本校验 verification: 未校验 never verified";
      line.className = "verification-line warn";
    }
    $(".digest", card).textContent = "证据摘要 evidence digest: " + op.evidence_digest;
    const form = $(".confirm-form", card);
    form.hidden = !(can("approve") && op.state === "awaiting_approval" &&
                    op.requested_by !== state.me.user);
    $(".confirm-seconds", card).value = Math.ceil(loss.seconds || 0);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      confirmOperation(op, card);
    });
    $(".reject", card).addEventListener("click", () => rejectOperation(op, card));
  }
  const approvals = $(".approvals", card);
  for (const a of op.approvals || []) {
    const text = `已确认 approved by ${a.user} ${when(a.at)}` +
      (a.caveats && a.caveats.length ? ` — ${a.caveats.join("; ")}` : "");
    approvals.append(el("li", text, { class: a.caveats && a.caveats.length ? "warn" : "" }));
  }
  const refreshButton = $(".refresh", card);
  refreshButton.hidden = !can("refresh_evidence");
  refreshButton.addEventListener("click", async () => {
    try {
      await api("POST", `/operations/${op.id}/evidence`);
      say(`${op.id}: 正在重新采集证据 re-collecting evidence`);
    } catch (error) { say(error.message, true); }
  });
  return card;
}

async function confirmOperation(op, card) {
  const body = { evidence_digest: op.evidence_digest, comment: $(".confirm-comment", card).value,
    accepted_loss: { max_seconds: Number($(".confirm-seconds", card).value),
                     max_transactions: Number($(".confirm-transactions", card).value) } };
  try {
    await api("GET", "/sites");
    const result = await api("POST", `/operations/${op.id}/approvals`, body,
                             { "If-Match": state.etag });
    say(`${op.id}: 已确认 confirmed (${result.state})`);
    state.selected = op.id;
  } catch (error) {
    say(`${op.id}: ${error.message}`, true);
  }
  await refreshAll();
}

async function rejectOperation(op, card) {
  const comment = $(".confirm-comment", card).value || "rejected in console";
  try {
    await api("POST", `/operations/${op.id}/rejections`, { comment });
    say(`${op.id}: 已拒绝 rejected`);
  } catch (error) { say(error.message, true); }
  await refreshAll();
}

// ---- requests, operations, runbook progress -------------------------------------------

async function requestOperation(event) {
  event.preventDefault();
  const type = $("#request-type").value;
  const body = { type, reason: $("#request-reason").value };
  if (type === "drill") body.drill_of = $("#drill-of").value;
  try {
    await api("GET", "/sites");
    const op = await api("POST", "/operations", body, { "If-Match": state.etag });
    state.selected = op.id;
    say(`${op.id}: 已申请，正在预检 requested, pre-checks running`);
    $("#request-reason").value = "";
  } catch (error) {
    say(error.message, true);
  }
  await refreshAll();
}

async function loadOps(live) {
  const ops = await api("GET", "/operations?limit=15");
  if (!live()) return;
  const body = $("#ops tbody");
  body.replaceChildren();
  for (const op of ops) {
    const row = el("tr", null, { "data-op-id": op.id });
    const button = el("button", "查看 view", { type: "button" });
    button.addEventListener("click", () => { state.selected = op.id; refresh(["execution"]); });
    row.append(el("td", op.id), el("td", op.type), el("td", op.state,
      { class: "state " + op.state }), el("td", op.requested_by), el("td",
      when(op.requested_at)));
    const cell = el("td");
    cell.append(button);
    row.append(cell);
    body.append(row);
  }
}

async function loadExecution(opId, live) {
  const execution = await api("GET", `/executions/${opId}`);
  if (!live()) return;
  $("#execution").hidden = false;
  $("#execution-id").textContent = opId;
  const badge = $("#execution-state");
  badge.textContent = execution.state;
  badge.className = "state " + execution.state;
  const list = $("#steps");
  list.replaceChildren();
  const steps = execution.steps.length ? execution.steps
    : execution.planned.map((s) => ({ ...s, state: "planned", attempts: 0 }));
  for (const step of steps) {
    const seconds = step.finished_at && step.started_at
      ? ` · ${(step.finished_at - step.started_at).toFixed(1)} s` : "";
    const item = el("li", `${step.title} — ${step.state}${seconds}` +
      (step.error ? ` — ${step.error}` : step.note ? ` — ${step.note}` : ""),
      { "data-step": step.id, "data-state": step.state });
    list.append(item);
  }
  $("#execution-outcome").textContent = execution.outcome ? "结果 outcome: " + execution.outcome
    : "";
  const actions = $("#execution-actions");
  actions.replaceChildren();
  if (["succeeded", "failed", "aborted"].includes(execution.state)) {
    const link = el("button", "打印报告 printable report", { type: "button", id: "report" });
    link.addEventListener("click", () => openReport(opId));
    actions.append(link);
  }
  const needs = { retry: "retry", skip: "skip", abort: "abort",
                  "accept-split-brain": "approve" };
  const labels = { retry: "重试 retry", skip: "跳过 skip", abort: "中止 abort",
                   "accept-split-brain": "接受脑裂风险 accept a possible split brain" };
  for (const verb of execution.offers) {
    if (!can(needs[verb])) continue;
    const button = el("button", labels[verb], { type: "button", "data-offer": verb });
    button.addEventListener("click", () => stepAction(opId, verb, execution));
    actions.append(button);
  }
}

async function stepAction(opId, verb, execution) {
  const comment = prompt("备注 comment (required)");
  if (!comment) return;
  const failed = execution.steps.find((s) => s.state === "failed");
  const body = verb === "skip" ? { step: failed ? failed.id : "", comment } : { comment };
  if (verb === "accept-split-brain") {
    const typed = prompt('输入 type "I accept a possible split brain"');
    if (typed !== "I accept a possible split brain") return;
    body.statement = typed;
  }
  try {
    await api("POST", `/executions/${opId}/${verb}`, body);
  } catch (error) { say(error.message, true); }
  await refreshAll();
}

async function openReport(opId) {
  const html = await api("GET", `/operations/${opId}/report?format=html`);
  const url = URL.createObjectURL(new Blob([html], { type: "text/html" }));
  window.open(url, "_blank");
}

// ---- audit search ------------------------------------------------------------------------

async function searchAudit(event) {
  event.preventDefault();
  const q = $("#audit-q").value.trim();
  try {
    const rows = await api("GET", "/audit?limit=50" + (q ? "&q=" + encodeURIComponent(q) : ""));
    const body = $("#audit-results tbody");
    body.replaceChildren();
    for (const r of rows) {
      const row = el("tr");
      row.append(el("td", r.seq), el("td", when(r.at)), el("td", r.actor), el("td", r.action),
        el("td", r.target), el("td", r.outcome, { class: r.outcome === "ok" ? "ok" : "bad" }));
      body.append(row);
    }
  } catch (error) { say(error.message, true); }
}

// ---- wiring ------------------------------------------------------------------------------

$("#login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  login($("#token").value.trim());
});
$("#logout").addEventListener("click", logout);
$("#request-form").addEventListener("submit", requestOperation);
$("#request-type").addEventListener("change", () => {
  $("#drill-of-label").hidden = $("#request-type").value !== "drill";
});
$("#audit-form").addEventListener("submit", searchAudit);
if (state.token) login(state.token);
