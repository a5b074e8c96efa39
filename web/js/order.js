// The buyer's order page /don-hang/{id}?token=...: status and how to pay; refreshes while pending.
import { api, clientConfig } from "./api.js";
import { $, fill, say } from "./dom.js";
import { applyI18n, initLangSwitch, t } from "./i18n.js";
import { renderOrder } from "./order-view.js";

const id = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() || "");
const token = new URLSearchParams(location.search).get("token") || "";
let order = null;
let config = { routes: [] };
let offerTitle = "";

function render() {
  if (!order) return;
  fill($("#order"), renderOrder(order, { token, routes: config.routes, offerTitle }));
  $("#back").href = `/live/${order.session_id}`;
}

async function load() {
  order = await api(`/api/orders/${encodeURIComponent(id)}?token=${encodeURIComponent(token)}`);
  if (!offerTitle) {
    const session = await api(`/api/sessions/${order.session_id}`).catch(() => null);
    const offer = session && session.offers.find((o) => o.id === order.offer_id);
    offerTitle = offer ? offer.title : "";
  }
  render();
}

async function main() {
  applyI18n();
  initLangSwitch($("#lang-switch"));
  config = await clientConfig();
  try {
    await load();
  } catch (err) {
    say($("#page-error"), err.status === 404 || err.status === 422 ? t("order_not_found") : t("err_load"), "error");
    return;
  }
  // Wait for the transfer or card payment to land, then stop asking.
  const timer = setInterval(async () => {
    if (order.status !== "pending_payment") return clearInterval(timer);
    await load().catch(() => {});
  }, 5000);
  window.addEventListener("langchange", render);
  document.body.dataset.ready = "1";
}

main();
