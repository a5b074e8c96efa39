// A small hand-drawn SVG chart: cumulative kilograms sold over time.
import { clock, weight } from "./format.js";

const NS = "http://www.w3.org/2000/svg";

function s(tag, attrs = {}, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** points: [{at: Date, grams: number}] in time order (each an order's grams). */
export function soldChart(points, { title = "", empty = "", width = 640 } = {}) {
  // Drawn at the box's own width so labels keep their size on a phone.
  const W = Math.max(300, Math.min(1200, Math.round(width) || 640));
  const H = 200;
  const pad = { l: 64, r: 16, t: 16, b: 28 };
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img" });
  svg.append(s("title", {}, title));
  const iw = W - pad.l - pad.r;
  const ih = H - pad.t - pad.b;
  svg.append(s("line", { x1: pad.l, y1: H - pad.b, x2: W - pad.r, y2: H - pad.b, class: "axis" }));
  svg.append(s("line", { x1: pad.l, y1: pad.t, x2: pad.l, y2: H - pad.b, class: "axis" }));
  if (!points.length) {
    svg.append(s("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "chart-empty" }, empty));
    return svg;
  }
  let total = 0;
  const cum = points.map((p) => ({ at: p.at.getTime(), g: (total += p.grams) }));
  const t0 = cum[0].at;
  const t1 = Math.max(cum[cum.length - 1].at, t0 + 60_000);
  const x = (at) => pad.l + ((at - t0) / (t1 - t0)) * iw;
  const y = (g) => pad.t + ih - (g / total) * ih;
  let d = `M ${x(t0).toFixed(1)} ${y(0).toFixed(1)}`;
  for (const p of cum) d += ` H ${x(p.at).toFixed(1)} V ${y(p.g).toFixed(1)}`;
  d += ` H ${x(t1).toFixed(1)}`;
  svg.append(s("path", { d: `${d} V ${y(0).toFixed(1)} Z`, class: "chart-area" }));
  svg.append(s("path", { d, class: "chart-line" }));
  svg.append(s("text", { x: pad.l - 6, y: pad.t + 10, "text-anchor": "end", class: "chart-label" }, weight(total)));
  svg.append(s("text", { x: pad.l - 6, y: H - pad.b, "text-anchor": "end", class: "chart-label" }, "0"));
  svg.append(s("text", { x: pad.l, y: H - 8, class: "chart-label" }, clock(new Date(t0))));
  svg.append(s("text", { x: W - pad.r, y: H - 8, "text-anchor": "end", class: "chart-label" }, clock(new Date(t1))));
  return svg;
}
