// /dieu-phoi/{sid}: the moderator console of one session. The order desk (chat orders kept
// on the server, shared live between staff), chat moderation with the session's banned
// words, and the session's orders to confirm by phone.
import { ApiError, api, clientConfig, getToken, pathId } from "./api.js";
import "./strings-staff.js";
import { $, fill, h, say } from "./dom.js";
import { clock, vnd } from "./format.js";
import { applyI18n, initLangSwitch, t } from "./i18n.js";
import { LiveChannel } from "./live.js";
import { statusLabel } from "./order-view.js";
import { initLogout, signedIn } from "./staff.js";

const sid = pathId();
const state = { session: null, desk: new Map(), me: null };

function offerTitle(id) {
  const offer = (state.session.offers || []).find((o) => o.id === id);
  return offer ? `${offer.code} · ${offer.title}` : `#${id}`;
}

function orderForm(item) {
  const id = (name) => `d-${item.intent_id}-${name}`;
  const field = (name, key, attrs = {}) =>
    h("div", { class: "field" }, h("label", { attrs: { for: id(name) }, text: t(key) }), h("input", { attrs: { id: id(name), required: "", ...attrs } }));
  const note = h("p", { class: "form-error", attrs: { role: "alert" }, hidden: true });
  const form = h(
    "form",
    { class: "stack-form desk-order" },
    field("name", "full_name", { value: item.name, maxlength: "100" }),
    field("phone", "phone", { type: "tel", inputmode: "tel", maxlength: "20" }),
    field("province", "province", { maxlength: "100" }),
    field("ward", "ward", { maxlength: "100" }),
    field("street", "street", { maxlength: "200" }),
    note,
    h("button", { class: "btn btn-primary", type: "submit", text: t("place_order") }),
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const value = (name) => form.querySelector(`#${CSS.escape(id(name))}`).value.trim();
    const buyer = { name: value("name"), phone: value("phone"), address: { province: value("province"), ward: value("ward"), street: value("street") } };
    try {
      const done = await api(`/api/sessions/${sid}/desk/${encodeURIComponent(item.intent_id)}/order`, { method: "POST", body: { buyer }, auth: true });
      upsert(done);
      loadOrders();
    } catch (err) {
      say(note, err instanceof ApiError && err.message ? err.message : t("err_generic", { code: err.code }), "error");
    }
  });
  return form;
}

function deskRow(item) {
  const mine = item.claimed_by === state.me.id;
  const act = (verb) => async () => {
    try {
      upsert(await api(`/api/sessions/${sid}/desk/${encodeURIComponent(item.intent_id)}/${verb}`, { method: "POST", auth: true }));
    } catch (err) {
      say($("#chat-note"), err.message || t("err_generic", { code: err.code }), "error");
      loadDesk();
    }
  };
  const buttons = [];
  if (item.state === "new") buttons.push(h("button", { class: "btn btn-small btn-primary", type: "button", text: t("claim"), on: { click: act("claim") } }));
  if (item.state === "claimed" && mine) buttons.push(h("button", { class: "btn btn-small", type: "button", text: t("release"), on: { click: act("release") } }));
  if (item.state === "new" || (item.state === "claimed" && mine)) {
    buttons.push(h("button", { class: "btn btn-small", type: "button", text: t("dismiss"), on: { click: act("dismiss") } }));
  }
  return h(
    "li",
    { class: `desk-item desk-${item.state}`, dataset: { intent: item.intent_id, state: item.state } },
    h("p", {}, h("strong", { text: item.name }), " ", h("span", { text: `“${item.text}”` })),
    h("p", {}, h("span", { text: `${offerTitle(item.offer_id)} × ${item.quantity} = ${vnd(item.total)} ` }), h("span", { class: `chip desk-chip-${item.state}`, text: t(`desk_${item.state}`) })),
    item.order_id ? h("p", {}, h("a", { href: `#order-${item.order_id}`, text: `→ ${t("orders")}` })) : null,
    item.matches.length
      ? h("p", { class: "note", dataset: { kind: "warn" } }, t("earlier_orders"), " ", item.matches.map((m) => `${m.code} (${statusLabel(m.status)})`).join(", "))
      : null,
    h("div", { class: "toolbar" }, ...buttons),
    item.state === "claimed" && mine ? orderForm(item) : null,
  );
}

function renderDesk() {
  const items = [...state.desk.values()].sort((a, b) => (a.created_at < b.created_at ? 1 : -1));
  $("#desk-empty").hidden = items.length > 0;
  fill($("#desk"), items.map(deskRow));
}

