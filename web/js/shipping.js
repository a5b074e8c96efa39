// Shipping on /coop: pick confirmed orders, make their waybills (GHN/GHTK), print the labels
// PDF, then mark parcels delivered or returned. The buyer phone's refusals show beside each
// order so staff call risky buyers before anything leaves. Built with textContent only.
import { api, getToken } from "./api.js";
import { $, fill, h, say } from "./dom.js";
import { vnd, weight } from "./format.js";
import { lang } from "./i18n.js";

const TEXT = {
  vi: {
    title: "Giao hàng",
    ready: "Đơn đã xác nhận, chờ gửi",
    on_way: "Đang giao",
    none_ready: "Chưa có đơn nào chờ gửi.",
    none_on_way: "Không có đơn đang giao.",
    carrier: "Hãng vận chuyển",
    make: "Tạo vận đơn & in nhãn",
    labels: "Tải nhãn (PDF)",
    delivered: "Đã giao",
    returned: "Bị hoàn",
    risk: "Đã từ chối {n} lần / {m} đơn trước",
    new_buyer: "Khách mới",
    queued: "Đang chờ hãng vận chuyển (thử lại tự động): {error}",
    failed: "Hãng từ chối: {error}",
    made: "Đã tạo {n} vận đơn.",
    pick_some: "Chọn ít nhất một đơn.",
    no_carrier: "Máy chủ chưa cấu hình hãng vận chuyển nào (GHN, GHTK).",
    error: "Không thực hiện được ({code}).",
  },
  en: {
    title: "Shipping",
    ready: "Confirmed orders waiting to ship",
    on_way: "On the way",
    none_ready: "No order is waiting to ship.",
    none_on_way: "Nothing on the way.",
    carrier: "Carrier",
    make: "Make waybills & print labels",
    labels: "Download labels (PDF)",
    delivered: "Delivered",
    returned: "Returned",
    risk: "Refused {n} times / {m} earlier orders",
    new_buyer: "New buyer",
    queued: "Waiting for the carrier (retried automatically): {error}",
    failed: "Carrier refused: {error}",
    made: "{n} waybills made.",
    pick_some: "Pick at least one order.",
    no_carrier: "No carrier (GHN, GHTK) is set up on this server.",
    error: "That did not work ({code}).",
  },
};

function tr(key, vars) {
  const text = (TEXT[lang()] || TEXT.vi)[key] ?? TEXT.vi[key];
  return vars ? text.replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? "")) : text;
}

const READY = new Set(["confirmed", "paid"]);
const ctx = { cid: null, orders: [], carriers: [], reload: null, root: null, labelsUrl: null, note: null };

// The card is redrawn on every dashboard refresh: the last note is kept and shown again.
function note(text, kind) {
  ctx.note = { text, kind };
  say($("#ship-note"), text, kind);
}

function riskChip(o) {
  const r = o.risk || { orders_before: 0, returned_before: 0 };
  if (r.returned_before > 0) {
    return h("span", { class: "chip risk-high", text: tr("risk", { n: r.returned_before, m: r.orders_before }) });
  }
  return r.orders_before ? null : h("span", { class: "chip chip-scheduled", text: tr("new_buyer") });
}

function orderLine(o, lead, trail, cls = "") {
  return h(
    "li",
    { class: `ship-row ${cls}`, dataset: { id: o.id } },
    lead,
    h(
      "span",
      { class: "ship-main" },
      h("strong", { text: `${o.code || ""} · ${o.buyer.name}` }),
      " ",
      riskChip(o),
      h("br"),
      h("span", { class: "muted", text: `${o.quantity} × ${o.offer_code} (${weight(o.grams)}) · ${vnd(o.total)}` }),
    ),
    trail,
  );
}

function readyList() {
  // Risky buyers first: they are the ones to call before anything leaves.
  const rows = ctx.orders
    .filter((o) => READY.has(o.status))
    .sort((a, b) => (b.risk?.returned_before || 0) - (a.risk?.returned_before || 0));
  if (!rows.length) return h("p", { class: "muted", text: tr("none_ready") });
  return h(
    "ul",
    { class: "list ship-list", id: "ship-ready" },
    rows.map((o) => orderLine(o, h("input", { type: "checkbox", class: "ship-pick", value: o.id, attrs: { "aria-label": o.code || o.id } }))),
  );
}

