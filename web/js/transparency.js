// The public transparency pages: /minh-bach (all sessions) and /minh-bach/{sid} (one session).
// Every figure is the fold of the session's public ledger (its own orders only); lot stock,
// shared between sessions, is shown apart. The headline is the confirmed tonnage. No buyer data.
import { api, clientConfig, pathId } from "./api.js";
import { $, fill, h, say } from "./dom.js";
import { clock, count, dateTime, vnd, weight } from "./format.js";
import { applyI18n, initLangSwitch, t } from "./i18n.js";
import { LiveChannel } from "./live.js";

const sid = pathId();
const state = { stats: null, session: null, streamer: null, coops: new Map(), lots: new Map(), provinces: new Map() };
const NS = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** Kg over time: taken as an area, confirmed as a line; steps, as totals hold between entries. */
function timelineChart(points, width) {
  const W = Math.max(300, Math.min(1200, Math.round(width) || 640));
  const H = 200;
  const pad = { l: 64, r: 16, t: 16, b: 28 };
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img" });
  root.append(svg("title", {}, t("tr_over_time")));
  root.append(svg("line", { x1: pad.l, y1: H - pad.b, x2: W - pad.r, y2: H - pad.b, class: "axis" }));
  root.append(svg("line", { x1: pad.l, y1: pad.t, x2: pad.l, y2: H - pad.b, class: "axis" }));
  if (!points.length) {
    root.append(svg("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "chart-empty" }, t("no_sales_yet")));
    return root;
  }
  const at = points.map((p) => new Date(p.ts).getTime());
  const t0 = at[0];
  const t1 = Math.max(at[at.length - 1], t0 + 60_000);
  const top = Math.max(1, ...points.map((p) => p.sold_grams));
  const x = (v) => pad.l + ((v - t0) / (t1 - t0)) * (W - pad.l - pad.r);
  const y = (g) => pad.t + (H - pad.t - pad.b) * (1 - g / top);
  const path = (key) => {
    let d = `M ${x(t0).toFixed(1)} ${y(0).toFixed(1)}`;
    points.forEach((p, i) => (d += ` H ${x(at[i]).toFixed(1)} V ${y(p[key]).toFixed(1)}`));
    return `${d} H ${x(t1).toFixed(1)}`;
  };
  root.append(svg("path", { d: `${path("sold_grams")} V ${y(0).toFixed(1)} Z`, class: "chart-area" }));
  root.append(svg("path", { d: path("confirmed_grams"), class: "chart-line" }));
  root.append(svg("text", { x: pad.l - 6, y: pad.t + 10, "text-anchor": "end", class: "chart-label" }, weight(top)));
  root.append(svg("text", { x: pad.l - 6, y: H - pad.b, "text-anchor": "end", class: "chart-label" }, "0"));
  root.append(svg("text", { x: pad.l, y: H - 8, class: "chart-label" }, clock(new Date(t0))));
  root.append(svg("text", { x: W - pad.r, y: H - 8, "text-anchor": "end", class: "chart-label" }, clock(new Date(t1))));
  return root;
}

const coopName = (id) => (state.coops.get(id) || {}).name || `#${id}`;
const cell = (label, text, num = true) => h("td", { dataset: { label }, class: num ? "num" : "", text });
const emptyRow = (cols) => h("tr", {}, h("td", { colSpan: cols, class: "muted", text: t("no_sales_yet") }));

function salesRows(rows, first) {
  return rows.length
    ? rows.map((r) =>
        h(
          "tr",
          {},
          first(r),
          cell(t("orders"), count(r.orders_count)),
          cell(t("tr_confirmed"), weight(r.confirmed_grams)),
          cell(t("tr_taken"), weight(r.sold_grams)),
        ),
      )
    : [emptyRow(4)];
}

function renderHeader() {
  const s = state.session;
  if (!s) return;
  $("#t-title").textContent = s.title;
  document.title = `${t("transparency")} — ${s.title}`;
  const chip = $("#t-status");
  chip.textContent = t(`session_${s.status}`);
  chip.className = `chip chip-${s.status}`;
  const from = s.started_at || s.scheduled_at;
  $("#t-when").textContent = from ? `${dateTime(from)}${s.ended_at ? ` – ${dateTime(s.ended_at)}` : ""}` : "";
  const p = state.streamer;
  $("#t-host").textContent = p ? [p.full_name, [p.position, p.organisation].filter(Boolean).join(", ")].filter(Boolean).join(" — ") : t("tr_host_unknown");
  const coops = [...new Set(s.lots.map((l) => coopName(l.cooperative_id)))];
  $("#t-coop-names").textContent = coops.join(", ") || "–";
}

function renderDetail() {
  const s = state.stats;
  if (!s) return;
  renderHeader();
  $("#t-confirmed").textContent = weight(s.confirmed_grams);
  $("#t-sold").textContent = weight(s.sold_grams);
  $("#t-unconfirmed").textContent = weight(s.unconfirmed_grams);
  $("#t-held").textContent = weight(s.held_grams);
  $("#t-orders").textContent = count(s.orders_count);
  $("#t-cancelled").textContent = count(s.cancelled_count ?? 0);
  $("#t-revenue").textContent = vnd(s.revenue);
  const bar = $("#t-bar");
  bar.max = Math.max(s.sold_grams, 1);
  bar.value = s.confirmed_grams;
  const box = $("#t-chart");
  fill(box, timelineChart(s.timeline, box.clientWidth));
  fill(
    $("#t-coops"),
    s.cooperatives.length
      ? s.cooperatives.map((c) =>
          h(
            "tr",
            {},
            cell(t("cooperative"), coopName(c.cooperative_id), false),
            cell(t("orders"), count(c.orders_count)),
            cell(t("tr_confirmed"), weight(c.confirmed_grams)),
            cell(t("tr_taken"), weight(c.sold_grams)),
            cell(t("revenue"), vnd(c.revenue)),
          ),
        )
      : emptyRow(5),
  );
  for (const l of s.lots) state.lots.set(l.id, l);
  fill(
    $("#t-bylot"),
    ...salesRows(s.by_lot, (r) => {
      const lot = state.lots.get(r.lot_id);
      return h("td", { dataset: { label: t("lot") } }, h("span", { text: lot ? lot.product : `#${r.lot_id}` }), h("br"), h("span", { class: "muted", text: coopName(r.cooperative_id ?? (lot || {}).cooperative_id) }));
    }),
  );
  fill(
    $("#t-provinces"),
    ...salesRows(s.provinces, (r) => cell(t("tr_province"), state.provinces.get(String(r.province_code)) || t("tr_province_unknown"), false)),
  );
  fill(
    $("#t-lots"),
    s.lots.map((l) =>
      h(
        "tr",
        {},
        h("td", { dataset: { label: t("lot") } }, h("span", { text: l.product }), h("br"), h("span", { class: "muted", text: coopName(l.cooperative_id) })),
        cell(t("stock"), weight(l.stock_grams)),
        cell(t("tr_sold_all"), weight(l.sold_grams)),
        cell(t("held"), weight(l.held_grams)),
        cell(t("remaining"), weight(l.available_grams)),
      ),
    ),
  );
  const head = s.ledger;
  $("#t-head").textContent = head.head_hash;
  $("#t-count").textContent = t("tr_entries", { n: count(head.count) });
  $("#t-sealed").textContent = head.sealed_at
    ? t("tr_sealed_at", { time: dateTime(head.sealed_at), n: count(head.sealed_count), hash: head.sealed_hash })
    : t("tr_not_sealed");
  $("#t-updated").textContent = t("updated_at", { time: clock(new Date(), true) });
}

async function refreshDetail() {
  const [stats, session] = await Promise.all([api(`/api/sessions/${sid}/stats`), api(`/api/sessions/${sid}`)]);
  state.stats = stats;
  state.session = session;
  state.streamer = session.streamer || stats.streamer || null;
  renderDetail();
}

let soon = null;
function refreshSoon() {
  clearTimeout(soon);
  soon = setTimeout(() => refreshDetail().catch(() => {}), 250);
}

async function sha256Hex(text) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const canonical = (body) => JSON.stringify(Object.fromEntries(Object.keys(body).sort().map((k) => [k, body[k]])));

/** Recompute the chain and the totals from the public ledger, here in the browser. */
async function checkHere() {
  const out = $("#t-check-result");
  if (!globalThis.crypto || !crypto.subtle) {
    say(out, t("tr_check_unavailable"), "error");
    return;
  }
  say(out, t("loading"));
  let prev = "0".repeat(64);
  let seq = 0;
  const orders = new Map();
  for (;;) {
    const page = await api(`/api/sessions/${sid}/ledger?after=${seq}&limit=1000`);
    for (const e of page.entries) {
      const { prev_hash, hash, ...body } = e;
      if (e.seq !== seq + 1 || prev_hash !== prev || (await sha256Hex(`${prev}\n${canonical(body)}`)) !== hash) {
        say(out, t("tr_check_broken", { seq: seq + 1 }), "error");
        return;
      }
      prev = hash;
      seq = e.seq;
      const o = orders.get(e.order_code);
      if (e.event === "placed" && !o) orders.set(e.order_code, { grams: e.grams, state: "sold" });
      else if (o && ["confirmed", "paid", "delivered"].includes(e.event)) o.state = "confirmed";
      else if (o && ["cancelled", "expired", "refunded", "returned"].includes(e.event)) o.state = "out";
    }
    if (page.entries.length < 1000) {
      const kept = [...orders.values()].filter((o) => o.state !== "out");
      const sold = kept.reduce((n, o) => n + o.grams, 0);
      const confirmed = kept.filter((o) => o.state === "confirmed").reduce((n, o) => n + o.grams, 0);
      const totals = page.head.totals;
      const same = page.head.count === seq && page.head.head_hash === prev && totals.sold_grams === sold && totals.confirmed_grams === confirmed;
      say(out, t(same ? "tr_check_ok" : "tr_check_differs", { n: count(seq), confirmed: weight(confirmed), sold: weight(sold) }), same ? "ok" : "error");
      return;
    }
  }
}

async function detail() {
  $("#detail").hidden = false;
  $("#t-raw").href = `/api/sessions/${sid}/stats`;
  $("#t-watch").href = `/live/${sid}`;
  $("#t-csv").href = `/api/sessions/${sid}/ledger.csv`;
  $("#t-json").href = `/api/sessions/${sid}/ledger?limit=1000`;
  $("#t-pdf").href = `/api/sessions/${sid}/report.pdf`;
  $("#t-check").addEventListener("click", () => checkHere().catch(() => say($("#t-check-result"), t("err_load"), "error")));
  const provinces = await api("/api/geo/provinces").catch(() => []);
  for (const p of provinces) state.provinces.set(String(p.code), p.name);
  try {
    await refreshDetail();
  } catch (err) {
    say($("#page-error"), err.status === 404 ? t("session_not_found") : t("err_load"), "error");
    return;
  }
  const config = await clientConfig();
  new LiveChannel({
    sid,
    useWs: Boolean(config.features.live_ws),
    onEvent: (ev) => {
      if (ev.type === "stock" || ev.type === "snapshot" || ev.type === "status") refreshSoon();
    },
    poll: refreshDetail,
    pollMs: 4000,
  }).start();
  // The WebSocket carries stock moves; confirmations and cancellations come by polling.
  if (config.features.live_ws) setInterval(() => refreshDetail().catch(() => {}), 10_000);
}

async function list() {
  $("#list").hidden = false;
  // The server adds up orders (each once, in the session that sold it), not session headlines.
  const all = await api("/api/ledger/totals");
  $("#l-total").textContent = weight(all.totals.confirmed_grams);
  $("#l-sold").textContent = weight(all.totals.sold_grams);
  $("#l-orders").textContent = count(all.totals.orders_count);
  fill(
    $("#l-sessions"),
    all.sessions.length
      ? all.sessions.map((s) =>
          h(
            "tr",
            {},
            h("td", { dataset: { label: t("session") } }, h("a", { href: `/minh-bach/${s.id}`, text: s.title })),
            h("td", { dataset: { label: t("status") } }, h("span", { class: `chip chip-${s.status}`, text: t(`session_${s.status}`) })),
            cell(t("tr_confirmed"), weight(s.totals.confirmed_grams)),
            cell(t("tr_taken"), weight(s.totals.sold_grams)),
            cell(t("orders"), count(s.totals.orders_count)),
          ),
        )
      : h("tr", {}, h("td", { colSpan: 5, class: "muted", text: t("no_sessions") })),
  );
}

async function main() {
  applyI18n();
  initLangSwitch($("#lang-switch"));
  const coops = await api("/api/cooperatives").catch(() => []);
  for (const c of coops) state.coops.set(c.id, c);
  if (sid) await detail();
  else await list().catch(() => say($("#page-error"), t("err_load"), "error"));
  window.addEventListener("langchange", () => (sid ? renderDetail() : list()));
  document.body.dataset.ready = "1";
}

main();
