// <customer-sense-panel token="..." server="..." conversation="..." theme="auto">:
// the panel in its own Shadow DOM, so the host page's CSS cannot break it.

import { mountPanel } from "./panel.js";

export class CustomerSensePanel extends HTMLElement {
  connectedCallback() {
    if (this.api) return;
    const root = this.shadowRoot || this.attachShadow({ mode: "open" });
    this.api = mountPanel(root, {
      server: this.getAttribute("server") || undefined,
      token: this.getAttribute("token") || "",
      conversation: this.getAttribute("conversation") || undefined,
      theme: this.getAttribute("theme") || "auto",
      endedKeep: this.hasAttribute("ended-keep") ? Number(this.getAttribute("ended-keep")) : undefined,
    });
    this.dispatchEvent(new CustomEvent("customer-sense:ready", { detail: this.api, bubbles: true }));
  }

  disconnectedCallback() {
    this.api?.destroy();
    this.api = undefined;
  }
}

export function define() {
  if (!customElements.get("customer-sense-panel")) customElements.define("customer-sense-panel", CustomerSensePanel);
}
