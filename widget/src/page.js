// The /panel page, for consoles that embed the panel in an iframe:
//   <iframe src="https://assist.example/panel#token=...&conversation=c-1"></iframe>
// The token rides in the fragment, so it never reaches a server log. The parent page
// drives it with postMessage: {source: "customer-sense", type: "select", conversation}
// and {source: "customer-sense", type: "draft", text, conversation?, requestId};
// the panel answers {source: "customer-sense", type: "draft-result", requestId, warnings}
// and tells the parent about prompts ({type: "prompt", record}) and its status.

import { define } from "./element.js";

define();

const params = new URLSearchParams(window.location.hash.slice(1));
const el = document.createElement("customer-sense-panel");
el.setAttribute("token", params.get("token") || "");
if (params.get("conversation")) el.setAttribute("conversation", params.get("conversation"));
el.setAttribute("theme", params.get("theme") || "auto");
document.body.append(el);
history.replaceState(null, "", window.location.pathname); // the token leaves the address bar

const panel = el.api;
const parentWindow = window.parent !== window ? window.parent : null;
const tell = (message) => parentWindow?.postMessage({ source: "customer-sense", ...message }, "*");

panel.on("prompt", (record) => tell({ type: "prompt", record }));
panel.on("status", (status) => tell({ type: "status", ...status }));
panel.on("select", (detail) => tell({ type: "selected", ...detail }));

window.addEventListener("message", async (event) => {
  if (!parentWindow || event.source !== parentWindow) return;
  const data = event.data;
  if (!data || data.source !== "customer-sense") return;
  if (data.type === "select" && typeof data.conversation === "string") panel.select(data.conversation);
  else if (data.type === "token" && typeof data.token === "string") panel.setToken(data.token);
  else if (data.type === "theme") panel.setTheme(data.theme);
  else if (data.type === "draft" && typeof data.text === "string") {
    try {
      const warnings = await panel.checkDraft(data.text, data.conversation);
      tell({ type: "draft-result", requestId: data.requestId, warnings });
    } catch (err) {
      tell({ type: "draft-result", requestId: data.requestId, warnings: [], error: String(err.message || err) });
    }
  }
});
tell({ type: "ready" });
