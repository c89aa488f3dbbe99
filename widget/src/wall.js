// The supervisor's page (/supervisor#token=...): the wall of live conversations ranked
// by risk, one conversation's transcript and mood curve, whispers, escalation alerts,
// the phrasebook editor (check as you type, backtest, save) and which prompts help.

import { io } from "socket.io-client";
import { h, patch, s, sheet } from "./dom.js";
import { TYPE_LABELS, clock, customerName, percent, signed } from "./format.js";
import css from "./wall.css";

document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet(css)];
const params = new URLSearchParams(window.location.hash.slice(1));
const token = params.get("token") || "";
history.replaceState(null, "", window.location.pathname);

const state = {
  conversations: new Map(), selected: null, detail: null, alerts: [], acks: new Map(),
  phrasebook: null, entries: [], entry: null, check: null, backtest: null, report: null,
  tab: "wall", connection: "connecting", problem: "", clockOffset: 0, busy: "",
  // per conversation: the whisper being typed and the last send's outcome, so that a
  // redraw (any live update repaints the wall) neither wipes the text nor the answer
  whisperDrafts: new Map(), whisperNotes: new Map(),
};
const socket = io(`${window.location.origin}/supervisor`, { auth: (cb) => cb({ token }), transports: ["websocket"] });
const root = h("div", { class: "wall" });
const live = h("div", { class: "visually-hidden", role: "status", "aria-live": "polite" });
document.body.append(root, live);
const serverNow = () => Date.now() / 1000 + state.clockOffset;
const call = (name, data) => new Promise((resolve) => socket.timeout(20000).emit(name, data, (err, res) =>
  resolve(err ? { ok: false, error: "no answer from the server" } : res)));

// -- server -----------------------------------------------------------------------------
socket.on("connect", () => { state.connection = "online"; draw(); loadPhrasebook(); });
socket.on("disconnect", () => { state.connection = "offline"; draw(); });
socket.on("connect_error", (err) => { state.connection = "refused"; state.problem = err.message; draw(); });
socket.on("snapshot", (snap) => {
  state.clockOffset = snap.ts - Date.now() / 1000;
  state.conversations = new Map(snap.conversations.map((c) => [c.conversation, c]));
  for (const c of snap.conversations) for (const p of c.prompts || []) if (p.audience === "supervisor") addAlert(p);
  draw();
});
socket.on("conversation", (c) => {
  state.conversations.set(c.conversation, { ...state.conversations.get(c.conversation), ...c });
  if (c.conversation === state.selected) openDetail(c.conversation, false);
  draw();
});
socket.on("prompt", (p) => {
  addAlert(p);
  live.textContent = `Escalation risk in ${p.conversation}: ${p.text}`;
  draw();
});
socket.on("ack", (a) => { state.acks.set(a.prompt, a); draw(); });
socket.on("phrasebook", (status) => { state.phrasebook = { ...state.phrasebook, ...status }; draw(); });

function addAlert(p) {
  if (!state.alerts.some((a) => a.id === p.id)) state.alerts.unshift(p);
  state.alerts = state.alerts.slice(0, 50);
  if (p.ack) state.acks.set(p.id, p.ack);
}

async function openDetail(cid, redraw = true) {
  state.selected = cid;
  const res = await call("detail", { conversation: cid });
  state.detail = res.ok ? res : { conversation: cid, error: res.error };
  for (const p of res.prompts || []) if (p.ack) state.acks.set(p.id, p.ack);
  if (redraw) draw(); else draw();
}

async function loadPhrasebook() {
  const res = await call("phrasebook");
  if (res.ok) { state.phrasebook = res; state.entries = res.entries; }
  draw();
}

// -- drawing ------------------------------------------------------------------------------
let scheduled = false;
function draw() {
  if (scheduled) return;
  scheduled = true;
  setTimeout(() => {
    scheduled = false;
    // Patched, not replaced (the wall redraws every second): the focus, a half-done
    // click, the whisper being typed and the editor's cursor all stay where they are.
    const view = state.tab === "wall" ? wall() : state.tab === "editor" ? editor() : report();
    view.setAttribute("data-key", `view:${state.tab}`);
    patch(root, h("div", { class: "wall" }, header(), view));
  }, 0);
}

