// The cooperative dashboard /coop: lots, sessions, kg sold over time, orders to confirm, CSV.
import { api, clientConfig, getToken } from "./api.js";
import { $, fill, h, say } from "./dom.js";
import { count, dateTime, vnd, weight } from "./format.js";
import { applyI18n, initLangSwitch, t } from "./i18n.js";
import { soldChart } from "./chart.js";
import { statusLabel } from "./order-view.js";
import { initLogout, signedIn } from "./staff.js";
import "./strings-staff.js";
import { uploadPhoto } from "./photos.js";
import { initShipping, updateShipping } from "./shipping.js";

// Taken and not cancelled, expired, refunded or returned: the ledger's "sold" (docs/transparency.md).
const SOLD = new Set(["pending_payment", "placed", "confirmed", "paid", "shipped", "delivered"]);
const state = { cid: null, orders: [], lots: [], sessions: [], coops: [] };
let timer = null;

async function pickCooperative(user) {
  if (user.cooperative_id) return user.cooperative_id;
  // Admins (and staff without a cooperative) choose one.
  state.coops = await api("/api/cooperatives");
  const select = $("#coop-pick");
  fill(select, state.coops.map((c) => h("option", { value: String(c.id), text: c.name })));
  $("#coop-picker").hidden = state.coops.length < 2;
  select.addEventListener("change", () => {
    state.cid = Number(select.value);
    load();
  });
  return state.coops.length ? state.coops[0].id : null;
}

function renderLots() {
  fill(
    $("#lots"),
    state.lots.map((l) =>
      h(
        "tr",
        {},
        h(
          "td",
          { dataset: { label: t("product") } },
          l.photos && l.photos.length ? h("img", { class: "thumb", attrs: { src: l.photos[0].urls[Object.keys(l.photos[0].urls)[0]], alt: "" } }) : null,
          h("span", { text: `${l.product}${l.grade ? ` (${l.grade})` : ""}${l.vietgap ? " · VietGAP" : ""}` }),
        ),
        h("td", { dataset: { label: t("stock") }, class: "num", text: weight(l.stock_grams) }),
        h("td", { dataset: { label: t("sold") }, class: "num", text: weight(l.sold_grams) }),
        h("td", { dataset: { label: t("remaining") }, class: "num", text: weight(l.stock_grams - l.sold_grams) }),
      ),
    ),
  );
}

function renderSessions() {
  fill(
    $("#sessions"),
    state.sessions.length
      ? state.sessions.map((s) =>
          h(
            "li",
            {},
            h("a", { href: `/minh-bach/${s.id}`, text: s.title }),
            h("span", { class: `chip chip-${s.status}`, text: t(`session_${s.status}`) }),
          ),
        )
      : h("li", { class: "muted", text: t("no_sessions") }),
  );
}

function renderChart() {
  const sold = state.orders
    .filter((o) => SOLD.has(o.status))
    .map((o) => ({ at: new Date(o.created_at), grams: o.grams }))
    .sort((a, b) => a.at - b.at);
  const box = $("#chart");
  fill(box, soldChart(sold, { title: t("chart_title"), empty: t("no_sales_yet"), width: box.clientWidth }));
  const total = sold.reduce((n, p) => n + p.grams, 0);
  $("#sold-total").textContent = weight(total);
  $("#orders-total").textContent = count(state.orders.length);
  $("#revenue-total").textContent = vnd(
    state.orders.filter((o) => SOLD.has(o.status)).reduce((n, o) => n + o.total, 0),
  );
}

function actionsFor(o) {
  const out = [];
  if (o.status === "placed") out.push(["confirm", "confirm_cod"]);
  if (o.status === "pending_payment" && o.payment_method === "bank_transfer") out.push(["confirm", "confirm_paid"]);
  if (["placed", "confirmed", "pending_payment"].includes(o.status)) out.push(["cancel", "cancel"]);
  return out;
}

async function act(order, action, button) {
  if (action === "cancel" && button.dataset.armed !== "1") {
    button.dataset.armed = "1";
    button.textContent = t("cancel_confirm");
    return;
  }
  button.disabled = true;
  try {
    await api(`/api/orders/${encodeURIComponent(order.id)}/${action}`, { method: "POST", auth: true });
    say($("#orders-note"), t(action === "cancel" ? "done_cancel" : "done_confirm"), "info");
    await load();
  } catch (err) {
    say($("#orders-note"), t("err_generic", { code: err.code }), "error");
    button.disabled = false;
  }
}

function renderOrders() {
  const onlyTodo = $("#only-todo").checked;
  const rows = [...(state.found || state.orders)].reverse().filter((o) => !onlyTodo || actionsFor(o).some(([a]) => a === "confirm"));
  fill(
    $("#orders"),
    rows.length
      ? rows.map((o) =>
          h(
            "tr",
            { dataset: { id: o.id, code: o.code } },
            h("td", { dataset: { label: t("code") } }, h("strong", { class: "order-code", text: o.code })),
            h("td", { dataset: { label: t("time") }, text: dateTime(o.created_at) }),
            h(
              "td",
              { dataset: { label: t("buyer") } },
              h("strong", { text: o.buyer.name }),
              h("br"),
              h("a", { href: `tel:${o.buyer.phone}`, text: o.buyer.phone }),
              h("br"),
              h("span", { class: "muted", text: [o.buyer.address.street, o.buyer.address.ward, o.buyer.address.province].filter(Boolean).join(", ") }),
              ...addressNotes(o.buyer.address),
            ),
            h("td", { dataset: { label: t("product") }, text: `${o.quantity} × ${o.offer_code} (${weight(o.grams)})` }),
            h("td", { dataset: { label: t("total") }, class: "num", text: vnd(o.total) }),
            h("td", { dataset: { label: t("payment") }, text: t(`pm_${o.payment_method}`) }),
            h("td", { dataset: { label: t("status") } }, h("span", { class: `chip status-${o.status}`, text: statusLabel(o.status) })),
            h(
              "td",
              { dataset: { label: t("actions") }, class: "row-actions" },
              actionsFor(o).map(([action, key]) => {
                const b = h("button", {
                  type: "button",
                  class: `btn btn-small ${action === "confirm" ? "btn-primary" : ""}`,
                  text: t(key),
                });
                b.addEventListener("click", () => act(o, action, b));
                return b;
              }),
            ),
          ),
        )
      : h("tr", {}, h("td", { colSpan: 8, class: "muted", text: t("no_orders_yet") })),
  );
}

