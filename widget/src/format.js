// How numbers, labels and times read on the panel.

export const TYPE_LABELS = {
  meek: "Meek",
  aggressive: "Aggressive",
  vip: "VIP",
  ripoff: "Possible rip-off",
  chronic: "Chronic complainer",
};

export const SEVERITY_RANK = { critical: 0, warn: 1, info: 2 };

export function percent(x) {
  return `${Math.round((x || 0) * 100)}%`;
}

export function signed(x) {
  const v = Number(x || 0);
  return (v >= 0 ? "+" : "\u2212") + Math.abs(v).toFixed(2);
}

export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const m = Math.floor(s / 60);
  return `${m}:${String(s % 60).padStart(2, "0")}`;
}

export function customerName(conv) {
  const c = conv.customer || {};
  return c.name || c.id || conv.conversation;
}

/** One line per evidence item of a prompt: what was said, seen or missing, and why it counts. */
export function evidenceLines(evidence) {
  return (evidence || []).map((item) => {
    const why = item.why || "";
    if (item.trend) {
      const t = item.trend;
      return { what: `mood ${signed(t.level)} over ${t.turns} turns${t.falling_fast ? ", falling fast" : ""}`, why };
    }
    if (item.absent) return { what: `not yet said: ${item.cue}`, why };
    if (item.timer) return { what: `${item.timer === "hold" ? "on hold" : "waiting"} ${clock(item.seconds)}`, why };
    if (item.customer_type) {
      const t = item.customer_type;
      return { what: `${TYPE_LABELS[t.label] || t.label} (${percent(t.confidence)})`, why };
    }
    if (item.profile) {
      const parts = Object.entries(item.profile).map(([k, v]) => `${k.replace(/_/g, " ")} ${v}`);
      return { what: parts.join(", ") || "profile", why };
    }
    if (item.outcome !== undefined) return { what: `ended ${item.outcome || "without an outcome"}`, why };
    const who = item.role || item.cue || "";
    const score = item.sentiment != null ? ` (${signed(item.sentiment)})` : "";
    if (item.quote) return { what: `\u201c${item.quote}\u201d`, who: who + score, why };
    return { what: (item.cue || item.mood || "") + score, why };
  });
}
