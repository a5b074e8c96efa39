// Numbers the way Vietnamese buyers read them: 250.000 ₫, 54,3 tấn, 5 kg.
import { lang } from "./i18n.js";

const ODD_SPACES = /[\u00a0\u202f]/g;
const cache = new Map();

function nf(key, options) {
  const id = `${lang()}|${key}`;
  if (!cache.has(id)) cache.set(id, new Intl.NumberFormat(locale(), options));
  return cache.get(id);
}

export function locale() {
  return lang() === "en" ? "en-US" : "vi-VN";
}

/** Whole đồng: 250000 -> "250.000 ₫" (plain space, like the server's Babel output). */
export function vnd(amount) {
  return nf("vnd", { style: "currency", currency: "VND", maximumFractionDigits: 0 })
    .format(amount)
    .replace(ODD_SPACES, " ");
}

/** A count: 1234 -> "1.234". */
export function count(n) {
  return nf("int", { maximumFractionDigits: 0 }).format(n);
}

/** Grams in the largest sensible unit, one decimal at most: "54,3 tấn", "1,5 kg", "500 g". */
export function weight(grams) {
  const units = lang() === "en" ? ["t", "kg", "g"] : ["tấn", "kg", "g"];
  const sign = grams < 0 ? "-" : "";
  const g = Math.abs(Math.round(grams));
  const one = nf("one", { maximumFractionDigits: 1 });
  const tenthKg = Math.floor((g + 50) / 100);
  let text;
  if (g < 1000) text = `${one.format(g)} ${units[2]}`;
  else if (tenthKg < 10000) text = `${one.format(tenthKg / 10)} ${units[1]}`;
  else text = `${one.format(Math.floor((g + 50000) / 100000) / 10)} ${units[0]}`;
  return sign + text.replace(ODD_SPACES, " ");
}

/** Clock time in Vietnam: "14:05". */
export function clock(iso, withSeconds = false) {
  const d = iso instanceof Date ? iso : new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const opts = { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: "Asia/Ho_Chi_Minh" };
  if (withSeconds) opts.second = "2-digit";
  return d.toLocaleTimeString(locale(), opts);
}

/** Date and time in Vietnam: "29/06/2025 14:05". */
export function dateTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  return d.toLocaleString(locale(), {
    day: "2-digit",
    month: "2-digit",
    year: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    hour12: false,
    timeZone: "Asia/Ho_Chi_Minh",
  });
}

/** For matching only: lower case, no Vietnamese diacritics, single spaces ("Chũ" -> "chu"). */
export function fold(text) {
  return String(text)
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/[đĐ]/g, "d")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, " ")
    .trim();
}
