// The /demo console: a stand-in chat console (customer chat on the left) with the
// real panel beside it. Scripted conversations from the labelled set play in real
// time through the server's /demo namespace; a person can type as either side.

import { io } from "socket.io-client";
import { h, sheet } from "./dom.js";
import { define } from "./element.js";
import css from "./demo.css";

define();
document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet(css)];

const token = document.body.dataset.token;
const chats = new Map(); // conversation -> {title, messages: [], paused, finished}
let current = null;
const socket = io(`${window.location.origin}/demo`, { transports: ["websocket"] });

// -- layout ---------------------------------------------------------------------------
const scriptSelect = h("select", { id: "script", "aria-label": "Script to play" });
const speedSelect = h("select", { id: "speed", "aria-label": "Playback speed" },
  [1, 2, 4, 8, 16].map((x) => h("option", { value: x, selected: x === 4 }, `${x}\u00d7`)));
const playButton = h("button", { type: "button", id: "play", onclick: play }, "Play script");
const pauseButton = h("button", { type: "button", id: "pause", onclick: togglePause, disabled: true }, "Pause");
const newButton = h("button", { type: "button", id: "new-chat", onclick: newChat }, "New chat");
const tabs = h("div", { class: "tabs", role: "tablist", "aria-label": "Conversations" });
const transcript = h("ol", { class: "transcript", id: "transcript", "aria-label": "Transcript" });
const roleCustomer = h("input", { type: "radio", name: "role", value: "customer", id: "as-customer", checked: true });
const roleAgent = h("input", { type: "radio", name: "role", value: "agent", id: "as-agent" });
const input = h("textarea", { id: "say", rows: 2, "aria-label": "Message", placeholder: "Type a message\u2026" });
const composer = h("form", { class: "composer", onsubmit: say },
  h("fieldset", {}, h("legend", {}, "Send as"),
    h("label", {}, roleCustomer, " Customer"), h("label", {}, roleAgent, " Agent")),
  input, h("button", { type: "submit", id: "send" }, "Send"));
const panel = h("customer-sense-panel", { token, theme: "auto" });
const statusLine = h("p", { class: "status", role: "status" });

document.body.append(
  h("header", { class: "top" },
    h("h1", {}, "Customer Sense \u2014 live demo"),
    h("div", { class: "controls" }, scriptSelect, speedSelect, playButton, pauseButton, newButton,
      h("a", { href: `/supervisor#token=${encodeURIComponent(document.body.dataset.supervisor || "")}`,
               target: "_blank", rel: "noopener", id: "supervisor-link" }, "Supervisor view"))),
  h("main", { class: "console" },
    h("section", { class: "chat", "aria-label": "Chat console" }, tabs, transcript, composer, statusLine),
    h("aside", { class: "side", "aria-label": "Customer Sense panel" }, panel)));

// -- drawing ----------------------------------------------------------------------------
function drawTabs() {
  tabs.replaceChildren(...[...chats.entries()].map(([cid, chat]) => h("button", {
    type: "button", role: "tab", "aria-selected": cid === current ? "true" : "false", "data-conversation": cid,
    class: chat.finished ? "finished" : "", onclick: () => show(cid),
  }, chat.title)));
}

function drawTranscript() {
  const chat = chats.get(current);
  transcript.replaceChildren(...(chat ? chat.messages : []).map((m) => h("li", { class: `msg ${m.role}` },
    h("span", { class: "role" }, m.role === "customer" ? chat.customer || "Customer" : "Agent"), m.text)));
  transcript.scrollTop = transcript.scrollHeight;
  pauseButton.disabled = !chat || chat.finished || chat.manual;
  pauseButton.textContent = chat && chat.paused ? "Resume" : "Pause";
}

function show(cid) {
  current = cid;
  drawTabs();
  drawTranscript();
  panel.api?.select(cid);
}

function remember(info) {
  const chat = chats.get(info.conversation) || { messages: [] };
  Object.assign(chat, { title: info.title, customer: info.customer, paused: !!info.paused,
                        finished: !!info.finished, manual: !!info.manual });
  chats.set(info.conversation, chat);
  return chat;
}

// -- server ------------------------------------------------------------------------------
socket.on("connect", () => {
  statusLine.textContent = "";
  socket.emit("scripts", null, (list) => {
    scriptSelect.replaceChildren(...list.map((s) => h("option", { value: s.name }, `${s.name} \u2014 ${s.title}`)));
  });
});
socket.on("disconnect", () => { statusLine.textContent = "Demo server offline \u2014 reconnecting\u2026"; });
socket.on("chats", (list) => {
  for (const info of list) remember(info).messages = info.messages;
  if (!current && !opening && list.length) current = list[0].conversation;
  drawTabs();
  drawTranscript();
});
socket.on("chat", (info) => {
  remember(info);
  drawTabs();
  if (info.conversation === current) drawTranscript();
});
socket.on("played", ({ conversation, role, text }) => {
  const chat = chats.get(conversation);
  if (!chat) return;
  chat.messages.push({ role, text });
  if (conversation === current) drawTranscript();
});

function play() {
  socket.emit("play", { script: scriptSelect.value, speed: Number(speedSelect.value) }, (res) => {
    if (!res.ok) { statusLine.textContent = res.error; return; }
    remember(res.chat);
    show(res.chat.conversation);
  });
}

function togglePause() {
  const chat = chats.get(current);
  if (!chat) return;
  socket.emit("pause", { conversation: current, paused: !chat.paused });
}

// A chat being opened: a message sent before the server has answered waits for it,
// instead of being dropped (a fast typist sends before "New chat" is acknowledged).
// Bounded: with the server gone, the answer never comes, and a send must not wait for ever.
// Meanwhile the transcript is empty, not the chat shown before (on a slow server the person
// would otherwise see their first message missing from the chat in front of them).
let opening = null;
function newChat() {
  current = null;
  drawTabs();
  drawTranscript();
  statusLine.textContent = "Opening a new chat\u2026";
  opening = new Promise((resolve) => socket.timeout(10000).emit("open", {}, (err, res) => {
    opening = null;
    resolve();
    if (err) { statusLine.textContent = "Could not open a chat (offline?). Try again."; return; }
    if (!res.ok) { statusLine.textContent = res.error; return; }
    statusLine.textContent = "";
    remember(res.chat);
    show(res.chat.conversation);
    input.focus();
  }));
}

speedSelect.addEventListener("change", () => {
  if (current) socket.emit("speed", { conversation: current, speed: Number(speedSelect.value) });
});

async function say(event) {
  event.preventDefault();
  const text = input.value.trim();
  if (!text) return;
  if (opening) await opening;  // the message belongs to the chat being opened, not the one shown before
  if (!current) { statusLine.textContent = "Open a chat first: New chat, or Play script."; return; }
  const role = roleAgent.checked ? "agent" : "customer";
  socket.emit("say", { conversation: current, role, text }, (res) => {
    statusLine.textContent = res.ok ? "" : res.error;
    if (res.ok) {
      input.value = "";
      panel.api?.checkDraft("", current);
    }
  });
}

// The agent's unsent text is checked as they type (the panel shows the warning).
let draftTimer = null;
input.addEventListener("input", () => {
  clearTimeout(draftTimer);
  if (!roleAgent.checked || !current) return;
  draftTimer = setTimeout(() => panel.api?.checkDraft(input.value, current).catch(() => {}), 300);
});
panel.addEventListener("customer-sense:select", (event) => {
  const cid = event.detail.conversation;
  if (cid !== current && chats.has(cid)) { current = cid; drawTabs(); drawTranscript(); }
});
