// The studio's "change price" control, one per offer: a new price in đồng from now on.
// Orders already placed keep theirs; after the end the server refuses (409), prices are final.
// The controls outlive the offer list's re-renders (stock and order events rebuild it), so
// what the host is typing is never lost.
import { ApiError, api } from "./api.js";
import { h, say } from "./dom.js";
import { vnd } from "./format.js";
import { t } from "./i18n.js";
import "./strings-sale-tools.js";

/** "240000", "240.000" or "240 000 ₫" -> 240000; anything else (letters, minus, decimals) -> null. */
export function parseVnd(text) {
  const clean = String(text).trim().replace(/[.\s\u00a0\u202f₫]/g, "");
  return /^\d{1,15}$/.test(clean) ? Number(clean) : null;
}

function errorKey(err) {
  if (!(err instanceof ApiError)) return "err_generic";
  if (err.status === 409) return "price_ended";
  if (err.status === 422) return "price_invalid";
  if (err.status === 403) return "price_forbidden";
  return "err_generic";
}

/**
 * `onChanged(offer)` gets the server's offer after a change; `announce(text)` tells the
 * host it is done (the form closes).
 */
export function initOfferPrices(sid, { onChanged, announce }) {
  const controls = new Map();

  function build(offerId) {
    const c = { offer: null, busy: false };
    const inputId = `price-new-${offerId}`;
    c.toggle = h("button", {
      type: "button",
      class: "btn btn-small price-toggle",
      attrs: { "aria-expanded": "false", "aria-controls": `price-form-${offerId}` },
      on: { click: () => setOpen(c, c.form.hidden) },
    });
    c.input = h("input", {
      id: inputId,
      type: "text",
      autocomplete: "off",
      spellcheck: false,
      attrs: { inputmode: "numeric", "aria-describedby": `price-help-${offerId}` },
      on: { input: () => preview(c) },
    });
    c.label = h("label", { attrs: { for: inputId } });
    c.now = h("p", { class: "price-now" });
    c.help = h("p", { class: "muted small", id: `price-help-${offerId}`, attrs: { "aria-live": "polite" } });
    c.confirm = h("button", { type: "submit", class: "btn btn-primary" });
    c.cancel = h("button", { type: "button", class: "btn", on: { click: () => setOpen(c, false) } });
    c.note = h("p", { class: "note", hidden: true, attrs: { role: "alert" } });
    c.form = h(
      "form",
      { class: "price-form", id: `price-form-${offerId}`, hidden: true, noValidate: true, on: { submit: (e) => submit(e, c) } },
      c.now,
      h("div", { class: "field" }, c.label, c.input),
      c.help,
      c.note,
      h("div", { class: "price-actions" }, c.confirm, c.cancel),
    );
    return c;
  }

  function texts(c) {
    c.toggle.textContent = t("price_change");
    c.label.textContent = t("price_new");
    c.now.textContent = t("price_now", { price: vnd(c.offer.price) });
    c.confirm.textContent = t("price_confirm");
    c.cancel.textContent = t("cancel");
    preview(c);
  }

  function preview(c) {
    const price = parseVnd(c.input.value);
    c.help.textContent = price ? t("price_preview", { price: vnd(price) }) : t("price_hint");
  }

  function setOpen(c, open) {
    c.form.hidden = !open;
    c.toggle.setAttribute("aria-expanded", String(open));
    if (open) {
      say(c.note, "");
      c.input.focus();
    } else {
      c.input.value = "";
      preview(c);
      c.toggle.focus();
    }
  }

  async function submit(event, c) {
    event.preventDefault();
    if (c.busy) return;
    const price = parseVnd(c.input.value);
    const local =
      price === null ? "price_not_digits" : price === 0 ? "price_zero" : price === c.offer.price ? "price_same" : null;
    if (local) {
      say(c.note, t(local), "error");
      c.input.setAttribute("aria-invalid", "true");
      c.input.focus();
      return;
    }
    c.busy = true;
    c.confirm.disabled = true;
    say(c.note, "");
    try {
      const offer = await api(`/api/sessions/${sid}/offers/${c.offer.id}`, {
        method: "PATCH",
        auth: true,
        body: { price },
      });
      c.input.removeAttribute("aria-invalid");
      c.offer = { ...c.offer, price: offer.price };
      setOpen(c, false);
      onChanged(offer);
      announce(t("price_done", { code: c.offer.code, price: vnd(offer.price) }));
    } catch (err) {
      c.input.setAttribute("aria-invalid", "true");
      say(c.note, t(errorKey(err), { code: err.code }), "error");
    } finally {
      c.busy = false;
      c.confirm.disabled = false;
    }
  }

  /** The toggle button and its form for one offer (the same nodes on every render). */
  function control(offer, ended) {
    if (!controls.has(offer.id)) controls.set(offer.id, build(offer.id));
    const c = controls.get(offer.id);
    c.offer = offer;
    texts(c);
    // After the end prices are final: no control (the server would say 409 anyway).
    c.toggle.hidden = ended;
    if (ended) c.form.hidden = true;
    return [c.toggle, c.form];
  }

  return { control };
}
