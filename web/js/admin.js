// /quan-tri, the staff console (admins): cooperatives with their VietQR bank account,
// staff accounts with one-time set-password links, and the audit log.
import { ApiError, api } from "./api.js";
import "./strings-staff.js";
import { $, fill, h, say } from "./dom.js";
import { dateTime } from "./format.js";
import { applyI18n, initLangSwitch, t } from "./i18n.js";
import { initLogout, signedIn } from "./staff.js";

const state = { coops: [], users: [], banks: [] };

function options(select, items, blank) {
  fill(
    select,
    blank ? h("option", { value: "", text: blank }) : null,
    ...items.map(([value, text]) => h("option", { value: String(value), text })),
  );
}

async function loadWards() {
  const code = $("#coop-province").value;
  const wards = code ? await api(`/api/geo/provinces/${code}/wards`) : [];
  options($("#coop-ward"), wards.map((w) => [w.name, w.name]), t("choose"));
}

function renderCoops() {
  const bankName = (bin) => (state.banks.find((b) => b.bin === bin) || {}).short_name || bin;
  fill(
    $("#coops"),
    state.coops.map((c) =>
      h(
        "li",
        { dataset: { id: c.id } },
        h("strong", { text: c.name }),
        h("span", { class: "muted", text: [c.ward, c.province].filter(Boolean).join(", ") }),
        c.bank_bin ? h("span", { text: `${bankName(c.bank_bin)} · ${c.bank_account} · ${c.bank_account_name || ""}` }) : null,
      ),
    ),
  );
  options($("#user-coop"), state.coops.map((c) => [c.id, c.name]));
}

function showLink(data) {
  $("#link").textContent = new URL(data.set_password_url, location.href).href;
  $("#link-box").hidden = false;
}

async function userAction(user, verb) {
  try {
    const data = await api(`/api/users/${user.id}/${verb}`, { method: "POST", auth: true });
    if (data.set_password_url) showLink(data);
    await loadUsers();
  } catch (err) {
    say($("#user-error"), t("err_generic", { code: err.code }), "error");
  }
}

function renderUsers() {
  fill(
    $("#users"),
    state.users.map((u) =>
      h(
        "tr",
        { dataset: { email: u.email } },
        h("td", { dataset: { label: t("email") }, text: `${u.email}${u.display_name ? ` (${u.display_name})` : ""}` }),
        h("td", { dataset: { label: t("role") }, text: t(`role_${u.role}`) }),
        h("td", { dataset: { label: t("status") }, text: u.active ? t("active") : t("disabled") }),
        h(
          "td",
          { class: "row-actions", dataset: { label: t("actions") } },
          h("button", { class: "btn btn-tiny", type: "button", text: u.active ? t("disable") : t("enable"), on: { click: () => userAction(u, u.active ? "disable" : "enable") } }),
          h("button", { class: "btn btn-tiny", type: "button", text: t("reset"), on: { click: () => userAction(u, "reset") } }),
        ),
      ),
    ),
  );
}

async function loadUsers() {
  state.users = await api("/api/users", { auth: true });
  renderUsers();
}

async function loadAudit() {
  const entries = await api("/api/audit?limit=100", { auth: true });
  fill(
    $("#audit"),
    entries.map((e) =>
      h(
        "tr",
        {},
        h("td", { dataset: { label: t("time") }, text: dateTime(e.at) }),
        h("td", { dataset: { label: t("who_did") }, text: e.actor_email || "—" }),
        h("td", { dataset: { label: t("action") }, text: e.action }),
        h("td", { dataset: { label: t("object") }, text: `${e.object_type} ${e.object_id}` }),
      ),
    ),
  );
}

async function addCoop(ev) {
  ev.preventDefault();
  const note = $("#coop-error");
  say(note, "");
  const province = $("#coop-province");
  const body = {
    name: $("#coop-name").value.trim(),
    province: province.value ? province.selectedOptions[0].textContent : null,
    ward: $("#coop-ward").value || null,
    phone: $("#coop-phone").value.trim() || null,
  };
  if ($("#coop-bank").value) {
    body.bank_bin = $("#coop-bank").value;
    body.bank_account = $("#coop-account").value.trim();
    body.bank_account_name = $("#coop-holder").value.trim() || null;
  }
  try {
    await api("/api/cooperatives", { method: "POST", body, auth: true });
    ev.target.reset();
    state.coops = await api("/api/cooperatives");
    renderCoops();
    loadAudit();
  } catch (err) {
    say(note, err instanceof ApiError && err.status === 422 ? t("complaint_invalid") : t("err_generic", { code: err.code }), "error");
  }
}

async function addUser(ev) {
  ev.preventDefault();
  const note = $("#user-error");
  say(note, "");
  const role = $("#user-role").value;
  const body = { email: $("#user-email").value.trim(), role, display_name: $("#user-name").value.trim() || null };
  if (role === "coop") body.cooperative_id = Number($("#user-coop").value);
  try {
    showLink(await api("/api/users", { method: "POST", body, auth: true }));
    ev.target.reset();
    $("#user-coop-field").hidden = true;
    await loadUsers();
    loadAudit();
  } catch (err) {
    say(note, err instanceof ApiError && err.status === 422 ? t("complaint_invalid") : t("err_generic", { code: err.code }), "error");
  }
}

async function main() {
  applyI18n();
  initLangSwitch($("#lang-switch"));
  const user = await signedIn();
  $("#who").textContent = user.email;
  initLogout($("#logout"));
  if (user.role !== "admin") {
    say($("#page-error"), t("admin_only"), "error");
    return;
  }
  const [coops, banks, provinces] = await Promise.all([
    api("/api/cooperatives"),
    api("/api/banks"),
    api("/api/geo/provinces"),
  ]);
  Object.assign(state, { coops, banks });
  options($("#coop-province"), provinces.map((p) => [p.code, p.name]), t("choose"));
  options($("#coop-bank"), banks.map((b) => [b.bin, `${b.short_name} — ${b.name}`]), t("bank_none"));
  await loadWards();
  $("#coop-province").addEventListener("change", loadWards);
  $("#user-role").addEventListener("change", () => {
    $("#user-coop-field").hidden = $("#user-role").value !== "coop";
  });
  $("#coop-form").addEventListener("submit", addCoop);
  $("#user-form").addEventListener("submit", addUser);
  renderCoops();
  await Promise.all([loadUsers(), loadAudit()]);
  $("#console").hidden = false;
  document.body.dataset.ready = "1";
}

main().catch((err) => say($("#page-error"), t("err_generic", { code: err.code || "error" }), "error"));
