// /quy-dinh: the published livestream rules and the viewers' complaint form (E-commerce Law 2026).
import { api } from "./api.js";
import { $, fill, h, say } from "./dom.js";
import { applyI18n, initLangSwitch, lang, t } from "./i18n.js";

let rules = null;
const sessionId = Number(new URLSearchParams(location.search).get("phien")) || null;

function renderRules() {
  if (!rules) return;
  fill($("#rules"), (lang() === "en" ? rules.en : rules.vi).map((line) => h("li", { text: line })));
}

async function submit(event) {
  event.preventDefault();
  const form = event.target;
  const body = {
    name: form.name.value.trim(),
    phone: form.phone.value.trim(),
    text: form.text.value.trim(),
  };
  const orderId = form.order_id.value.trim();
  if (orderId) body.order_id = orderId;
  if (sessionId) body.session_id = sessionId;
  if (!body.name || !body.phone || !body.text) {
    say($("#c-error"), t("complaint_missing"), "error");
    return;
  }
  $("#c-submit").disabled = true;
  try {
    const received = await api("/api/complaints", { method: "POST", body });
    say($("#c-error"), "");
    form.hidden = true;
    say($("#c-done"), t("complaint_done", { id: received.id }), "ok");
  } catch (err) {
    const message =
      err.code === "invalid_phone" ? t("err_invalid_phone")
      : err.code === "rate_limited" ? t("complaint_slow_down")
      : err.status === 422 ? t("complaint_invalid")
      : t("err_load");
    say($("#c-error"), message, "error");
  } finally {
    $("#c-submit").disabled = false;
  }
}

async function main() {
  applyI18n();
  initLangSwitch($("#lang-switch"));
  $("#complaint").addEventListener("submit", submit);
  window.addEventListener("langchange", renderRules);
  try {
    rules = await api("/api/livestream-rules");
    renderRules();
  } catch {
    say($("#page-error"), t("err_load"), "error");
  }
  document.body.dataset.ready = "1";
}

main();