function header() {
  const tabs = [["wall", "Live conversations"], ["editor", "Phrasebook"], ["report", "Which prompts help"]];
  const book = state.phrasebook;
  return h("header", { class: "top" },
    h("h1", {}, "Customer Sense \u2014 supervisor"),
    h("nav", { role: "tablist", "aria-label": "Views" }, tabs.map(([id, label]) => h("button", {
      role: "tab", type: "button", "aria-selected": state.tab === id ? "true" : "false", "data-key": `tab:${id}`,
      id: `tab-${id}`, onclick: () => { state.tab = id; if (id === "report" && !state.report) loadReport(); draw(); },
    }, label))),
    h("span", { class: `conn conn-${state.connection}`, "data-connection": state.connection },
      state.connection === "online" ? "Live" : state.connection === "refused" ? `Cannot connect: ${state.problem}`
        : "Offline \u2014 reconnecting\u2026"),
    book ? h("span", { class: `book ${book.ok ? "ok" : "bad"}`, "data-role": "phrasebook-status" },
      book.ok ? `Phrasebook ${book.fingerprint}` : `Phrasebook edit refused: ${book.issues.length} error(s)`) : null);
}

function wall() {
  const list = [...state.conversations.values()].sort((a, b) =>
    (a.status === "ended") - (b.status === "ended") || b.risk - a.risk);
  return h("main", { class: "cols" },
    h("section", { class: "list", "aria-label": "Conversations by risk" },
      h("h2", {}, `Conversations (${list.length})`),
      phrasebookErrors(),
      alerts(),
      h("table", { class: "convs" },
        h("thead", {}, h("tr", {}, ["Customer", "Agent", "Risk", "Mood", "Type", "Waiting"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, list.map((c) => {
          const wait = c.timers && (c.timers.hold_since ?? c.timers.waiting_since);
          return h("tr", { class: c.conversation === state.selected ? "selected" : "" },
            h("td", {}, h("button", { type: "button", class: "link", "data-key": `open:${c.conversation}`,
                                      "data-conversation": c.conversation, onclick: () => openDetail(c.conversation) },
              customerName(c))),
            h("td", {}, c.agent || "\u2014"),
            h("td", { title: (c.risk_reasons || []).join(", ") }, h("span", { class: `risk r${Math.min(3, Math.floor(c.risk * 4))}` }, percent(c.risk)),
              h("span", { class: "reasons" }, ` ${(c.risk_reasons || []).slice(0, 2).join(", ")}`)),
            h("td", {}, c.trend && c.trend.turns ? signed(c.trend.level) : "\u2014"),
            h("td", {}, c.customer_type?.label ? `${TYPE_LABELS[c.customer_type.label]} ${percent(c.customer_type.confidence)}` : "\u2014"),
            h("td", {}, wait != null && c.status !== "ended" ? clock(serverNow() - wait) : "\u2014"));
        })))),
    h("section", { class: "detail", "aria-label": "Conversation" }, detail()));
}

function phrasebookErrors() {
  const book = state.phrasebook;
  if (!book || book.ok) return null;
  return h("div", { class: "errors", role: "alert", "data-role": "phrasebook-errors" },
    h("strong", {}, "The last phrasebook edit was refused; the previous version is still live:"),
    h("ul", {}, book.issues.map((i) => h("li", {}, i.text))));
}

function alerts() {
  const open = state.alerts.filter((a) => !state.acks.has(a.id));
  if (!open.length) return null;
  return h("div", { class: "alerts", "aria-label": "Escalation alerts" },
    open.map((a) => h("div", { class: `alert sev-${a.severity}`, "data-alert": a.id },
      h("strong", {}, `${a.conversation}: `), a.text, " ",
      h("button", { type: "button", "data-key": `ack:${a.id}`, onclick: async () => {
        await call("ack", { conversation: a.conversation, prompt: a.id });
      } }, "Acknowledge"),
      h("button", { type: "button", class: "link", onclick: () => openDetail(a.conversation) }, "Open"))));
}

function detail() {
  const d = state.detail;
  if (!d) return h("p", { class: "muted" }, "Open a conversation to see its transcript, mood and prompts.");
  if (d.error) return h("p", { class: "muted" }, d.error);
  const customer = (d.turns || []).filter((t) => t.role === "customer");
  return [
    h("h2", {}, `${customerName(d)} \u2014 ${d.agent || "no agent"}`),
    h("p", { class: "muted" }, (d.risk_reasons || []).join(" \u00b7 ") || "low risk"),
    curve(customer),
    h("ol", { class: "transcript", "aria-label": "Transcript" }, (d.turns || []).map((t) =>
      h("li", { class: `turn ${t.role}` }, h("span", { class: "who" }, t.role), h("span", { class: "score" }, signed(t.sentiment)),
        h("span", { class: "text" }, t.text)))),
    h("h3", {}, "Prompts"),
    h("ul", { class: "prompts" }, (d.prompts || []).map((p) => h("li", { class: `sev-${p.severity}` },
      h("strong", {}, `${p.prompt} `), `#${p.event} ${p.text}`,
      p.verdict ? h("em", {}, ` (${p.verdict})`) : null,
      state.acks.has(p.id) ? h("em", {}, ` (acknowledged by ${state.acks.get(p.id).by})`) : null))),
    whisperForm(d),
  ];
}

function curve(turns) {
  const w = 420, hgt = 90, pad = 8, n = turns.length;
  if (!n) return h("p", { class: "muted" }, "No customer turns yet.");
  const x = (i) => (n === 1 ? w / 2 : pad + (i * (w - 2 * pad)) / (n - 1));
  const y = (v) => pad + ((1 - v) / 2) * (hgt - 2 * pad);
  return s("svg", { viewBox: `0 0 ${w} ${hgt}`, width: w, height: hgt, role: "img", class: "curve",
                    "aria-label": `customer mood over ${n} turns, last ${signed(turns[n - 1].sentiment)}` },
    s("line", { x1: 0, x2: w, y1: y(0), y2: y(0), class: "zero" }),
    s("polyline", { points: turns.map((t, i) => `${x(i).toFixed(1)},${y(t.sentiment).toFixed(1)}`).join(" "), class: "line" }),
    turns.map((t, i) => s("circle", { cx: x(i), cy: y(t.sentiment), r: 3, class: t.mood })));
}

function whisperForm(d) {
  const cid = d.conversation;
  const input = h("input", { type: "text", id: "whisper", "aria-label": `Whisper to ${d.agent}`, maxlength: 2000,
                             placeholder: "Whisper to the agent\u2026", "data-key": "whisper",
                             oninput: (ev) => state.whisperDrafts.set(cid, ev.currentTarget.value) });
  input.value = state.whisperDrafts.get(cid) || "";
  const note = h("span", { class: "muted", role: "status" }, state.whisperNotes.get(cid) || "");
  return h("form", { class: "whisper", onsubmit: async (e) => {
    e.preventDefault();
    const text = state.whisperDrafts.get(cid) || "";
    const res = await call("whisper", { conversation: cid, text });
    state.whisperNotes.set(cid, res.ok ? `Sent to ${res.agent}.` : res.error);
    if (res.ok && state.whisperDrafts.get(cid) === text) state.whisperDrafts.delete(cid);
    draw();
  } }, input, h("button", { type: "submit" }, "Whisper"), note);
}

// -- the editor -----------------------------------------------------------------------------
let checkTimer = null;

async function pickEntry(item) {
  const res = await call("entry", { file: item.file, id: item.id });
  state.entry = res.ok ? { ...res, text: res.yaml } : { error: res.error };
  state.check = null;
  state.backtest = null;
  draw();
}

function scheduleCheck(area) {
  state.entry.text = area.value;
  clearTimeout(checkTimer);
  checkTimer = setTimeout(async () => {
    state.busy = "checking";
    const res = await call("check", { file: state.entry.file, id: state.entry.id, yaml: state.entry.text });
    state.check = res;
    state.busy = "";
    draw();
  }, 400);
}

function editor() {
  const book = state.phrasebook;
  const e = state.entry;
  return h("main", { class: "cols" },
    h("section", { class: "list", "aria-label": "Phrasebook entries" },
      h("h2", {}, "Entries"),
      phrasebookErrors(),
      h("ul", { class: "entries" }, state.entries.map((item) => h("li", {},
        h("button", { type: "button", class: `link${e && e.id === item.id ? " current" : ""}`, "data-entry": item.id,
                      "data-key": `entry:${item.id}`, onclick: () => pickEntry(item) }, item.id),
        item.mode === "shadow" ? h("span", { class: "shadow" }, " shadow") : null))),
      book && book.versions ? h("div", {}, h("h3", {}, "Applied versions"),
        h("ul", { class: "versions" }, book.versions.map((v) => h("li", {},
          `${new Date(v.ts * 1000).toLocaleString()} ${v.fingerprint} by ${v.who}`,
          h("details", {}, h("summary", {}, "diff"), h("pre", {}, v.diff)))))) : null),
    h("section", { class: "detail", "aria-label": "Edit entry" }, e ? entryForm(e) :
      h("p", { class: "muted" }, "Pick an entry. Edit it as YAML: it is checked as you type (the whole phrasebook "
        + "loads, every example runs), backtested on the last week's conversations, and saved to its file, "
        + "where every other line stays as it was. Put `mode: shadow` in it to watch it on live traffic first.")));
}

function entryForm(e) {
  if (e.error) return h("p", { class: "errors" }, e.error);
  const c = state.check;
  const area = h("textarea", { id: "entry-yaml", "data-key": `yaml:${e.file}:${e.id}`, rows: 22, spellcheck: "false",
                               wrap: "off", "aria-label": `YAML of ${e.id}`,
                               "aria-describedby": "check-result", oninput: (ev) => scheduleCheck(ev.target) });
  area.value = e.text;
  const result = h("div", { id: "check-result", role: "status", "data-role": "check" },
    state.busy === "checking" ? "Checking\u2026" : !c ? `${e.file}, line ${e.line}` : c.ok
      ? `Valid: the phrasebook loads and all examples pass${c.examples ? ` (this entry: ${c.examples.fire} fire, ${c.examples.silent} silent)` : ""}.`
      : h("ul", { class: "errors" }, (c.issues || []).map((i) => h("li", {},
        i.entry_line ? `line ${i.entry_line} of the entry: ${i.message}` : i.text || i.message))));
  const bt = state.backtest;
  return [
    h("h2", {}, `Entry ${e.id}`),
    area,
    result,
    h("div", { class: "actions" },
      h("button", { type: "button", id: "run-backtest", onclick: async () => {
        state.busy = "backtest"; draw();
        state.backtest = await call("backtest", { file: e.file, id: e.id, yaml: state.entry.text });
        state.busy = ""; draw();
      } }, "Backtest on recent chats"),
      h("button", { type: "button", id: "save-entry", disabled: !(c && c.ok), onclick: async () => {
        const res = await call("save", { file: e.file, id: e.id, yaml: state.entry.text });
        state.saved = res;
        state.check = res.ok ? { ok: true, examples: c.examples } : { ok: false, issues: res.issues || [] };
        if (res.ok) { live.textContent = `Saved: phrasebook ${res.fingerprint} is live.`; loadPhrasebook(); }
        draw();
      } }, "Save and apply"),
      state.saved ? h("span", { class: "muted", "data-role": "saved" },
        state.saved.ok ? `Saved and live (${state.saved.fingerprint}).` : "Not saved.") : null),
    state.busy === "backtest" ? h("p", {}, "Backtesting\u2026") : bt ? backtestView(bt) : null,
  ];
}

function backtestView(bt) {
  if (!bt.ok) return h("p", { class: "errors" }, bt.error || "backtest failed");
  const rows = bt.summary.filter((r) => r.added || r.removed || r.moved);
  return h("div", { class: "backtest", "data-role": "backtest" },
    h("h3", {}, `Backtest: ${bt.conversations} conversations, ${bt.events} events (${bt.seconds} s)`),
    rows.length ? h("table", {}, h("tr", {}, ["prompt", "now", "after", "added", "removed", "moved"].map((t) => h("th", {}, t))),
      rows.map((r) => h("tr", {}, [r.prompt, r.old, r.new, r.added, r.removed, r.moved].map((v) => h("td", {}, String(v))))))
      : h("p", {}, "No prompt would change on these conversations."),
    h("ul", { class: "changes" }, bt.changes.slice(0, 30).map((c) => h("li", { class: c.kind },
      h("strong", {}, `${c.kind} ${c.prompt}`), ` in ${c.conversation}`,
      h("ul", {}, c.context.map((t) => h("li", { class: "muted" }, `#${t.event} ${t.role}: ${t.text}`)))))));
}

// -- which prompts help -----------------------------------------------------------------------
async function loadReport() {
  state.report = { loading: true };
  draw();
  state.report = await call("report");
  draw();
}

function report() {
  const r = state.report;
  if (!r || r.loading) return h("main", {}, h("p", {}, "Reading the last week's conversations\u2026"));
  if (!r.ok) return h("main", {}, h("p", { class: "errors" }, r.error));
  const pct = (v) => (v == null ? "\u2013" : percent(v));
  const num = (v) => (v == null ? "\u2013" : signed(v));
  return h("main", { class: "report" },
    h("h2", {}, `Which prompts help (last 7 days, ${r.conversations} conversations)`),
    h("p", { class: "muted" }, "Mood change: the customer's mean sentiment over the next 3 turns minus the moment's. "
      + "Held back: the condition held but cooldown or budget kept the prompt back. An interval across 0 means no evidence yet."),
    h("table", { "data-role": "report" },
      h("tr", {}, ["prompt", "fired", "helpful", "not helpful", "dismissed", "after fired (n)", "after held back (n)", "lift", "95% interval"]
        .map((t) => h("th", { scope: "col" }, t))),
      r.rows.map((x) => h("tr", {}, [x.prompt, x.fired, pct(x.helpful), pct(x.not_helpful), pct(x.dismissed),
        `${num(x.mood_after_fired)} (${x.n_fired})`, `${num(x.mood_after_held)} (${x.n_held})`, num(x.lift),
        x.interval ? `${num(x.interval[0])} \u2026 ${num(x.interval[1])}` : "\u2013"].map((v) => h("td", {}, String(v)))))),
    h("button", { type: "button", onclick: loadReport }, "Refresh"));
}

setInterval(() => { if (state.tab === "wall" && state.conversations.size) draw(); }, 1000);
draw();