async function exportCsv() {
  const button = $("#export");
  button.disabled = true;
  try {
    const response = await fetch(`/api/cooperatives/${state.cid}/orders.csv`, {
      headers: { Authorization: `Bearer ${getToken()}` },
    });
    if (!response.ok) throw new Error(String(response.status));
    const blob = await response.blob();
    const url = URL.createObjectURL(blob);
    const a = h("a", { href: url, download: `don-hang-htx-${state.cid}.csv` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  } catch {
    say($("#orders-note"), t("err_load"), "error");
  } finally {
    button.disabled = false;
  }
}

async function search() {
  const q = $("#order-search").value.trim();
  state.found = q
    ? await api(`/api/cooperatives/${state.cid}/orders?q=${encodeURIComponent(q)}`, { auth: true })
    : null;
  renderOrders();
}

async function renderAttach() {
  const open = (await api("/api/sessions")).filter((s) => s.status !== "ended");
  fill($("#attach-lot"), state.lots.map((l) => h("option", { value: String(l.id), text: l.product })));
  fill($("#attach-session"), open.map((s) => h("option", { value: String(s.id), text: s.title })));
}

function wireForms() {
  $("#lot-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const note = $("#lot-error");
    say(note, "");
    const body = {
      cooperative_id: state.cid,
      product: $("#l-product").value.trim(),
      grade: $("#l-grade").value.trim() || null,
      origin: $("#l-origin").value.trim() || null,
      harvest_date: $("#l-harvest").value || null,
      vietgap: $("#l-vietgap").checked,
      stock_grams: Math.round(Number($("#l-stock").value) * Number($("#l-unit").value)),
    };
    try {
      const lot = await api("/api/lots", { method: "POST", body, auth: true });
      const file = $("#l-photo").files[0];
      if (file) await uploadPhoto(`/api/lots/${lot.id}/photos`, file);
      ev.target.reset();
      await load();
    } catch (err) {
      say(note, t("err_generic", { code: err.code }), "error");
    }
  });
  $("#attach-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const sid = Number($("#attach-session").value);
    try {
      await api(`/api/sessions/${sid}/lots`, { method: "POST", body: { lot_id: Number($("#attach-lot").value) }, auth: true });
      say($("#attach-note"), t("saved"), "ok");
      await load();
    } catch (err) {
      say($("#attach-note"), t("err_generic", { code: err.code }), "error");
    }
  });
  let typing = null;
  $("#order-search").addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => search().catch(() => {}), 250);
  });
}

async function load() {
  clearTimeout(timer);
  if (!state.cid) return;
  try {
    const [coop, lots, sessions, orders] = await Promise.all([
      api(`/api/cooperatives/${state.cid}`),
      api(`/api/cooperatives/${state.cid}/lots`),
      api(`/api/cooperatives/${state.cid}/sessions`, { auth: true }),
      api(`/api/cooperatives/${state.cid}/orders`, { auth: true }),
    ]);
    $("#coop-name").textContent = coop.name;
    Object.assign(state, { lots, sessions, orders });
    renderLots();
    renderSessions();
    renderChart();
    if ($("#order-search").value.trim()) await search();
    else renderOrders();
    updateShipping(state.cid, orders);
    await renderAttach();
    $("#updated").textContent = t("updated_at", { time: dateTime(new Date()) });
    say($("#page-error"), "");
  } catch (err) {
    say($("#page-error"), err.status === 403 ? t("not_your_coop") : t("err_load"), "error");
  }
  timer = setTimeout(load, 10_000);
}

async function main() {
  applyI18n();
  initLangSwitch($("#lang-switch"));
  const user = await signedIn();
  initLogout($("#logout"));
  $("#who").textContent = user.display_name || user.email;
  await clientConfig();
  state.cid = await pickCooperative(user);
  $("#dashboard").hidden = false;
  if (!state.cid) {
    say($("#page-error"), t("no_coop"), "error");
    return;
  }
  $("#export").addEventListener("click", exportCsv);
  wireForms();
  $("#only-todo").addEventListener("change", renderOrders);
  $("#refresh").addEventListener("click", load);
  await initShipping($("#orders-title").closest("section"), load);
  let resized = null;
  window.addEventListener("resize", () => {
    clearTimeout(resized);
    resized = setTimeout(renderChart, 200);
  });
  window.addEventListener("langchange", () => {
    renderLots();
    renderSessions();
    renderChart();
    renderOrders();
  });
  await load();
  document.body.dataset.ready = "1";
}

main();

/** Beside the resolved ward: what the buyer typed, and a warning when no new ward is known. */
function addressNotes(a) {
  const notes = [];
  if (a.match === "unrecognised") notes.push(h("br"), h("span", { class: "field-error", text: t("ward_unrecognised") }));
  if (a.typed) notes.push(h("br"), h("span", { class: "muted typed-address", text: t("typed_as", { typed: a.typed }) }));
  return notes;
}
