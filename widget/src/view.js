// The panel as DOM, drawn from the state. No HTML strings: see dom.js.

import { h, s } from "./dom.js";
import { TYPE_LABELS, clock, customerName, evidenceLines, percent, signed } from "./format.js";
import { cards, ordered, waiting } from "./state.js";

const MOOD_WORD = { upset: "Upset", neutral: "Neutral", positive: "Positive" };
const VERDICTS = [
  ["helpful", "Helpful"],
  ["not-helpful", "Not helpful"],
  ["dismissed", "Dismiss"],
];

export function render(state, actions, serverNow) {
  const list = ordered(state);
  const current = state.selected ? state.conversations.get(state.selected) : null;
  return h("div", { class: "panel" },
    header(state),
    list.length > 1 ? conversationList(list, state, actions) : null,
    current ? detail(current, state, actions, serverNow)
      : h("p", { class: "empty", "data-role": "empty" }, state.connection !== "online" ? ""
        : state.wanted ? "Nothing on this conversation yet: prompts appear here once the customer writes."
          : "No open conversations."));
}

function header(state) {
  const words = {
    connecting: "Connecting\u2026",
    online: "Live",
    offline: "Offline \u2014 reconnecting\u2026",
    refused: `Cannot connect: ${state.problem}`,
  };
  return h("header", { class: "bar" },
    h("span", { class: "brand" }, "Customer Sense"),
    h("span", { class: `conn conn-${state.connection}`, "data-connection": state.connection },
      words[state.connection] || state.connection));
}

function conversationList(list, state, actions) {
  return h("nav", { "aria-label": "Your conversations, most at risk first" },
    h("ul", { class: "convs" }, list.map((c) => {
      const selected = c.conversation === state.selected;
      const type = c.customer_type ? TYPE_LABELS[c.customer_type.label] : "";
      const mood = c.trend ? moodOf(c.trend.level) : "neutral";
      return h("li", { "data-key": `row:${c.conversation}` },
        h("button", {
          class: `conv${selected ? " selected" : ""}${c.status === "ended" ? " ended" : ""}`,
          "aria-current": selected ? "true" : null,
          "data-key": `conv:${c.conversation}`,
          "data-conversation": c.conversation,
          onclick: () => actions.select(c.conversation),
        },
        h("span", { class: `dot mood-${mood}`, "aria-hidden": "true" }),
        h("span", { class: "who" }, customerName(c)),
        type ? h("span", { class: "mini-type" }, type) : null,
        c.status === "ended" ? h("span", { class: "mini-type" }, "ended") : null,
        riskBar(c),
        c.unread ? h("span", { class: "unread", "aria-label": `${c.unread} unread` }, String(c.unread)) : null));
    })));
}

function riskBar(c) {
  const level = Math.max(0, Math.min(1, c.risk || 0));
  const band = level >= 0.5 ? "high" : level >= 0.25 ? "medium" : "low";
  const why = (c.risk_reasons || []).join(", ");
  return s("svg", { class: `riskbar risk-${band}`, width: 28, height: 8, viewBox: "0 0 28 8", role: "img",
                    "aria-label": `risk ${band}${why ? `: ${why}` : ""}` },
    s("title", {}, `Risk ${percent(level)}${why ? `: ${why}` : ""}`),
    s("rect", { x: 0, y: 0, width: 28, height: 8, rx: 2, class: "track" }),
    s("rect", { x: 0, y: 0, width: Math.max(2, 28 * level).toFixed(1), height: 8, rx: 2, class: "fill" }));
}

function moodOf(value) {
  return value <= -0.05 ? "upset" : value >= 0.05 ? "positive" : "neutral";
}

function detail(c, state, actions, serverNow) {
  const wait = waiting(c, serverNow);
  return h("section", { class: "detail", "aria-label": `Conversation with ${customerName(c)}`,
                        "data-conversation": c.conversation, "data-key": `detail:${c.conversation}` },
    h("div", { class: "who-line" },
      h("h2", {}, customerName(c)),
      c.customer?.tier ? h("span", { class: "tier" }, c.customer.tier) : null,
      c.status === "ended" ? h("span", { class: "tier" }, `ended${c.outcome ? `: ${c.outcome}` : ""}`) : null),
    typeBadge(c, state, actions),
    moodLine(c),
    wait && wait.seconds >= 0 ? h("p", { class: `timer${wait.seconds >= 60 ? " late" : ""}`, "data-role": "timer" },
      `${wait.what} `, h("strong", {}, clock(wait.seconds))) : null,
    draftWarning(c),
    c.whispers.map((w) => h("aside", { class: "whisper", "aria-label": "Supervisor whisper" },
      h("strong", {}, `Supervisor ${w.from || ""}: `), w.text)),
    h("div", { class: "cards" }, cards(c).map((p) => card(c, p, state, actions))));
}

