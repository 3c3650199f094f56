// The connector health board: reads the board's JSON and the approval queue, draws one card
// per connector, refreshes by itself, and lets a signed-in operator disable and enable.
"use strict";

const BOARD = "/api/v1/connectors/governance";
const HISTORY = 30; // samples kept per connector for the charts
const STATUSES = ["ok", "degraded", "error", "unknown", "not_configured", "disabled"];

const TEXT = {
  en: {
    title: "Connector health board",
    otherLanguage: "العربية",
    health: "Connector health",
    healthOf: "{percent}% ({ok} of {active} ok)",
    pending: "Pending approvals",
    updated: "Updated",
    signIn: "Sign in to act: open the link that connector-gateway login-url prints.",
    circuit: "Circuit breaker",
    errorRate: "Recent error rate",
    p95: "Latency p95",
    lastSuccess: "Last success",
    lastAttempt: "Last attempt",
    lastError: "Last error",
    latencyChart: "p95 latency (ms)",
    errorChart: "error rate",
    disable: "Disable",
    enable: "Enable",
    cancel: "Cancel",
    disableTitle: "Disable connector",
    reason: "Reason",
    disabledBecause: "Disabled by {by}: {reason}",
    disabledNoReason: "Disabled",
    calls: "{n} calls",
    never: "never",
    sandbox: "sandbox",
    unreachable: "The gateway did not answer: {why}",
    refused: "Refused: {why}",
    ok: "OK",
    degraded: "Degraded",
    error: "Error",
    unknown: "Unknown",
    not_configured: "Not configured",
    disabled: "Disabled",
    closed: "closed",
    open: "open",
    half_open: "half open",
  },
  ar: {
    title: "لوحة صحة الموصلات",
    otherLanguage: "English",
    health: "صحة الموصلات",
    healthOf: "{percent}% ({ok} من {active} سليمة)",
    pending: "الموافقات المعلقة",
    updated: "آخر تحديث",
    signIn: "سجّل الدخول لتتصرف: افتح الرابط الذي يطبعه connector-gateway login-url.",
    circuit: "قاطع الدائرة",
    errorRate: "معدل الأخطاء الأخير",
    p95: "زمن الاستجابة p95",
    lastSuccess: "آخر نجاح",
    lastAttempt: "آخر محاولة",
    lastError: "آخر خطأ",
    latencyChart: "زمن الاستجابة p95 (مللي ثانية)",
    errorChart: "معدل الأخطاء",
    disable: "تعطيل",
    enable: "تفعيل",
    cancel: "إلغاء",
    disableTitle: "تعطيل الموصل",
    reason: "السبب",
    disabledBecause: "عطّله {by}: {reason}",
    disabledNoReason: "معطّل",
    calls: "{n} استدعاء",
    never: "أبدًا",
    sandbox: "بيئة تجريبية",
    unreachable: "لم تُجب البوابة: {why}",
    refused: "رُفض الطلب: {why}",
    ok: "سليم",
    degraded: "متراجع",
    error: "خطأ",
    unknown: "غير معروف",
    not_configured: "غير مهيأ",
    disabled: "معطّل",
    closed: "مغلق",
    open: "مفتوح",
    half_open: "نصف مفتوح",
  },
};

const state = {
  lang: chosenLanguage(),
  board: null,
  history: new Map(), // connector key -> [{p95, rate}]
  csrf: null, // a token means a signed-in caller
  asked: false, // whether the page asked for a token since it loaded
  refreshes: 0,
  refreshing: null, // the refresh under way, which a timer's tick joins
  disabling: null, // the connector key the dialog is for
};

function chosenLanguage() {
  const asked = new URLSearchParams(location.search).get("lang");
  const kept = asked || localStorage.getItem("board-language");
  return kept === "ar" ? "ar" : "en";
}

