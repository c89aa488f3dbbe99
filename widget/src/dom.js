// Building DOM nodes without HTML strings: every text goes in as a text node, so
// customer and agent words can never become markup. And bringing a drawn tree up to
// date with a freshly built one (patch), so that nodes the agent is using survive a
// redraw.

const SVG_NS = "http://www.w3.org/2000/svg";

// Handlers given as on* attributes live on the node (`_on`), behind one listener per
// event type: patch() hands a kept node the fresh node's handlers in one assignment.
function dispatch(event) {
  event.currentTarget._on?.[event.type]?.(event);
}

function fill(el, attrs, children) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value == null || value === false) continue;
    if (key === "class") el.setAttribute("class", value);
    else if (key.startsWith("on") && typeof value === "function") {
      (el._on ||= {})[key.slice(2)] = value;
      el.addEventListener(key.slice(2), dispatch);
    }
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child == null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** An HTML element: h("button", {class: "x", onclick: fn}, "text", otherNode). */
export function h(tag, attrs, ...children) {
  return fill(document.createElement(tag), attrs, children);
}

/** An SVG element, same call shape as h(). */
export function s(tag, attrs, ...children) {
  return fill(document.createElementNS(SVG_NS, tag), attrs, children);
}

/** A stylesheet object for adoptedStyleSheets (allowed under a strict style-src CSP). */
export function sheet(cssText) {
  const css = new CSSStyleSheet();
  css.replaceSync(cssText);
  return css;
}

function sameKind(a, b) {
  return a.nodeType === b.nodeType && a.nodeName === b.nodeName && a.namespaceURI === b.namespaceURI;
}

function keyOf(node) {
  return node.nodeType === Node.ELEMENT_NODE ? node.getAttribute("data-key") : null;
}

/**
 * Make the drawn element `live` look like the freshly built `fresh` (same tag), touching
 * only what differs. Children with a `data-key` are matched by key, the others in order
 * by tag: a prompt card, its buttons and its open "Why?" stay the same nodes while new
 * records arrive, so a click, a text selection or the focus is not lost to a redraw.
 */
export function patch(live, fresh) {
  for (const { name } of [...live.attributes]) if (!fresh.hasAttribute(name)) live.removeAttribute(name);
  for (const { name, value } of fresh.attributes) if (live.getAttribute(name) !== value) live.setAttribute(name, value);
  for (const type of Object.keys(fresh._on || {})) live.addEventListener(type, dispatch); // once per type
  live._on = fresh._on;
  // A field's text is a property, not an attribute: the view sets it from the state,
  // which the field's input handler keeps in step, so they differ only when the state
  // changed it (a sent whisper clears the box).
  if ((live.tagName === "INPUT" || live.tagName === "TEXTAREA") && live.value !== fresh.value) live.value = fresh.value;

  const keyed = new Map();
  const loose = [];
  for (const node of live.childNodes) {
    const key = keyOf(node);
    if (key) keyed.set(key, node);
    else loose.push(node);
  }
  let next = 0; // the next unkeyed drawn child that may still be reused
  const wanted = [...fresh.childNodes];
  wanted.forEach((node, i) => {
    const key = keyOf(node);
    let kept = null;
    if (key) {
      kept = keyed.get(key);
      keyed.delete(key);
    } else {
      while (next < loose.length && !sameKind(loose[next], node)) next += 1;
      kept = loose[next++];
    }
    if (kept && sameKind(kept, node)) {
      if (kept.nodeType === Node.ELEMENT_NODE) patch(kept, node);
      else if (kept.nodeValue !== node.nodeValue) kept.nodeValue = node.nodeValue;
    } else {
      kept = node;
    }
    if (live.childNodes[i] !== kept) live.insertBefore(kept, live.childNodes[i] || null);
  });
  while (live.childNodes.length > wanted.length) live.lastChild.remove();
}