function upsert(item) {
  state.desk.set(item.intent_id, item);
  renderDesk();
}

async function loadDesk() {
  const items = await api(`/api/sessions/${sid}/desk`, { auth: true });
  state.desk = new Map(items.map((i) => [i.intent_id, i]));
  renderDesk();
}

async function loadOrders() {
  const orders = await api(`/api/sessions/${sid}/orders?limit=100`, { auth: true });
  fill(
    $("#orders"),
    orders.map((o) =>
      h(
        "tr",
        { attrs: { id: `order-${o.id}` }, dataset: { code: o.code } },
        h("td", { dataset: { label: t("code") }, text: o.code }),
        h("td", { dataset: { label: t("buyer") }, text: `${o.buyer.name} · ${o.buyer.phone}` }),
        h("td", { dataset: { label: t("product") }, text: `${o.offer_code} × ${o.quantity}` }),
        h("td", { class: "num", dataset: { label: t("total") }, text: vnd(o.total) }),
        h("td", { dataset: { label: t("status") } }, h("span", { class: `chip status-${o.status}`, text: statusLabel(o.status) })),
        h(
          "td",
          { class: "row-actions", dataset: { label: t("actions") } },
          o.status === "placed"
            ? h("button", { class: "btn btn-tiny", type: "button", text: t("confirm_cod"), on: { click: async () => { await api(`/api/orders/${o.id}/confirm`, { method: "POST", auth: true }); loadOrders(); } } })
            : null,
        ),
      ),
    ),
  );
}

async function moderate(path, body) {
  try {
    await api(`/api/sessions/${sid}/${path}`, { method: "POST", body, auth: true });
  } catch (err) {
    say($("#chat-note"), err.message || t("err_generic", { code: err.code }), "error");
  }
}

function addChat(msg) {
  const li = h(
    "li",
    { dataset: { id: msg.id } },
    h("span", { class: "chat-time", text: clock(new Date(msg.ts).toISOString()) }),
    h("strong", { text: msg.name }),
    " ",
    h("span", { text: msg.text }),
  );
  if (!msg.role) {
    li.append(
      h("button", { class: "btn btn-tiny", type: "button", text: t("delete"), on: { click: () => moderate(`chat/${encodeURIComponent(msg.id)}/delete`) } }),
      h("button", { class: "btn btn-tiny", type: "button", text: t("mute"), on: { click: () => moderate("mute", { message_id: msg.id, minutes: 10 }) } }),
      h("button", { class: "btn btn-tiny", type: "button", text: t("ban"), on: { click: () => moderate("ban", { message_id: msg.id, minutes: 24 * 60 }) } }),
    );
  }
  $("#chat").append(li);
  li.scrollIntoView({ block: "nearest" });
}

function onEvent(ev) {
  if (ev.type === "snapshot") {
    fill($("#chat"));
    for (const msg of ev.chat || []) addChat(msg);
  } else if (ev.type === "chat") addChat(ev);
  else if (ev.type === "chat.deleted") document.querySelector(`#chat [data-id="${CSS.escape(String(ev.id))}"]`)?.remove();
  else if (ev.type === "intent") loadDesk();
  else if (ev.type === "desk") upsert(ev.item);
  else if (ev.type === "order") loadOrders();
}

async function main() {
  applyI18n();
  initLangSwitch($("#lang-switch"));
  state.me = await signedIn();
  $("#who").textContent = state.me.email;
  initLogout($("#logout"));
  try {
    state.session = await api(`/api/sessions/${sid}`);
    $("#words").value = (await api(`/api/sessions/${sid}/banned-words`, { auth: true })).join("\n");
    await Promise.all([loadDesk(), loadOrders()]);
  } catch (err) {
    say($("#page-error"), err.status === 403 ? t("not_assigned") : t("err_load"), "error");
    document.body.dataset.ready = "1";
    return;
  }
  $("#title").textContent = state.session.title;
  $("#words-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const words = $("#words").value.split("\n").map((w) => w.trim()).filter(Boolean);
    try {
      await api(`/api/sessions/${sid}/banned-words`, { method: "PUT", body: { words }, auth: true });
      say($("#words-note"), t("saved"), "ok");
    } catch (err) {
      say($("#words-note"), t("err_generic", { code: err.code }), "error");
    }
  });
  const config = await clientConfig();
  new LiveChannel({
    sid,
    useWs: Boolean(config.features.live_ws),
    hello: () => ({ type: "auth", token: getToken() }),
    onEvent,
    poll: loadDesk,
    pollMs: 5000,
  }).start();
  $("#console").hidden = false;
  document.body.dataset.ready = "1";
}

main();