function t(key, values = {}) {
  const text = TEXT[state.lang][key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
}

function statusOf(entry) {
  const name = entry.status.replace(/^CONNECTOR_STATUS_/, "").toLowerCase();
  return STATUSES.includes(name) ? name : "unknown";
}

function circuitOf(entry) {
  return entry.circuit_state.replace(/^CIRCUIT_STATE_/, "").toLowerCase();
}

function when(text) {
  if (!text) return t("never");
  const locale = state.lang === "ar" ? "ar" : "en";
  return new Intl.DateTimeFormat(locale, { dateStyle: "short", timeStyle: "medium" })
    .format(new Date(text));
}

function applyLanguage() {
  document.documentElement.lang = state.lang;
  document.documentElement.dir = state.lang === "ar" ? "rtl" : "ltr";
  document.title = t("title");
  for (const node of document.querySelectorAll("[data-text]")) {
    if (node.closest("template")) continue;
    node.textContent = t(node.dataset.text);
  }
}

async function fetchJson(path, options = {}) {
  const response = await fetch(path, { credentials: "same-origin", ...options });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(body.error?.reason || `HTTP ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return body;
}

function refresh() {
  state.refreshing ??= reload().finally(() => {
    state.refreshing = null;
  });
  return state.refreshing;
}

async function reload() {
  try {
    state.board = await fetchJson(BOARD);
    remember(state.board.connectors);
    await signedIn();
    await pendingApprovals();
    showProblem("");
  } catch (error) {
    showProblem(t("unreachable", { why: error.message }));
  }
  render();
  state.refreshes += 1;
  document.body.dataset.refreshes = String(state.refreshes);
}

function remember(connectors) {
  for (const entry of connectors) {
    const samples = state.history.get(entry.connector_key) || [];
    samples.push({ p95: entry.latency_p95_ms, rate: entry.recent_error_rate });
    state.history.set(entry.connector_key, samples.slice(-HISTORY));
  }
}

// Asked once per page load: a browser that has not signed in is refused (and audited), and
// signing in loads the page again.
async function signedIn() {
  if (state.asked) return;
  state.asked = true;
  try {
    state.csrf = (await fetchJson("/v1/csrf-token")).token;
  } catch {
    state.csrf = null; // not signed in: the board is read only
  }
}

async function pendingApprovals() {
  const shown = document.getElementById("pending");
  if (!state.csrf) {
    shown.textContent = "—";
    return;
  }
  try {
    const page = await fetchJson("/v1/approvals?status=pending&page_size=1000");
    shown.textContent = page.approvals.length + (page.next_page_token ? "+" : "");
  } catch {
    shown.textContent = "—"; // not an operator
  }
}

function showProblem(text) {
  const problem = document.getElementById("problem");
  problem.textContent = text;
  problem.hidden = !text;
}

function render() {
  applyLanguage();
  document.getElementById("signin").hidden = Boolean(state.csrf);
  document.getElementById("updated").textContent = when(new Date().toISOString());
  const main = document.getElementById("connectors");
  if (!state.board) return;
  showHealth(state.board.connector_health);
  for (const entry of state.board.connectors) {
    let card = main.querySelector(`[data-key="${CSS.escape(entry.connector_key)}"]`);
    if (!card) {
      card = document.getElementById("card").content.firstElementChild.cloneNode(true);
      card.dataset.key = entry.connector_key;
      card.querySelector(".disable").addEventListener("click", () => askToDisable(entry.connector_key));
      card.querySelector(".enable").addEventListener("click", () => enable(entry.connector_key));
      main.append(card);
    }
    fill(card, entry);
  }
}

// The metric dictionary's connector_health, as the board's JSON carries it.
function showHealth(figure) {
  const parts = Object.fromEntries((figure?.components || []).map((c) => [c.name, c.value]));
  document.getElementById("health").textContent = figure?.value
    ? t("healthOf", {
        percent: Math.round(Number(figure.value) * 100),
        ok: parts.ok,
        active: parts.active,
      })
    : "—";
}

function fill(card, entry) {
  const status = statusOf(entry);
  card.dataset.status = status;
  for (const node of card.querySelectorAll("[data-text]")) node.textContent = t(node.dataset.text);
  const name = state.lang === "ar" ? entry.display_name_ar : entry.display_name;
  card.querySelector(".name").textContent =
    entry.sandbox ? `${name} (${t("sandbox")})` : name;
  card.querySelector(".status").textContent = t(status);
  card.querySelector(".circuit").textContent = t(circuitOf(entry));
  card.querySelector(".error-rate").textContent =
    `${Math.round(entry.recent_error_rate * 100)}% · ${t("calls", { n: entry.recent_calls })}`;
  card.querySelector(".p95").textContent = `${Math.round(entry.latency_p95_ms)} ms`;
  card.querySelector(".last-success").textContent = when(entry.last_success_at);
  card.querySelector(".last-attempt").textContent = when(entry.last_attempt_at);
  card.querySelector(".last-error").textContent = entry.last_error || "—";
  const reason = card.querySelector(".disabled-reason");
  reason.hidden = status !== "disabled";
  reason.textContent = entry.disabled_reason
    ? t("disabledBecause", { by: entry.disabled_by, reason: entry.disabled_reason })
    : t("disabledNoReason");
  const samples = state.history.get(entry.connector_key) || [];
  draw(card.querySelector(".chart.latency"), samples.map((s) => s.p95));
  draw(card.querySelector(".chart.errors"), samples.map((s) => s.rate), 1);
  const actions = card.querySelector(".actions");
  actions.hidden = !state.csrf;
  card.querySelector(".disable").hidden = status === "disabled";
  card.querySelector(".enable").hidden = status !== "disabled";
}

function draw(svg, values, top = Math.max(1, ...values)) {
  const points = values.map((value, i) => {
    const x = values.length > 1 ? (i * 120) / (values.length - 1) : 60;
    const y = 30 - (Math.min(value, top) / top) * 28;
    return `${x.toFixed(1)},${y.toFixed(1)}`;
  });
  let line = svg.querySelector("polyline");
  if (!line) {
    line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
    svg.append(line);
  }
  line.setAttribute("points", points.join(" "));
  svg.dataset.samples = String(values.length);
}

function askToDisable(key) {
  state.disabling = key;
  document.getElementById("disable-name").textContent = key;
  document.getElementById("disable-reason").value = "";
  document.getElementById("disable-dialog").showModal();
}

async function change(key, action, body) {
  try {
    await fetchJson(`/api/v1/connectors/${encodeURIComponent(key)}/${action}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": state.csrf },
      body: JSON.stringify(body),
    });
  } catch (error) {
    if (error.status === 403 || error.status === 401) {
      state.csrf = null; // the token or the session ran out: ask again
      state.asked = false;
    }
    showProblem(t("refused", { why: error.message }));
    return;
  }
  await refresh();
}

function enable(key) {
  return change(key, "enable", {});
}

function start() {
  document.getElementById("language").addEventListener("click", () => {
    state.lang = state.lang === "ar" ? "en" : "ar";
    localStorage.setItem("board-language", state.lang);
    render();
  });
  document.getElementById("disable-dialog").addEventListener("close", () => {
    const dialog = document.getElementById("disable-dialog");
    const reason = document.getElementById("disable-reason").value.trim();
    if (dialog.returnValue === "disable" && reason && state.disabling) {
      change(state.disabling, "disable", { reason });
    }
    state.disabling = null;
  });
  const every = Number(new URLSearchParams(location.search).get("refresh_ms")) || 5000;
  refresh();
  setInterval(refresh, Math.max(500, every));
}

start();
