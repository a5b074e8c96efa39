// The public transparency pages: /minh-bach (all sessions) and /minh-bach/{sid} (one session).
// Public numbers only: tonnage per cooperative and lot, order counts; no buyer data.
import { api, clientConfig, pathId } from "./api.js";
import { $, fill, h, say } from "./dom.js";
import { clock, count, vnd, weight } from "./format.js";
import { applyI18n, initLangSwitch, t } from "./i18n.js";
import { LiveChannel } from "./live.js";

const sid = pathId();
const state = { stats: null, session: null, coops: new Map(), sessions: [] };

function bar(value, max) {
  return h("progress", { class: "bar bar-small", max: Math.max(max, 1), value });
}

function renderDetail() {
  const s = state.stats;
  if (!s) return;
  $("#t-sold").textContent = weight(s.sold_grams);
  $("#t-held").textContent = weight(s.held_grams);
  $("#t-left").textContent = weight(s.available_grams);
  $("#t-orders").textContent = count(s.orders_count);
  $("#t-cancelled").textContent = count(s.cancelled_count ?? 0);
  $("#t-revenue").textContent = vnd(s.revenue);
  const total = s.sold_grams + s.held_grams + s.available_grams;
  const big = $("#t-bar");
  big.max = Math.max(total, 1);
  big.value = s.sold_grams;
  fill(
    $("#t-coops"),
    s.cooperatives.length
      ? s.cooperatives.map((c) =>
          h(
            "tr",
            {},
            h("td", { dataset: { label: t("cooperative") }, text: (state.coops.get(c.cooperative_id) || {}).name || `#${c.cooperative_id}` }),
            h("td", { dataset: { label: t("orders") }, class: "num", text: count(c.orders_count) }),
            h("td", { dataset: { label: t("sold") }, class: "num", text: weight(c.sold_grams) }),
            h("td", { dataset: { label: t("revenue") }, class: "num", text: vnd(c.revenue) }),
          ),
        )
      : h("tr", {}, h("td", { colSpan: 4, class: "muted", text: t("no_sales_yet") })),
  );
  fill(
    $("#t-lots"),
    s.lots.map((l) =>
      h(
        "tr",
        {},
        h("td", { dataset: { label: t("lot") } }, h("span", { text: l.product }), h("br"), h("span", { class: "muted", text: (state.coops.get(l.cooperative_id) || {}).name || "" })),
        h("td", { dataset: { label: t("stock") }, class: "num", text: weight(l.stock_grams) }),
        h("td", { dataset: { label: t("sold") }, class: "num" }, h("div", {}, weight(l.sold_grams), bar(l.sold_grams, l.stock_grams))),
        h("td", { dataset: { label: t("held") }, class: "num", text: weight(l.held_grams) }),
        h("td", { dataset: { label: t("remaining") }, class: "num", text: weight(l.available_grams) }),
      ),
    ),
  );
  $("#t-updated").textContent = t("updated_at", { time: clock(new Date(), true) });
}

async function refreshDetail() {
  const [stats, session] = await Promise.all([api(`/api/sessions/${sid}/stats`), api(`/api/sessions/${sid}`)]);
  state.stats = stats;
  state.session = session;
  $("#t-title").textContent = session.title;
  document.title = `${t("transparency")} — ${session.title}`;
  const chip = $("#t-status");
  chip.textContent = t(`session_${session.status}`);
  chip.className = `chip chip-${session.status}`;
  renderDetail();
}

let soon = null;
function refreshSoon() {
  clearTimeout(soon);
  soon = setTimeout(() => refreshDetail().catch(() => {}), 250);
}

async function detail() {
  $("#detail").hidden = false;
  $("#t-raw").href = `/api/sessions/${sid}/stats`;
  $("#t-watch").href = `/live/${sid}`;
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
  // The WebSocket carries stock moves; cancellations and counts still come by polling.
  if (config.features.live_ws) setInterval(() => refreshDetail().catch(() => {}), 10_000);
}

async function list() {
  $("#list").hidden = false;
  const sessions = await api("/api/sessions");
  state.sessions = sessions;
  const rows = await Promise.all(
    sessions.slice(0, 30).map(async (s) => ({ s, stats: await api(`/api/sessions/${s.id}/stats`).catch(() => null) })),
  );
  const sum = rows.reduce((n, r) => n + (r.stats ? r.stats.sold_grams : 0), 0);
  $("#l-total").textContent = weight(sum);
  fill(
    $("#l-sessions"),
    rows.length
      ? rows.map(({ s, stats }) =>
          h(
            "tr",
            {},
            h("td", { dataset: { label: t("session") } }, h("a", { href: `/minh-bach/${s.id}`, text: s.title })),
            h("td", { dataset: { label: t("status") } }, h("span", { class: `chip chip-${s.status}`, text: t(`session_${s.status}`) })),
            h("td", { dataset: { label: t("sold") }, class: "num", text: stats ? weight(stats.sold_grams) : "–" }),
            h("td", { dataset: { label: t("orders") }, class: "num", text: stats ? count(stats.orders_count) : "–" }),
          ),
        )
      : h("tr", {}, h("td", { colSpan: 4, class: "muted", text: t("no_sessions") })),
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
