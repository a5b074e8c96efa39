// The order sheet: quantity, buyer, address pickers (34 provinces, their wards), payment.
// One Idempotency-Key per order body, kept until the server answers for sure, so tapping
// "Thử lại" after a dropped connection can never order twice.
import { ApiError, api, storeGet, storeSet, uuid } from "./api.js";
import { $, fill, h, say } from "./dom.js";
import { fold, vnd, weight } from "./format.js";
import { t } from "./i18n.js";
import { renderOrder } from "./order-view.js";

const BUYER_KEY = "farmlive.buyer";
const ORDERS_KEY = "farmlive.orders";

// API error code -> [message key, field to mark, offer a retry?]
const ERRORS = {
  sold_out: ["err_sold_out", "qty"],
  buyer_limit: ["err_buyer_limit", "qty"],
  session_not_live: ["err_session_not_live"],
  invalid_phone: ["err_invalid_phone", "phone"],
  invalid_province: ["err_invalid_province", "province"],
  gate_unavailable: ["err_busy", null, true],
  gate_rebuilding: ["err_busy", null, true],
  unavailable: ["err_busy", null, true],
  network: ["err_network", null, true],
  rate_limited: ["err_rate_limited", null, true],
  not_found: ["err_offer_gone", "offer"],
  idempotency_key_reused: ["err_changed", null, true],
};
const FIELD_OF = {
  "buyer.name": "name",
  "buyer.phone": "phone",
  "buyer.address.province": "province",
  "buyer.address.ward": "ward",
  "buyer.address.street": "street",
  quantity: "qty",
  offer_id: "offer",
  payment_method: "pay",
};

export function savedOrders() {
  return storeGet(ORDERS_KEY, []);
}

export function orderLink(id, token) {
  return `/don-hang/${encodeURIComponent(id)}?token=${encodeURIComponent(token)}`;
}

