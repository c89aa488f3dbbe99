// The script-tag embed:
//   <script src="https://assist.example/widget/customer-sense.js"
//           data-token="..." data-conversation="c-1" data-target="#side"></script>
// mounts a panel (in a Shadow DOM) into data-target, or right after the script tag.
// The host talks to it through window.CustomerSense (see docs/embedding.md).

import { define } from "./element.js";

define();

const script = document.currentScript;
const panels = [];

function mount(target, options = {}) {
  const el = document.createElement("customer-sense-panel");
  for (const [key, value] of Object.entries(options)) if (value != null) el.setAttribute(key, String(value));
  target.append(el);
  panels.push(el);
  return el.api;
}

const api = {
  mount,
  /** The first panel on the page (the one the script tag made). */
  get panel() { return panels[0]?.api; },
  select: (cid) => api.panel?.select(cid),
  checkDraft: (text, cid) => api.panel ? api.panel.checkDraft(text, cid) : Promise.resolve([]),
  setToken: (token) => panels.forEach((p) => p.api?.setToken(token)),
};
window.CustomerSense = api;

if (script && script.dataset.token) {
  const options = {
    server: script.dataset.server || new URL(script.src, window.location.href).origin,
    token: script.dataset.token,
    conversation: script.dataset.conversation,
    theme: script.dataset.theme || "auto",
    "ended-keep": script.dataset.endedKeep,
  };
  const start = () => {
    const target = script.dataset.target ? document.querySelector(script.dataset.target) : null;
    if (target) mount(target, options);
    else {
      const holder = document.createElement("div");
      script.after(holder);
      mount(holder, options);
    }
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
}