function onWayList() {
  const rows = ctx.orders.filter((o) => o.status === "shipped");
  if (!rows.length) return h("p", { class: "muted", text: tr("none_on_way") });
  return h(
    "ul",
    { class: "list ship-list", id: "ship-on-way" },
    rows.map((o) =>
      orderLine(
        o,
        null,
        h(
          "span",
          { class: "row-actions" },
          h("button", { type: "button", class: "btn btn-small btn-primary", text: tr("delivered"), on: { click: () => move(o, "delivered") } }),
          h("button", { type: "button", class: "btn btn-small", text: tr("returned"), on: { click: () => move(o, "returned") } }),
        ),
        "on-way",
      ),
    ),
  );
}

async function move(o, what) {
  try {
    await api(`/api/orders/${o.id}/${what}`, { method: "POST", auth: true });
    if (ctx.reload) await ctx.reload();
  } catch (err) {
    note(tr("error", { code: err.code }), "error");
  }
}

async function makeWaybills(button) {
  const ids = [...ctx.root.querySelectorAll(".ship-pick:checked")].map((el) => el.value);
  if (!ids.length) return note(tr("pick_some"), "error");
  button.disabled = true;
  try {
    const out = await api(`/api/cooperatives/${ctx.cid}/shipments`, {
      method: "POST",
      auth: true,
      body: { order_ids: ids, carrier: $("#ship-carrier").value },
    });
    const waiting = out.shipments.filter((s) => s.state !== "created");
    const made = out.shipments.length - waiting.length;
    const notes = [tr("made", { n: made })];
    for (const s of waiting) notes.push(tr(s.state === "failed" ? "failed" : "queued", { error: s.last_error || "" }));
    note(notes.join(" "), waiting.length ? "error" : "info");
    ctx.labelsUrl = made ? out.labels_url : null;
    if (ctx.reload) await ctx.reload();
  } catch (err) {
    note(tr("error", { code: err.code }), "error");
  } finally {
    button.disabled = false;
  }
}

async function downloadLabels() {
  const response = await fetch(ctx.labelsUrl, { headers: { Authorization: `Bearer ${getToken()}` } });
  if (!response.ok) return note(tr("error", { code: response.status }), "error");
  const url = URL.createObjectURL(await response.blob());
  const a = h("a", { href: url, download: "nhan-giao-hang.pdf" });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function render() {
  if (!ctx.root) return;
  const make = h("button", { type: "button", class: "btn btn-primary", id: "ship-make", text: tr("make") });
  make.addEventListener("click", () => makeWaybills(make));
  const select = h(
    "select",
    { id: "ship-carrier" },
    ctx.carriers.map((c) => h("option", { value: c, text: c.toUpperCase() })),
  );
  fill(
    ctx.root,
    h("h2", { text: tr("title") }),
    h("p", { class: "note", id: "ship-note", role: "status", hidden: true }),
    h("h3", { text: tr("ready") }),
    readyList(),
    ctx.carriers.length
      ? h("div", { class: "toolbar" }, h("label", { for: "ship-carrier", text: tr("carrier") }), select, make)
      : h("p", { class: "muted", text: tr("no_carrier") }),
    ctx.labelsUrl ? h("button", { type: "button", class: "btn", id: "ship-labels", text: tr("labels"), on: { click: downloadLabels } }) : null,
    h("h3", { text: tr("on_way") }),
    onWayList(),
  );
  if (ctx.note) say($("#ship-note"), ctx.note.text, ctx.note.kind);
}

/** Mount the shipping card after `anchor`; `reload` refreshes the dashboard's data. */
export async function initShipping(anchor, reload) {
  ctx.reload = reload;
  ctx.root = h("section", { class: "card shipping", id: "shipping", attrs: { "aria-label": tr("title") } });
  anchor.after(ctx.root);
  try {
    ctx.carriers = (await api("/api/carriers")).carriers;
  } catch {
    ctx.carriers = [];
  }
  window.addEventListener("langchange", render);
}

/** The dashboard loaded its orders (with `risk`): redraw. */
export function updateShipping(cid, orders) {
  ctx.cid = cid;
  ctx.orders = orders;
  render();
}
