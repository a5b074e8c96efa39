// Vietnamese first, English on request; the choice is kept in localStorage.
import { STRINGS } from "./strings.js";

const KEY = "farmlive.lang";

function stored() {
  try {
    return localStorage.getItem(KEY);
  } catch {
    return null;
  }
}

let current = stored() === "en" ? "en" : "vi";

export function lang() {
  return current;
}

/** The translated string for `key`, with {name} placeholders filled from `vars`. */
export function t(key, vars) {
  const table = STRINGS[current] || STRINGS.vi;
  const text = table[key] ?? STRINGS.vi[key] ?? key;
  return vars ? text.replace(/\{(\w+)\}/g, (_, k) => (k in vars ? String(vars[k]) : "")) : text;
}

/** Fill elements marked data-i18n (text), data-i18n-placeholder, -aria-label and -title. */
export function applyI18n(root = document) {
  document.documentElement.lang = current;
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
  for (const el of root.querySelectorAll("[data-i18n-aria-label]")) {
    el.setAttribute("aria-label", t(el.dataset.i18nAriaLabel));
  }
  for (const el of root.querySelectorAll("[data-i18n-title]")) {
    el.title = t(el.dataset.i18nTitle);
  }
}

export function setLang(next) {
  current = next === "en" ? "en" : "vi";
  try {
    localStorage.setItem(KEY, current);
  } catch {
    // Private browsing: the choice lasts for this page only.
  }
  applyI18n();
  window.dispatchEvent(new CustomEvent("langchange", { detail: current }));
}

/** Wire the header's language button: it names the other language. */
export function initLangSwitch(button) {
  const label = () => {
    button.textContent = current === "vi" ? "English" : "Tiếng Việt";
    button.lang = current === "vi" ? "en" : "vi";
  };
  label();
  button.addEventListener("click", () => {
    setLang(current === "vi" ? "en" : "vi");
    label();
  });
}
