// The panel: one Socket.IO connection to /agent, the state, the view, and the small
// API a host console calls (select a conversation, check a draft, change the token).

import { io } from "socket.io-client";
import { h, patch, sheet } from "./dom.js";
import { customerName } from "./format.js";
import * as st from "./state.js";
import css from "./panel.css";
import { render } from "./view.js";

const STYLES = sheet(css);

/**
 * Mount a panel into `root` (a ShadowRoot or an element).
 * options: server (origin, default this page's), token (agent token), conversation
 * (select it first), theme ("auto" | "light" | "dark"), endedKeep (seconds an ended chat
 * stays listed, default 60).
 */
export function mountPanel(root, options) {
  const state = st.createState();
  let token = options.token;
  const listeners = new Map();
  const host = root.host || root;
  const shadow = root instanceof ShadowRoot ? root : null;
  if (shadow) shadow.adoptedStyleSheets = [...shadow.adoptedStyleSheets, STYLES];
  // The colours follow `data-scheme`, which is the theme asked for, or for "auto" the
  // system's preference (and its changes): one dark palette in the CSS, not two.
  const darkQuery = window.matchMedia("(prefers-color-scheme: dark)");
  let theme = "auto";
  function showScheme() {
    host.setAttribute("data-scheme", theme === "dark" || (theme === "auto" && darkQuery.matches) ? "dark" : "light");
  }
  darkQuery.addEventListener("change", showScheme);

  setTheme(options.theme || "auto");

  const live = h("div", { class: "visually-hidden", role: "status", "aria-live": "polite", "aria-atomic": "true" });
  const urgent = h("div", { class: "visually-hidden", role: "alert", "aria-live": "assertive", "aria-atomic": "true" });
  const body = h("div", { class: "body" });
  root.append(h("div", { class: "cs-root" }, body, live, urgent));

  const serverNow = () => Date.now() / 1000 + state.clockOffset;
  let scheduled = false;
  function draw() {
    scheduled = false;
    // Patched, not replaced: what did not change keeps its node (and so the focus,
    // a half-done click, a selection, the scroll position).
    const fresh = render(state, actions, serverNow());
    if (body.firstChild && body.firstChild.nodeName === fresh.nodeName) patch(body.firstChild, fresh);
    else body.replaceChildren(fresh);
  }
  function redraw() {
    if (scheduled) return;
    scheduled = true;
    // A timer task, not a microtask: the records of one event arrive as several
    // WebSocket messages, and they all land in one drawing.
    setTimeout(draw, 0);
  }

  function emit(name, detail) {
    for (const fn of listeners.get(name) || []) {
      try { fn(detail); } catch (err) { console.error(err); }
    }
    host.dispatchEvent(new CustomEvent(`customer-sense:${name}`, { detail, bubbles: true, composed: true }));
  }

  // Screen readers hear new prompts once, together when several arrive at once.
  const pending = { polite: [], assertive: [] };
  let flushing = null;
  function announce(text, assertive) {
    pending[assertive ? "assertive" : "polite"].push(text);
    if (flushing) return;
    flushing = setTimeout(() => {
      flushing = null;
      for (const [kind, region] of [["polite", live], ["assertive", urgent]]) {
        if (!pending[kind].length) continue;
        region.textContent = pending[kind].join(" ");
        pending[kind] = [];
      }
    }, 60);
  }

  const socket = io(`${options.server || window.location.origin}/agent`, {
    auth: (cb) => cb({ token }),
    transports: ["websocket"],
    reconnectionDelayMax: 5000,
  });

  socket.on("connect", () => {
    state.connection = "online";
    state.problem = "";
    redraw();
    emit("status", { connection: "online" });
  });
  socket.on("disconnect", (reason) => {
    state.connection = "offline";
    redraw();
    emit("status", { connection: "offline", reason });
    if (reason === "io server disconnect") socket.connect(); // the server dropped us: come back
  });
  socket.on("connect_error", (err) => {
    // Refused by the server (bad or expired token): say so; the client retries only
    // when the token changes. A network error: keep retrying, show offline.
    if (err && err.message && !/xhr|websocket|timeout/i.test(err.message)) {
      state.connection = "refused";
      state.problem = err.message;
    } else {
      state.connection = "offline";
    }
    redraw();
    emit("status", { connection: state.connection, problem: state.problem });
  });
  socket.on("snapshot", (snap) => {
    st.applySnapshot(state, snap, Date.now() / 1000);
    if (options.conversation) st.select(state, options.conversation);
    redraw();
    emit("snapshot", snap);
  });
  socket.on("conversation", (summary) => {
    st.applyConversation(state, summary);
    redraw();
  });
  socket.on("turn", (record) => {
    st.applyTurn(state, record, Date.now() / 1000);
    redraw();
    emit("turn", record);
  });
  socket.on("prompt", (record) => {
    if (!st.applyPrompt(state, record)) return;
    redraw();
    const c = state.conversations.get(record.conversation);
    announce(`New ${record.severity} prompt for ${customerName(c)}: ${record.text}`,
      record.severity === "critical");
    emit("prompt", record);
  });
  socket.on("whisper", (message) => {
    st.applyWhisper(state, message);
    redraw();
    announce(`Supervisor whisper: ${message.text}`, true);
    emit("whisper", message);
  });

  const tick = setInterval(() => {
    const c = state.selected && state.conversations.get(state.selected);
    if ((c && st.waiting(c, serverNow())) || st.pruneEnded(state, Date.now() / 1000, options.endedKeep ?? 60)) redraw();
  }, 1000);

  const actions = {
    select(cid) {
      if (st.select(state, cid)) {
        redraw();
        emit("select", { conversation: cid });
      }
    },
    toggle(key, open) {
      if (open) state.open.add(key);
      else state.open.delete(key);
    },
    feedback(cid, promptId, verdict) {
      st.markPrompt(state, cid, promptId, verdict);
      redraw();
      socket.timeout(10000).emit("feedback", { conversation: cid, prompt: promptId, verdict }, (err, result) => {
        if (!err && result && result.ok) return;
        const c = state.conversations.get(cid);
        let p = c?.prompts.find((x) => x.id === promptId);
        if (!p && c) { // dismissed but not stored: put it back so nothing is silently lost
          p = { id: promptId, local: "" };
        }
        if (p) {
          p.local = "";
          p.error = err ? "Could not send your feedback (offline?). Try again." : `Not saved: ${result?.error}`;
        }
        redraw();
      });
    },
  };

  function setTheme(next) {
    theme = next === "light" || next === "dark" ? next : "auto";
    host.setAttribute("data-theme", theme);
    showScheme();
  }

  return {
    /** Show this conversation (the host's console switched to it). */
    select: (cid) => {
      options.conversation = cid;
      actions.select(cid);
    },
    /** Check what the agent is about to send; resolves to the warnings (also shown on the panel). */
    checkDraft(text, cid = state.selected) {
      const c = cid && state.conversations.get(cid);
      if (!c) return Promise.resolve([]);
      if (!text || !text.trim()) {
        c.draft = [];
        redraw();
        return Promise.resolve([]);
      }
      return new Promise((resolve, reject) => {
        socket.timeout(5000).emit("draft", { conversation: cid, text }, (err, result) => {
          if (err) return reject(new Error("draft check timed out"));
          if (!Array.isArray(result)) return reject(new Error(result?.error || "draft check refused"));
          c.draft = result;
          redraw();
          resolve(result);
        });
      });
    },
    /** A fresh token (before the old one expires); used on the next (re)connect. */
    setToken(next) {
      token = next;
      if (state.connection === "refused") socket.connect();
    },
    setTheme,
    on(name, fn) {
      if (!listeners.has(name)) listeners.set(name, new Set());
      listeners.get(name).add(fn);
      return () => listeners.get(name).delete(fn);
    },
    get state() { return state; },
    get connected() { return socket.connected; },
    destroy() {
      clearInterval(tick);
      darkQuery.removeEventListener("change", showScheme);
      socket.close();
      root.replaceChildren();
    },
  };
}
