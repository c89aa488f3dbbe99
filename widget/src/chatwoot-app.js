// The Chatwoot Dashboard App: register /integrations/chatwoot/app#key=APP_KEY as a
// Dashboard App in Chatwoot. Chatwoot tells the frame which conversation is open and
// who the agent is (postMessage, a JSON string {event: "appContext", data: {...}});
// the page trades the app key for that agent's panel token and shows the panel.

import { define } from "./element.js";

define();
const params = new URLSearchParams(window.location.hash.slice(1));
const key = params.get("key") || "";
const source = params.get("source") || "chatwoot";
history.replaceState(null, "", window.location.pathname);

const status = document.createElement("p");
status.setAttribute("role", "status");
status.className = "cw-status";
status.textContent = "Waiting for Chatwoot to say which conversation is open\u2026";
document.body.append(status);

let panel = null;
let agent = null;

async function tokenFor(agentId) {
  const res = await fetch("/integrations/chatwoot/token", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ key, agent: agentId }),
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error || `HTTP ${res.status}`);
  return body.token;
}

async function show(context) {
  const conversation = context?.conversation?.id;
  const current = context?.currentAgent?.id;
  if (conversation == null || current == null) return;
  const cid = `${source}-${conversation}`;
  if (panel && agent === current) {
    panel.api?.select(cid);
    return;
  }
  try {
    const token = await tokenFor(current);
    agent = current;
    panel?.remove();
    panel = document.createElement("customer-sense-panel");
    panel.setAttribute("token", token);
    panel.setAttribute("conversation", cid);
    document.body.append(panel);
    status.textContent = "";
  } catch (err) {
    status.textContent = `Customer Sense cannot show this conversation: ${err.message}`;
  }
}

window.addEventListener("message", (event) => {
  if (event.source !== window.parent || typeof event.data !== "string") return;
  let message;
  try { message = JSON.parse(event.data); } catch { return; }
  if (message && message.event === "appContext") show(message.data);
});
window.parent.postMessage("chatwoot-dashboard-app:fetch-info", "*");
