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
    banner.textContent = `冻结中 FROZEN by ${sites.freeze.by}: ${sites.freeze.comment}`;
  }
  const status = await api("GET", "/status");
  if (!live()) return;
  drawLag(status.lag_history);
  const body = $("#apps tbody");
  body.replaceChildren();
  const apps = status.appha && status.appha.ok ? status.appha.data : [];
  for (const app of apps) {
    const row = el("tr");
    row.append(el("td", app.name), el("td", app.state, { class: /down|fail/i.test(app.state)
      ? "bad" : "ok" }), el("td", app.active_site), el("td", app.mode));
    body.append(row);
  }
}

function drawLag(history) {
  const svg = $("#lag-chart");
  svg.replaceChildren();
  const points = history.filter((p) => p.lag_seconds !== null);
  const last = points.length ? points[points.length - 1].lag_seconds : null;
  $("#lag-now").textContent = last === null ? "延迟未知 lag unknown"
    : `当前延迟 current lag: ${last.toFixed(1)} s`;
  if (points.length < 2) return;
  const max = Math.max(1, ...points.map((p) => p.lag_seconds));
  const t0 = points[0].at, t1 = points[points.length - 1].at || t0 + 1;
  const coords = points.map((p) => `${(600 * (p.at - t0)) / Math.max(1, t1 - t0)},` +
    `${115 - (110 * p.lag_seconds) / max}`).join(" ");
  const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
  line.setAttribute("points", coords);
  line.setAttribute("fill", "none");
  line.setAttribute("stroke", "#10345a");
  line.setAttribute("stroke-width", "2");
  svg.append(line);
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

function pendingCard(op) {
  const card = $("#pending-template").content.firstElementChild.cloneNode(true);
  card.dataset.opId = op.id;
  $(".op-id", card).textContent = op.id;
  $(".op-type", card).textContent = op.type + (op.drill_of ? ` (${op.drill_of})` : "");
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
      row.append(el("td", check.name), el("td", check.ok ? "✔" : "✘",
        { class: check.ok ? "ok" : "bad" }), el("td", check.required ? "是 yes" : ""),
        el("td", check.detail));
      body.append(row);
    }
    const loss = evidence.loss;
    $(".loss", card).textContent = `预计丢失 estimated loss: ${loss.seconds ?? "?"} s, ` +
      `${loss.transactions ?? "?"} tx · 源 SCN ${loss.source_scn ?? "?"} · 已应用 applied ` +
      `${loss.applied_scn ?? "?"} · 采集 collected ${when(evidence.collected_at)}`;
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
  for (const verb of execution.offers) {
    if ((verb === "skip" && !can("skip")) || (verb !== "skip" && !can(verb))) continue;
    const button = el("button", { retry: "重试 retry", skip: "跳过 skip", abort: "中止 abort" }[verb],
      { type: "button" });
    button.addEventListener("click", () => stepAction(opId, verb, execution));
    actions.append(button);
  }
}

async function stepAction(opId, verb, execution) {
  const comment = prompt("备注 comment (required)");
  if (!comment) return;
  const failed = execution.steps.find((s) => s.state === "failed");
  const body = verb === "skip" ? { step: failed ? failed.id : "", comment } : { comment };
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