function details(key, summaryText, body, state, actions) {
  return h("details", { "data-key": key, open: state.open.has(key),
                        ontoggle: (event) => actions.toggle(key, event.currentTarget.open) },
    h("summary", { "data-key": `${key}:summary` }, summaryText), body);
}

function typeBadge(c, state, actions) {
  const t = c.customer_type;
  if (!t) return h("p", { class: "type none" }, "Customer type: not clear yet");
  const name = TYPE_LABELS[t.label] || t.label;
  return h("div", { class: `type type-${t.label}`, "data-role": "type" },
    details(`type:${c.conversation}`,
      [h("span", { class: "badge" }, name), ` ${percent(t.confidence)} sure`],
      h("ul", { class: "evidence" }, (t.evidence || []).map((e) =>
        h("li", {}, e.quote ? h("q", {}, e.quote) : null, e.why ? h("span", { class: "why" }, ` \u2014 ${e.why}`) : null))),
      state, actions));
}

function moodLine(c) {
  const customer = c.turns.filter((t) => t.role === "customer");
  const last = customer[customer.length - 1];
  if (!last) return h("p", { class: "mood none" }, "No customer message yet");
  const level = c.trend ? c.trend.level : last.sentiment;
  const label = `Mood ${MOOD_WORD[last.mood] || last.mood}, last message ${signed(last.sentiment)}` +
    (c.trend?.falling_fast ? ", falling fast" : "");
  return h("div", { class: `mood mood-${last.mood}`, "data-role": "mood" },
    sparkline(customer.map((t) => t.sentiment), label),
    h("span", { class: "mood-word" }, MOOD_WORD[last.mood] || last.mood),
    h("span", { class: "mood-score" }, ` ${signed(last.sentiment)}`),
    c.trend?.falling_fast ? h("span", { class: "falling" }, " \u2198 falling fast") : null,
    h("span", { class: "visually-hidden" }, `; trend ${signed(level)}`));
}

function sparkline(values, label) {
  const width = 120;
  const height = 28;
  const pad = 3;
  const n = values.length;
  const x = (i) => (n === 1 ? width / 2 : pad + (i * (width - 2 * pad)) / (n - 1));
  const y = (v) => pad + ((1 - Math.max(-1, Math.min(1, v))) / 2) * (height - 2 * pad);
  const points = values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
  const last = values[n - 1];
  return s("svg", { class: "spark", viewBox: `0 0 ${width} ${height}`, width, height, role: "img",
                    "aria-label": label },
    s("line", { x1: 0, x2: width, y1: y(0), y2: y(0), class: "zero" }),
    n > 1 ? s("polyline", { points, class: "line" }) : null,
    s("circle", { cx: x(n - 1), cy: y(last), r: 3, class: `end mood-${moodOf(last)}` }));
}

function draftWarning(c) {
  // What the draft itself would set off; advice already on a card is not repeated.
  const showing = new Set(cards(c).filter((p) => !p.local).map((p) => p.prompt));
  const fresh = c.draft.filter((w) => !showing.has(w.prompt));
  if (!fresh.length) return null;
  return h("div", { class: "draft", role: "alert", "data-role": "draft-warning" },
    h("strong", {}, "Before you send: "),
    fresh.map((w) => h("p", { "data-prompt": w.prompt }, w.text)));
}

function card(c, p, state, actions) {
  const done = p.local && p.local !== "dismissed";
  return h("article", { class: `card sev-${p.severity}${done ? " done" : ""}`, "data-prompt": p.prompt,
                        "data-id": p.id, "data-key": `card:${p.id}`, "aria-label": `${p.severity} prompt` },
    h("p", { class: "card-text" },
      h("span", { class: "sev" }, p.severity === "critical" ? "Now: " : p.severity === "warn" ? "Tip: " : "Note: "),
      p.text),
    details(`why:${p.id}`, "Why?",
      h("ul", { class: "evidence" }, evidenceLines(p.evidence).map((line) =>
        h("li", {}, h("span", { class: "what" }, line.what),
          line.who ? h("span", { class: "who-said" }, ` (${line.who})`) : null,
          line.why ? h("span", { class: "why" }, ` \u2014 ${line.why}`) : null))),
      state, actions),
    done ? h("p", { class: "thanks" }, p.local === "helpful" ? "Marked helpful. Thanks." : "Marked not helpful. Thanks.")
      : h("div", { class: "actions", role: "group", "aria-label": "Was this prompt useful?" },
        VERDICTS.map(([verdict, word]) => h("button", {
          type: "button", class: `fb fb-${verdict}`, "data-verdict": verdict, "data-key": `fb:${p.id}:${verdict}`,
          onclick: () => actions.feedback(c.conversation, p.id, verdict),
        }, word))),
    p.error ? h("p", { class: "error", role: "alert" }, p.error) : null);
}
