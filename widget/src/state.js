// What the panel knows: the agent's conversations as the server described them,
// plus what only this panel holds (unread counts, dismissed cards, draft warnings).
// Plain functions over plain objects; the view reads it, the socket writes it.

import { SEVERITY_RANK } from "./format.js";

const MAX_TURNS = 40;
const MAX_PROMPTS = 8;
const MAX_WHISPERS = 3;

export function createState() {
  return {
    conversations: new Map(),
    selected: null,
    connection: "connecting", // connecting | online | offline | refused
    problem: "",
    clockOffset: 0, // server seconds minus local seconds
    open: new Set(), // <details> keys the agent opened
    wanted: null, // the host asked for this conversation before the server told us of it
  };
}

function blank(cid) {
  return {
    conversation: cid, customer: {}, turns: [], prompts: [], whispers: [], draft: [],
    unread: 0, risk: 0, risk_reasons: [], status: "open", timers: {}, customer_type: null, trend: null,
  };
}

function conv(state, cid) {
  let c = state.conversations.get(cid);
  if (!c) {
    c = blank(cid);
    state.conversations.set(cid, c);
  }
  return c;
}

function mergeSummary(c, summary) {
  for (const key of ["agent", "status", "outcome", "customer", "channel", "trend", "customer_type",
    "timers", "risk", "risk_reasons", "updated"]) {
    if (key in summary) c[key] = summary[key];
  }
  if (Array.isArray(summary.turns) && summary.turns.length) c.turns = summary.turns.slice(-MAX_TURNS);
}

/** The server's full picture, on connect and after every reconnect. */
export function applySnapshot(state, snapshot, localNow) {
  state.clockOffset = (snapshot.ts || localNow) - localNow;
  const seen = new Set();
  for (const summary of snapshot.conversations || []) {
    const c = conv(state, summary.conversation);
    const known = new Map(c.prompts.map((p) => [p.id, p]));
    mergeSummary(c, summary);
    c.prompts = (summary.prompts || []).map((p) => ({ ...p, local: known.get(p.id)?.local || (p.verdict || "") }))
      .filter((p) => p.local !== "dismissed");
    seen.add(summary.conversation);
  }
  for (const cid of [...state.conversations.keys()]) if (!seen.has(cid)) state.conversations.delete(cid);
  if (state.selected && !state.conversations.has(state.selected)) state.selected = null;
  if (state.wanted && state.conversations.has(state.wanted)) select(state, state.wanted);
  if (!state.selected && !state.wanted) state.selected = ordered(state)[0]?.conversation || null;
}

export function applyConversation(state, summary) {
  mergeSummary(conv(state, summary.conversation), summary);
  if ((!state.selected && !state.wanted) || state.wanted === summary.conversation) select(state, summary.conversation);
}

/** Live records are stamped with the server's receive time: a late delivery only makes
 *  the sample smaller, so the largest recent sample is the best clock estimate. */
function clockSample(state, serverTs, localNow) {
  const sample = serverTs - localNow;
  if (sample > state.clockOffset && sample - state.clockOffset < 5) state.clockOffset = sample;
}

export function applyTurn(state, record, localNow) {
  if (localNow && typeof record.ts === "number") clockSample(state, record.ts, localNow);
  const c = conv(state, record.conversation);
  if (c.turns.some((t) => t.event === record.event)) return;
  c.turns.push({ event: record.event, ts: record.ts, role: record.role, sentiment: record.sentiment,
                 mood: record.mood, cues: record.cues });
  if (c.turns.length > MAX_TURNS) c.turns.shift();
  if (record.role === "customer") {
    if (record.customer_type !== undefined) c.customer_type = record.customer_type;
    if (record.trend) c.trend = record.trend;
  } else {
    c.draft = []; // the agent sent something: the draft it was about is gone
  }
}

/** Returns true when the prompt is new to this panel (so it is announced). */
export function applyPrompt(state, record) {
  const c = conv(state, record.conversation);
  if (c.prompts.some((p) => p.id === record.id)) return false;
  c.prompts.push({ ...record, local: "" });
  if (c.prompts.length > MAX_PROMPTS) c.prompts.shift();
  if (!state.selected && !state.wanted) state.selected = record.conversation;
  if (state.selected !== record.conversation) c.unread += 1;
  return true;
}

export function applyWhisper(state, message) {
  const c = conv(state, message.conversation);
  c.whispers.push(message);
  if (c.whispers.length > MAX_WHISPERS) c.whispers.shift();
  if (state.selected !== message.conversation) c.unread += 1;
}

export function select(state, cid) {
  if (!state.conversations.has(cid)) {
    state.wanted = cid; // shown as soon as the server tells of it; meanwhile no other chat stands in
    state.selected = null;
    return true;
  }
  state.wanted = null;
  state.selected = cid;
  state.conversations.get(cid).unread = 0;
  return true;
}

export function markPrompt(state, cid, promptId, local) {
  const c = state.conversations.get(cid);
  const p = c?.prompts.find((x) => x.id === promptId);
  if (p) p.local = local;
  if (c && local === "dismissed") c.prompts = c.prompts.filter((x) => x.id !== promptId);
}

/** Ended conversations leave the panel `keepSeconds` after they ended (unless shown). */
export function pruneEnded(state, localNow, keepSeconds = 60) {
  let changed = false;
  for (const [cid, c] of state.conversations) {
    if (c.status !== "ended") continue;
    c.endedAt = c.endedAt || localNow;
    if (localNow - c.endedAt > keepSeconds && cid !== state.selected) {
      state.conversations.delete(cid);
      changed = true;
    }
  }
  return changed;
}

/** Conversations most at risk first; ended ones last. */
export function ordered(state) {
  return [...state.conversations.values()].sort((a, b) =>
    (a.status === "ended") - (b.status === "ended") || (b.risk || 0) - (a.risk || 0) ||
    String(a.conversation).localeCompare(String(b.conversation)));
}

/** Cards to show: live ones, most severe first, then newest first. */
export function cards(c) {
  return c.prompts.filter((p) => p.local !== "dismissed").sort((a, b) =>
    (SEVERITY_RANK[a.severity] ?? 3) - (SEVERITY_RANK[b.severity] ?? 3) || (b.ts || 0) - (a.ts || 0));
}

/** Seconds the customer has been on hold or waiting for a reply, now, or null. */
export function waiting(c, serverNow) {
  if (c.status === "ended" || !c.timers) return null;
  if (c.timers.hold_since != null) return { what: "On hold", seconds: serverNow - c.timers.hold_since };
  if (c.timers.waiting_since != null) return { what: "Waiting for you", seconds: serverNow - c.timers.waiting_since };
  return null;
}
