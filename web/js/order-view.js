// An order as its buyer sees it: status, what was bought, and how to pay (VietQR / Stripe / COD).
import { h } from "./dom.js";
import { dateTime, vnd, weight } from "./format.js";
import { t } from "./i18n.js";

export const STATUS_KEYS = {
  pending_payment: "st_pending_payment",
  placed: "st_placed",
  confirmed: "st_confirmed",
  paid: "st_paid",
  cancelled: "st_cancelled",
  expired: "st_expired",
  refunded: "st_refunded",
  shipped: "st_shipped",
  delivered: "st_delivered",
  returned: "st_returned",
};

export function statusLabel(status) {
  return STATUS_KEYS[status] ? t(STATUS_KEYS[status]) : status;
}

// NAPAS bank identifiers (BIN) of the banks buyers meet most; others show the BIN.
const BANKS = {
  970436: "Vietcombank",
  970415: "VietinBank",
  970418: "BIDV",
  970405: "Agribank",
  970422: "MB Bank",
  970407: "Techcombank",
  970416: "ACB",
  970432: "VPBank",
  970423: "TPBank",
  970403: "Sacombank",
  970448: "OCB",
  970441: "VIB",
};

function safeImage(src) {
  // Only our own URLs and inline images: the QR must never point somewhere else.
  return typeof src === "string" && (/^data:image\//.test(src) || /^\/(?!\/)/.test(src)) ? src : null;
}

function qrSource(order, token, routes) {
  const p = order.payment || {};
  const inline = safeImage(p.qr_svg || p.qr_data_uri || p.qr_image || p.qr_url || p.qr);
  if (inline) return inline;
  const route = (routes || []).find((r) => r.startsWith("GET ") && /vietqr/i.test(r));
  if (!route || !token || order.status !== "pending_payment") return null;
  const path = route.slice(4).replace(/\{[^}]+\}/, encodeURIComponent(order.id));
  return `${path}?token=${encodeURIComponent(token)}`;
}

function row(label, value, cls = "") {
  return h("div", { class: `kv ${cls}` }, h("dt", { text: label }), h("dd", { text: value }));
}

/** The order summary and payment instructions, as DOM nodes. */
export function renderOrder(order, { token, routes, offerTitle } = {}) {
  const p = order.payment || {};
  const box = h("div", { class: "order-view" });
  box.append(
    h("p", { class: `order-status status-${order.status}`, text: statusLabel(order.status) }),
    h(
      "dl",
      { class: "kvs" },
      row(t("order_code"), order.id.slice(0, 8).toUpperCase()),
      offerTitle ? row(t("product"), offerTitle) : null,
      row(t("quantity"), `${order.quantity} × ${weight(order.grams / order.quantity)}`),
      row(t("total_weight"), weight(order.grams)),
      row(t("total"), vnd(order.total), "kv-total"),
      order.created_at ? row(t("ordered_at"), dateTime(order.created_at)) : null,
      order.buyer ? row(t("deliver_to"), addressLine(order.buyer)) : null,
    ),
  );
  if (p.method === "bank_transfer" && order.status === "pending_payment") {
    const pay = h("section", { class: "pay pay-bank" }, h("h3", { text: t("pay_bank_title") }));
    const qr = qrSource(order, token, routes);
    if (qr) pay.append(h("img", { class: "qr", src: qr, alt: t("qr_alt"), width: 240, height: 240 }));
    else pay.append(h("p", { class: "muted", text: t("qr_pending") }));
    pay.append(
      h(
        "dl",
        { class: "kvs" },
        p.bank_name || p.bank_bin ? row(t("bank"), p.bank_name || BANKS[p.bank_bin] || p.bank_bin) : null,
        p.account_number || p.bank_account ? row(t("account"), p.account_number || p.bank_account) : null,
        p.account_name ? row(t("account_name"), p.account_name) : null,
        row(t("amount"), vnd(p.amount ?? order.total)),
        p.reference ? row(t("transfer_note"), p.reference, "kv-ref") : null,
      ),
    );
    if (order.hold_expires_at && order.status === "pending_payment") {
      pay.append(h("p", { class: "muted", text: t("hold_until", { time: dateTime(order.hold_expires_at) }) }));
    }
    box.append(pay);
  } else if (p.method === "bank_transfer") {
    box.append(h("p", { class: "pay", text: t(order.status === "paid" ? "paid_thanks" : "pay_bank_closed") }));
  } else if (p.method === "stripe") {
    const url = p.url || p.checkout_url;
    const pay = h("section", { class: "pay" }, h("h3", { text: t("pay_card_title") }));
    if (url && /^https?:\/\//.test(url) && order.status === "pending_payment") {
      pay.append(h("a", { class: "btn btn-primary btn-big", href: url, rel: "noopener", text: t("pay_card_button") }));
    } else if (order.status === "pending_payment") {
      pay.append(h("p", { class: "muted", text: t("card_pending") }));
    }
    box.append(pay);
  } else {
    box.append(h("p", { class: "pay pay-cod", text: t("pay_cod_note", { amount: vnd(order.total) }) }));
  }
  return box;
}

export function addressLine(buyer) {
  const a = buyer.address || {};
  return [buyer.name, buyer.phone, a.street, a.ward, a.province].filter(Boolean).join(", ");
}
