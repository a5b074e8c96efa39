// The cooperative dashboard /coop: lots, sessions, kg sold over time, orders to confirm, CSV.
import { api, clientConfig, getToken } from "./api.js";
import { $, fill, h, say } from "./dom.js";
import { count, dateTime, vnd, weight } from "./format.js";
import { applyI18n, initLangSwitch, t } from "./i18n.js";
import { soldChart } from "./chart.js";
import { statusLabel } from "./order-view.js";
import { initLogout, signedIn } from "./staff.js";
import { initShipping, updateShipping } from "./shipping.js";

const SOLD = new Set(["placed", "confirmed", "paid"]);
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
        h("td", { dataset: { label: t("product") }, text: `${l.product}${l.grade ? ` (${l.grade})` : ""}` }),
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
  const rows = [...state.orders].reverse().filter((o) => !onlyTodo || actionsFor(o).some(([a]) => a === "confirm"));
  fill(
    $("#orders"),
    rows.length
      ? rows.map((o) =>
          h(
            "tr",
            { dataset: { id: o.id } },
            h("td", { dataset: { label: t("time") }, text: dateTime(o.created_at) }),
            h(
              "td",
              { dataset: { label: t("buyer") } },
              h("strong", { text: o.buyer.name }),
              h("br"),
              h("a", { href: `tel:${o.buyer.phone}`, text: o.buyer.phone }),
              h("br"),
              h("span", { class: "muted", text: [o.buyer.address.street, o.buyer.address.ward, o.buyer.address.province].filter(Boolean).join(", ") }),
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
      : h("tr", {}, h("td", { colSpan: 7, class: "muted", text: t("no_orders_yet") })),
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
    renderOrders();
    updateShipping(state.cid, orders);
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