export function initOrderSheet({ sid, session, config, onOrdered }) {
  const dialog = $("#sheet");
  const form = $("#order-form");
  const result = $("#result");
  const f = {
    offer: $("#f-offer"),
    qty: $("#f-qty"),
    name: $("#f-name"),
    phone: $("#f-phone"),
    province: $("#f-province"),
    provinceQ: $("#f-province-q"),
    ward: $("#f-ward"),
    wardQ: $("#f-ward-q"),
    old: $("#f-old"),
    street: $("#f-street"),
    remember: $("#f-remember"),
  };
  const formError = $("#form-error");
  const submit = $("#submit");
  const pendingKey = `farmlive.pending.${sid}`;
  let provincesLoaded = null;
  let provinceList = [];
  let wardList = [];
  // The old address line whose conversion (or candidate) set the pickers: sent as
  // address.typed so staff see it beside the new ward.
  let oldLine = null;
  let busy = false;

  if (config.features && config.features.stripe) $("#pay-stripe").hidden = false;

  function offers() {
    return (session().offers || []).filter((o) => o.active !== false);
  }

  function offer() {
    return offers().find((o) => o.id === Number(f.offer.value));
  }

  function fillOffers(selected) {
    const list = offers();
    fill(
      f.offer,
      list.map((o) => h("option", { value: String(o.id), text: `${o.title} — ${vnd(o.price)}` })),
    );
    if (selected) f.offer.value = String(selected);
    updateTotal();
  }

  function updateTotal() {
    const o = offer();
    const q = Math.max(1, Math.min(Number(f.qty.value) || 1, o ? o.max_per_order : 1000));
    if (o) f.qty.max = String(o.max_per_order);
    $("#f-total").textContent = o ? vnd(o.price * q) : "";
    $("#f-weight").textContent = o ? `(${weight(o.pack_grams * q)})` : "";
  }

  /** Fill a picker with the entries whose folded name contains the folded query. */
  function showOptions(select, list, placeholder, query) {
    const keep = select.value;
    const wanted = fold(query || "");
    const shown = list.filter((x) => !wanted || fold(x.name).includes(wanted));
    fill(
      select,
      h("option", { value: "", text: t(placeholder) }),
      shown.map((x) => h("option", { value: String(x.code), text: x.name })),
    );
    if (shown.some((x) => String(x.code) === keep)) select.value = keep;
    else if (wanted && shown.length === 1) select.value = String(shown[0].code);
    return shown;
  }

  async function loadProvinces() {
    provincesLoaded ??= api("/api/geo/provinces").then((list) => {
      provinceList = list;
      showOptions(f.province, provinceList, "choose_province", f.provinceQ.value);
    });
    return provincesLoaded.catch((err) => {
      provincesLoaded = null;
      throw err;
    });
  }

  async function loadWards(code, selected) {
    f.ward.disabled = true;
    f.wardQ.disabled = true;
    wardList = [];
    fill(f.ward, h("option", { value: "", text: t("choose_ward") }));
    if (!code) return;
    const list = await api(`/api/geo/provinces/${encodeURIComponent(code)}/wards`);
    if (f.province.value !== String(code)) return; // changed again meanwhile
    wardList = list;
    f.wardQ.value = "";
    showOptions(f.ward, wardList, "choose_ward", "");
    f.ward.disabled = false;
    f.wardQ.disabled = false;
    if (selected) f.ward.value = String(selected);
  }

  /** Point both pickers at one ward (from a conversion or a picked candidate). */
  async function setWard(provinceCode, wardCode) {
    await loadProvinces();
    f.provinceQ.value = "";
    showOptions(f.province, provinceList, "choose_province", "");
    f.province.value = String(provinceCode);
    await loadWards(provinceCode, wardCode);
  }

  async function convertOld() {
    const line = f.old.value.trim();
    const out = $("#old-result");
    const box = $("#old-candidates");
    box.hidden = true;
    oldLine = null;
    if (!line) return;
    say(out, t("old_converting"));
    out.classList.remove("ok");
    let found;
    try {
      found = await api(`/api/geo/convert?address=${encodeURIComponent(line)}`);
    } catch {
      say(out, t("err_network_geo"), "error");
      return;
    }
    if (found.ward) {
      await setWard(found.province.code, found.ward.code);
      oldLine = line;
      say(out, t("old_converted", { ward: found.ward.name, province: found.province.name }));
      out.classList.add("ok");
    } else if (found.candidates.length) {
      say(out, "");
      showCandidates(line, found);
    } else {
      say(out, t("old_unknown"), "error");
      if (found.province) await setWard(found.province.code, null);
    }
  }

  function showCandidates(line, found) {
    const box = $("#old-candidates");
    fill(
      $("#old-candidate-list"),
      found.candidates.map((c) =>
        h(
          "label",
          { class: "choice" },
          h("input", {
            type: "radio",
            name: "old-candidate",
            value: String(c.code),
            on: {
              change: async () => {
                await setWard(found.province.code, c.code);
                oldLine = line;
                const out = $("#old-result");
                say(out, t("old_picked", { ward: c.name, province: found.province.name }));
                out.classList.add("ok");
              },
            },
          }),
          h("span", { text: c.name }),
        ),
      ),
    );
    box.hidden = false;
    box.querySelector("input").focus();
  }

  function clearErrors() {
    say(formError, "");
    for (const el of form.querySelectorAll(".field-error")) say(el, "");
    for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
    $("#retry").hidden = true;
  }

  function markField(field, message) {
    const input = f[field];
    const slot = $(`#e-${field}`);
    if (slot) say(slot, message, "error");
    if (input) {
      input.setAttribute("aria-invalid", "true");
      return input;
    }
    return null;
  }

  function collect() {
    const pay = form.querySelector("input[name=pay]:checked");
    return {
      offer_id: Number(f.offer.value),
      quantity: Number(f.qty.value),
      buyer: {
        name: f.name.value.trim(),
        phone: f.phone.value.trim(),
        address: {
          province: f.province.value,
          ward: f.ward.value,
          street: f.street.value.trim(),
          ...(oldLine ? { typed: oldLine } : {}),
        },
      },
      payment_method: pay ? pay.value : "cod",
    };
  }

  function checkLocally(body) {
    const missing = [];
    if (!body.offer_id) missing.push("offer");
    if (!Number.isInteger(body.quantity) || body.quantity < 1) missing.push("qty");
    if (!body.buyer.name) missing.push("name");
    if (!body.buyer.phone) missing.push("phone");
    if (!body.buyer.address.province) missing.push("province");
    if (!body.buyer.address.ward) missing.push("ward");
    if (!body.buyer.address.street) missing.push("street");
    let first = null;
    for (const field of missing) first ??= markField(field, t(`need_${field}`));
    if (first) {
      say(formError, t("err_fix_fields"), "error");
      first.focus();
      return false;
    }
    return true;
  }

  function showError(err) {
    const [key, field, retry] = ERRORS[err.code] || [];
    let focus = null;
    if (key) {
      if (field) focus = markField(field, t(key));
      say(formError, t(key), "error");
    } else if (err.code === "invalid_input" && err.fields.length) {
      for (const item of err.fields) {
        const name = FIELD_OF[item.field];
        const el = name ? markField(name, t(`bad_${name}`)) : null;
        focus ??= el;
      }
      say(formError, t("err_fix_fields"), "error");
    } else if (err.status >= 500 || err.retryable) {
      say(formError, t("err_busy"), "error");
    } else {
      say(formError, t("err_generic", { code: err.code }), "error");
    }
    $("#retry").hidden = !(retry || err.retryable);
    (focus || formError).focus?.();
  }

  async function place() {
    if (busy) return;
    clearErrors();
    const body = collect();
    if (!checkLocally(body)) return;
    const text = JSON.stringify(body);
    let pending = storeGet(pendingKey);
    if (!pending || pending.body !== text) {
      // A new order (or a changed one): a new key. The same body keeps its key.
      pending = { key: uuid(), body: text };
      storeSet(pendingKey, pending);
    }
    busy = true;
    submit.disabled = true;
    submit.textContent = t("placing");
    try {
      const order = await api(`/api/sessions/${sid}/orders`, {
        method: "POST",
        body,
        headers: { "Idempotency-Key": pending.key },
      });
      storeSet(pendingKey, null);
      if (f.remember.checked) {
        storeSet(BUYER_KEY, {
          name: body.buyer.name,
          phone: body.buyer.phone,
          province: body.buyer.address.province,
          ward: body.buyer.address.ward,
          street: body.buyer.address.street,
          pay: body.payment_method,
        });
      } else {
        storeSet(BUYER_KEY, null);
      }
      const mine = savedOrders().filter((o) => o.id !== order.id);
      mine.unshift({ id: order.id, token: order.token, sid, at: Date.now() });
      storeSet(ORDERS_KEY, mine.slice(0, 20));
      showResult(order);
      onOrdered(order);
    } catch (err) {
      if (err instanceof ApiError && err.code === "idempotency_key_reused") storeSet(pendingKey, null);
      showError(err instanceof ApiError ? err : new ApiError(0, "network", String(err)));
    } finally {
      busy = false;
      submit.disabled = false;
      submit.textContent = t("place_order");
    }
  }

  function showResult(order) {
    form.hidden = true;
    result.hidden = false;
    const o = offers().find((x) => x.id === order.offer_id);
    fill(
      $("#result-body"),
      renderOrder(order, { token: order.token, routes: config.routes, offerTitle: o && o.title }),
    );
    const link = $("#result-link");
    link.href = orderLink(order.id, order.token);
    $("#result-title").focus();
  }

  /** Open the sheet; with {submit: true} and saved details, order at once (one-tap confirm). */
  async function open(offerId, quantity, { submit: now = false } = {}) {
    form.hidden = false;
    result.hidden = true;
    clearErrors();
    fillOffers(offerId || session().pinned_offer_id || (offers()[0] && offers()[0].id));
    if (quantity) f.qty.value = String(quantity);
    updateTotal();
    if (!dialog.open) dialog.showModal();
    const saved = storeGet(BUYER_KEY);
    try {
      await loadProvinces();
      if (saved && !f.name.value) {
        f.name.value = saved.name || "";
        f.phone.value = saved.phone || "";
        f.street.value = saved.street || "";
        const pay = form.querySelector(`input[name=pay][value="${saved.pay}"]`);
        if (pay && !pay.closest("[hidden]")) pay.checked = true;
        if (saved.province) {
          f.province.value = saved.province;
          await loadWards(saved.province, saved.ward);
        }
      }
    } catch {
      say(formError, t("err_network_geo"), "error");
      $("#retry-geo").hidden = false;
    }
    (saved && f.name.value ? submit : f.qty).focus();
    const body = collect();
    const complete = body.buyer.name && body.buyer.phone && body.buyer.address.ward && body.buyer.address.street;
    if (now && complete) place();
  }

  f.offer.addEventListener("change", updateTotal);
  f.qty.addEventListener("input", updateTotal);
  $("#qty-minus").addEventListener("click", () => {
    f.qty.value = String(Math.max(1, (Number(f.qty.value) || 1) - 1));
    updateTotal();
  });
  $("#qty-plus").addEventListener("click", () => {
    const max = Number(f.qty.max) || 1000;
    f.qty.value = String(Math.min(max, (Number(f.qty.value) || 0) + 1));
    updateTotal();
  });
  f.province.addEventListener("change", () => {
    loadWards(f.province.value).catch(() => say(formError, t("err_network_geo"), "error"));
  });
  f.provinceQ.addEventListener("input", () => {
    const before = f.province.value;
    showOptions(f.province, provinceList, "choose_province", f.provinceQ.value);
    if (f.province.value !== before) f.province.dispatchEvent(new Event("change"));
  });
  f.wardQ.addEventListener("input", () => {
    showOptions(f.ward, wardList, "choose_ward", f.wardQ.value);
  });
  $("#old-toggle").addEventListener("click", () => {
    const box = $("#old-box");
    box.hidden = !box.hidden;
    $("#old-toggle").setAttribute("aria-expanded", String(!box.hidden));
    $("#old-toggle").textContent = t(box.hidden ? "old_toggle" : "old_toggle_close");
    if (box.hidden) oldLine = null;
    else f.old.focus();
  });
  $("#old-convert").addEventListener("click", convertOld);
  f.old.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") {
      ev.preventDefault();
      convertOld();
    }
  });
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    place();
  });
  $("#retry").addEventListener("click", place);
  $("#retry-geo").addEventListener("click", async () => {
    $("#retry-geo").hidden = true;
    clearErrors();
    try {
      await loadProvinces();
    } catch {
      say(formError, t("err_network_geo"), "error");
      $("#retry-geo").hidden = false;
    }
  });
  for (const btn of document.querySelectorAll("[data-close-sheet]")) {
    btn.addEventListener("click", () => dialog.close());
  }
  window.addEventListener("langchange", () => {
    $("#old-toggle").textContent = t($("#old-box").hidden ? "old_toggle" : "old_toggle_close");
    if (dialog.open && !form.hidden) fillOffers(Number(f.offer.value));
  });

  return { open, refreshOffers: () => dialog.open && !form.hidden && fillOffers(Number(f.offer.value)) };
}
