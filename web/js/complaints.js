// /khieu-nai: the staff inbox of viewers' complaints (moderators and admins).
import { api } from "./api.js";
import { $, fill, h, say } from "./dom.js";
import { dateTime } from "./format.js";
import { applyI18n, initLangSwitch, t } from "./i18n.js";
import { initLogout, signedIn } from "./staff.js";

let complaints = [];

function item(c) {
  const resolved = c.status !== "open";
  const note = h("textarea", { id: `r-${c.id}`, rows: 2, maxLength: 1000 });
  const form = h(
    "form",
    { class: "resolve", on: { submit: (ev) => resolve(ev, c.id, note) } },
    h("label", { attrs: { for: `r-${c.id}` }, text: t("inbox_resolution") }),
    note,
    h("button", { class: "btn btn-primary", type: "submit", text: t("inbox_resolve") }),
  );
  return h(
    "li",
    { class: `card complaint ${resolved ? "done" : ""}`, dataset: { id: String(c.id) } },
    h("p", { class: "muted", text: `#${c.id} · ${dateTime(c.created_at)} · ${c.name} · ${c.phone}` }),
    c.order_id ? h("p", { class: "muted", text: `${t("complaint_order")}: ${c.order_id}` }) : null,
    h("p", { class: "complaint-text", text: c.text }),
    resolved ? h("p", { class: "chip", text: `${t("inbox_done")}: ${c.resolution || ""}` }) : form,
  );
}

function render() {
  fill(
    $("#complaints"),
    complaints.length ? complaints.map(item) : h("li", { class: "muted", text: t("inbox_empty") }),
  );
}

async function load() {
  complaints = await api("/api/complaints", { auth: true });
  render();
}

async function resolve(event, id, note) {
  event.preventDefault();
  const resolution = note.value.trim();
  if (!resolution) {
    note.focus();
    return;
  }
  try {
    await api(`/api/complaints/${id}/resolve`, { method: "POST", auth: true, body: { resolution } });
    await load();
  } catch {
    say($("#page-error"), t("err_load"), "error");
  }
}

async function main() {
  applyI18n();
  initLangSwitch($("#lang-switch"));
  window.addEventListener("langchange", render);
  const user = await signedIn();
  $("#who").textContent = user.display_name || user.email;
  initLogout($("#logout"));
  $("#inbox").hidden = false;
  try {
    await load();
  } catch (err) {
    say($("#page-error"), err.status === 403 ? t("inbox_forbidden") : t("err_load"), "error");
  }
  document.body.dataset.ready = "1";
}

main();
