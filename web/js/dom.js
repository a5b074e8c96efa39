// Tiny DOM helpers. Text always goes in as text nodes / textContent, never as HTML.

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

/**
 * h("li", {class: "x", dataset: {id: 1}, on: {click}, attrs: {href}}, "text", child)
 * Strings become text nodes; there is deliberately no way to pass HTML.
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "on") for (const [ev, fn] of Object.entries(value)) el.addEventListener(ev, fn);
    else if (key === "attrs") for (const [a, v] of Object.entries(value)) el.setAttribute(a, v);
    else el[key] = value;
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replace an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/**
 * Put a translated sentence with {slots} into `el`, slots filled with nodes or text:
 * template(el, "{sold} đã bán · còn {left}", {sold: strongEl, left: strongEl}).
 */
export function template(el, text, slots) {
  const parts = text.split(/(\{\w+\})/);
  return fill(
    el,
    parts.map((p) => {
      const m = /^\{(\w+)\}$/.exec(p);
      return m && m[1] in slots ? slots[m[1]] : p;
    }),
  );
}

export function show(el, visible = true) {
  el.hidden = !visible;
}

/** Announce a short message in an aria-live region. */
export function say(el, text, kind = "") {
  el.textContent = text;
  el.dataset.kind = kind;
  el.hidden = !text;
}
