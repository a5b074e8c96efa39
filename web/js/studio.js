// The host studio /studio/{sid}: camera preview, go live over WHIP, run the sale.
import { ApiError, api, clientConfig, getToken, pathId } from "./api.js";
import { $, fill, h, say } from "./dom.js";
import { clock, count, vnd, weight } from "./format.js";
import "./strings-staff.js";
import { applyI18n, initLangSwitch, t } from "./i18n.js";
import { LiveChannel } from "./live.js";
import { publish } from "./media.js";
import { statusLabel } from "./order-view.js";
import { initOfferPrices } from "./offer-price.js";
import { initRestream } from "./restream-panel.js";
import { endDialogText, initSaleAfterEnd } from "./sale-after-end.js";
import { findRoute, initLogout, routePath, signedIn } from "./staff.js";

const sid = pathId();
const state = {
  staff: null,
  config: { features: {}, routes: [] },
  stream: null,
  pub: null,
  phase: "idle", // idle | preview | connecting | live | retrying
  wantLive: false,
  drafts: new Map(),
  ordersSeen: new Set(),
};
let channel = null;
let ordersTimer = null;
let restream = null;
let prices = null;
let afterEnd = null;

// ---- camera ------------------------------------------------------------------------------
function mediaSupported() {
  return Boolean(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
}

async function startPreview() {
  if (!mediaSupported()) throw new Error("insecure");
  const cam = $("#camera").value;
  const mic = $("#microphone").value;
  const stream = await navigator.mediaDevices.getUserMedia({
    video: cam ? { deviceId: { exact: cam } } : { width: { ideal: 1280 }, height: { ideal: 720 } },
    audio: mic ? { deviceId: { exact: mic } } : true,
  });
  const old = state.stream;
  state.stream = stream;
  $("#preview").srcObject = stream;
  $("#preview").play().catch(() => {});
  if (state.pub) {
    // Switch devices while live without dropping the viewers.
    for (const sender of state.pub.pc.getSenders()) {
      const next = stream.getTracks().find((tr) => sender.track && tr.kind === sender.track.kind);
      if (next) await sender.replaceTrack(next);
    }
  }
  if (old) for (const tr of old.getTracks()) tr.stop();
  await listDevices();
  if (state.phase === "idle") setPhase("preview");
}

async function listDevices() {
  const devices = await navigator.mediaDevices.enumerateDevices();
  const current = state.stream ? state.stream.getTracks() : [];
  for (const [kind, select, labelKey] of [
    ["videoinput", $("#camera"), "camera_n"],
    ["audioinput", $("#microphone"), "microphone_n"],
  ]) {
    const using = current.find((tr) => `${tr.kind}input` === kind);
    const id = using ? using.getSettings().deviceId : select.value;
    const list = devices.filter((d) => d.kind === kind);
    fill(
      select,
      list.map((d, i) => h("option", { value: d.deviceId, text: d.label || t(labelKey, { n: i + 1 }) })),
    );
    if (id) select.value = id;
  }
}

function cameraError(err) {
  const key =
    err && err.message === "insecure"
      ? "cam_insecure"
      : err && err.name === "NotAllowedError"
        ? "cam_denied"
        : err && err.name === "NotFoundError"
          ? "cam_missing"
          : "cam_failed";
  say($("#cam-note"), t(key), "error");
}

// ---- going live --------------------------------------------------------------------------
function setPhase(phase) {
  state.phase = phase;
  const go = $("#go");
  const labels = {
    idle: "go_live",
    preview: "go_live",
    connecting: "connecting",
    live: "stop_live",
    retrying: "stop_live",
  };
  go.textContent = t(labels[phase]);
  go.classList.toggle("btn-danger", phase === "live" || phase === "retrying");
  go.classList.toggle("btn-primary", !(phase === "live" || phase === "retrying"));
  go.disabled = phase === "connecting" || !state.config.features.whip;
  const stateKey = {
    idle: "conn_idle",
    preview: "conn_preview",
    connecting: "conn_connecting",
    live: "conn_live",
    retrying: "conn_retrying",
  }[phase];
  const el = $("#conn-state");
  el.textContent = t(stateKey);
  el.dataset.state = phase;
  $("#on-air").hidden = phase !== "live";
  $("#stop-broadcast").hidden = phase !== "live";
}

async function goLive() {
  say($("#cam-note"), "");
  state.wantLive = true;
  setPhase("connecting");
  try {
    if (!state.stream) await startPreview();
  } catch (err) {
    state.wantLive = false;
    setPhase("idle");
    cameraError(err);
    return;
  }
  try {
    // onState can fire before publish() returns: it reads the connection through `attempt`.
    const attempt = { pub: null };
    const whip = state.takeover ? `${state.staff.whip_url}?takeover=1` : state.staff.whip_url;
    const pub = await publish(whip, state.stream, state.staff.stream_key, {
      iceServers: state.config.ice_servers,
      onState: (s) => {
        if (!attempt.pub || state.pub !== attempt.pub) return;
        if (s === "connected") setPhase("live");
        else if (s === "failed" || s === "disconnected") retryLive();
      },
    });
    attempt.pub = pub;
    if (!state.wantLive) {
      pub.close();
      return;
    }
    state.pub = pub;
    if (pub.pc.connectionState === "connected") setPhase("live");
  } catch (err) {
    if (err instanceof ApiError && err.status === 409) {
      // Another device publishes this session: only the host, here, may take over.
      state.wantLive = false;
      $("#takeover-box").hidden = false;
      setPhase(state.stream ? "preview" : "idle");
      return;
    }
    state.takeover = false;
    const key = err instanceof ApiError && err.status === 401 ? "whip_key_refused" : "whip_failed";
    say($("#cam-note"), t(key), "error");
    if (state.wantLive && !(err instanceof ApiError && err.status === 401)) retryLive();
    else {
      state.wantLive = false;
      setPhase(state.stream ? "preview" : "idle");
    }
  }
}

function retryLive() {
  if (state.pub) state.pub.close();
  state.pub = null;
  if (!state.wantLive) return;
  setPhase("retrying");
  setTimeout(() => {
    if (state.wantLive && !state.pub) goLive();
  }, 3000);
}

function stopLive() {
  state.wantLive = false;
  if (state.pub) state.pub.close();
  state.pub = null;
  setPhase(state.stream ? "preview" : "idle");
}

// ---- the sale ----------------------------------------------------------------------------
function renderSession() {
  const s = state.staff;
  $("#title").textContent = s.title;
  document.title = `${t("studio")} — ${s.title}`;
  const status = $("#sale-status");
  status.textContent = t(`salestate_${s.status}`);
  status.dataset.status = s.status;
  renderSaleControl(s);
  $("#viewer-link").href = `/live/${sid}`;
  $("#obs-url").textContent = new URL(s.whip_url, location.href).href;
  $("#obs-key").textContent = s.stream_key;
  renderOffers();
  renderLots();
  afterEnd.render(s);
  if (restream) restream.describe(s);
}

function renderSaleControl(s) {
  // status: scheduled | live | ended; sale_status: open | paused | closed.
  // Ended but kept open by the host: the replay page sells (sale_status "open").
  const replay = s.status === "ended" && s.sale_status === "open";
  const sale = s.status === "live" ? s.sale_status : s.status === "ended" ? (replay ? "replay_open" : "closed") : null;
  $("#sale-status").textContent = sale ? t(`sale_${sale}`) : t(`salestate_${s.status}`);
  $("#sale-status").dataset.status = sale || s.status;
  $("#sale-open").hidden = s.status !== "scheduled";
  $("#sale-pause").hidden = !(s.status === "live" && s.sale_status === "open");
  $("#sale-resume").hidden = !(s.status === "live" && s.sale_status === "paused");
  $("#sale-end").hidden = s.status === "ended";
  $("#mod-link").href = `/dieu-phoi/${sid}`;
  $("#setup-link").href = `/phien?sid=${sid}`;
}

async function saleAction(action) {
  say($("#sale-note"), "");
  try {
    await api(`/api/sessions/${sid}/${action}`, { method: "POST", auth: true });
    await reload();
  } catch (err) {
    const key = err.code === "streamer_identity_required" ? "streamer_first" : "err_generic";
    say($("#sale-note"), t(key, { code: err.code }), "error");
  }
}

function wireSaleControl() {
  const dialog = $("#end-dialog");
  $("#sale-open").addEventListener("click", () => saleAction("start"));
  $("#sale-pause").addEventListener("click", () => saleAction("sale/pause"));
  $("#sale-resume").addEventListener("click", () => saleAction("sale/resume"));
  // Ending is for good: say so, and make the safe choice the default one.
  $("#sale-end").addEventListener("click", () => {
    $("#end-dialog-text").textContent = endDialogText(state.staff);
    dialog.showModal();
    $("#end-cancel").focus();
  });
  $("#end-cancel").addEventListener("click", () => dialog.close());
  $("#end-confirm").addEventListener("click", async () => {
    dialog.close();
    await saleAction("end");
  });
  $("#stop-broadcast").addEventListener("click", async () => {
    // Tell viewers it is on purpose first; the relay's "publisher gone" then changes nothing.
    try {
      await api(`/api/sessions/${sid}/broadcast/stop`, { method: "POST", auth: true });
    } catch {
      // Not live (or offline): stopping the camera is still what the host asked for.
    }
    stopLive();
  });
  $("#takeover").addEventListener("click", () => {
    state.takeover = true;
    $("#takeover-box").hidden = true;
    goLive();
  });
}

function renderOffers() {
  const s = state.staff;
  const focused = document.activeElement;
  const caret = focused && typeof focused.selectionStart === "number" ? [focused.selectionStart, focused.selectionEnd] : null;
  fill(
    $("#offers"),
    s.offers.map((o) => {
      const lot = s.lots.find((l) => l.id === o.lot_id);
      const isPinned = o.id === s.pinned_offer_id;
      return h(
        "li",
        { class: isPinned ? "pinned" : "" },
        h(
          "div",
          { class: "grow" },
          h("strong", { text: `${o.code} · ${o.title}` }),
          h(
            "span",
            { class: "muted" },
            " ",
            h("span", { class: "num offer-row-price", text: vnd(o.price) }),
            ` · ${lot ? t("left_short", { weight: weight(lot.available_grams) }) : ""}`,
          ),
        ),
        isPinned
          ? h("span", { class: "chip chip-ok", text: t("pinned") })
          : s.status === "ended"
          ? null // a pin after the end is refused: the replay's moments are the live's
          : h("button", {
              type: "button",
              class: "btn btn-small",
              text: t("pin"),
              on: { click: () => pin(o.id) },
            }),
        prices.control(o, s.status === "ended"),
      );
    }),
  );
  // The price controls are the same nodes after a rebuild: give their focus back.
  if (focused && focused !== document.activeElement && focused.isConnected) {
    focused.focus();
    if (caret) focused.setSelectionRange(...caret);
  }
}

/** A new price (the server's answer or the socket's `price` event): show it at once. */
function applyPrice(offerId, price) {
  const offer = state.staff && state.staff.offers.find((o) => o.id === offerId);
  if (!offer || offer.price === price) return;
  offer.price = price;
  renderOffers();
}

async function pin(offerId) {
  try {
    await api(`/api/sessions/${sid}/pin`, { method: "POST", auth: true, body: { offer_id: offerId } });
    await reload();
  } catch (err) {
    say($("#sale-note"), t("err_generic", { code: err.code }), "error");
  }
}

function renderLots() {
  fill(
    $("#lots"),
    state.staff.lots.map((l) =>
      h(
        "li",
        {},
        h("strong", { text: l.product }),
        h("span", {
          text: ` ${t("sold_of", { sold: weight(l.sold_grams), stock: weight(l.stock_grams) })} · ${t("left_short", { weight: weight(l.available_grams) })}`,
        }),
      ),
    ),
  );
}

async function reload() {
  state.staff = await api(`/api/sessions/${sid}/staff`, { auth: true });
  renderSession();
}

// ---- orders ------------------------------------------------------------------------------
async function loadOrders() {
  clearTimeout(ordersTimer);
  try {
    const orders = await api(`/api/sessions/${sid}/orders?limit=50`, { auth: true });
    $("#orders-count").textContent = count(orders.length);
    const firstLoad = state.ordersSeen.size === 0;
    fill(
      $("#orders"),
      orders.length
        ? orders.map((o) => {
            const fresh = !firstLoad && !state.ordersSeen.has(o.id);
            state.ordersSeen.add(o.id);
            return h(
              "li",
              { class: fresh ? "fresh" : "" },
              h("span", { class: "muted", text: clock(o.created_at) }),
              h("strong", { text: ` ${o.buyer.name}` }),
              h("span", { text: ` · ${o.quantity} × ${o.offer_code} · ${weight(o.grams)} · ${vnd(o.total)}` }),
              h("span", { class: `chip status-${o.status}`, text: statusLabel(o.status) }),
            );
          })
        : h("li", { class: "muted", text: t("no_orders_yet") }),
    );
    if (state.ordersSeen.size === 0) state.ordersSeen.add("");
  } catch {
    // Keep the last list; try again on the next tick.
  }
  ordersTimer = setTimeout(loadOrders, channel && channel.connected ? 5000 : 3000);
}

// ---- chat, moderation, comment-orders ----------------------------------------------------
function moderationActions() {
  const r = state.config.routes;
  return [
    ["delete", findRoute(r, "DELETE", /chat\/\{[^}]+\}$/) || findRoute(r, "POST", /chat\/\{[^}]+\}\/delete$/), "mod_delete"],
    ["mute", findRoute(r, "POST", /mute$/), "mod_mute"],
    ["ban", findRoute(r, "POST", /ban$/), "mod_ban"],
  ].filter(([, path]) => path);
}

async function moderate(action, path, msg) {
  const method = action === "delete" && !/delete$/.test(path) ? "DELETE" : "POST";
  const needsMessage = /\{[^}]+\}.*\{[^}]+\}/.test(path);
  const url = needsMessage ? routePath(path, sid, msg.id) : routePath(path, sid);
  const body = action === "delete" ? undefined : { message_id: String(msg.id), minutes: action === "ban" ? 24 * 60 : 10 };
  try {
    await api(url, { method, auth: true, body });
    if (action === "delete") document.querySelector(`#chat [data-id="${CSS.escape(String(msg.id))}"]`)?.remove();
    say($("#chat-note"), t(`mod_done_${action}`), "info");
  } catch (err) {
    say($("#chat-note"), t("err_generic", { code: err.code }), "error");
  }
}

function addChat(msg) {
  const list = $("#chat");
  const actions = moderationActions();
  list.append(
    h(
      "li",
      { dataset: { id: String(msg.id ?? "") } },
      h("span", { class: "chat-name", text: msg.name || t("guest") }),
      h("span", { class: "chat-text", text: msg.text }),
      actions.length
        ? h(
            "span",
            { class: "mod-actions" },
            actions.map(([action, path, key]) =>
              h("button", { type: "button", class: "btn btn-tiny", text: t(key), on: { click: () => moderate(action, path, msg) } }),
            ),
          )
        : null,
    ),
  );
  while (list.children.length > 200) list.firstChild.remove();
  list.scrollTop = list.scrollHeight;
}

function addDraft(d) {
  const id = String(d.id ?? d.message_id ?? `${d.offer_id}-${d.quantity}-${d.ts}`);
  if (state.drafts.has(id)) return;
  const offer = state.staff.offers.find((o) => o.id === d.offer_id);
  state.drafts.set(id, d);
  $("#drafts-empty").hidden = true;
  const item = h(
    "li",
    {},
    h("span", { class: "muted", text: d.ts ? clock(new Date(d.ts)) : "" }),
    h("strong", { text: ` ${d.name || t("guest")}` }),
    h("span", {
      text: `: ${d.quantity} × ${offer ? offer.code : d.offer_id} · ${weight(d.grams)} · ${vnd(d.total)}`,
    }),
    d.text ? h("q", { class: "muted grow", text: d.text }) : null,
  );
  item.append(
    h("button", {
      type: "button",
      class: "btn btn-tiny",
      text: t("done"),
      on: { click: () => item.classList.toggle("done") },
    }),
  );
  $("#drafts").prepend(item);
}

async function loadIntents() {
  if (!findRoute(state.config.routes, "GET", /\/intents$/)) return;
  try {
    const items = await api(`/api/sessions/${sid}/intents`, { auth: true });
    for (const item of [...items].sort((a, b) => a.ts - b.ts)) addDraft(item);
  } catch {
    // The queue fills from the live socket anyway.
  }
}

function onEvent(ev) {
  switch (ev.type) {
    case "snapshot":
      fill($("#chat"));
      for (const msg of ev.chat || []) addChat(msg);
      if (ev.viewers !== undefined) $("#viewers").textContent = t("viewers", { n: count(ev.viewers) });
      break;
    case "chat":
      addChat(ev);
      break;
    case "chat.deleted":
      document.querySelector(`#chat [data-id="${CSS.escape(String(ev.id))}"]`)?.remove();
      break;
    case "viewers":
      $("#viewers").textContent = t("viewers", { n: count(ev.count) });
      break;
    case "intent":
      addDraft(ev);
      break;
    case "stock":
    case "order":
      scheduleRefresh();
      break;
    case "sale":
      scheduleRefresh();
      break;
    case "price":
      applyPrice(ev.offer_id, ev.price);
      break;
    case "status":
      $("#stream-status").textContent =
        ev.status === "paused" ? t("tech_pause") : ev.status === "stopped" ? t("stop_broadcast_note") : "";
      scheduleRefresh();
      break;
    default:
      break;
  }
}

let refreshSoon = null;
function scheduleRefresh() {
  clearTimeout(refreshSoon);
  refreshSoon = setTimeout(() => {
    reload().catch(() => {});
    loadOrders();
  }, 400);
}

// ---- start -------------------------------------------------------------------------------
async function main() {
  applyI18n();
  initLangSwitch($("#lang-switch"));
  if (!sid) return;
  prices = initOfferPrices(sid, {
    onChanged: (offer) => applyPrice(offer.id, offer.price),
    announce: (text) => say($("#sale-note"), text, "info"),
  });
  afterEnd = initSaleAfterEnd(sid, { onChanged: reload });
  const user = await signedIn();
  initLogout($("#logout"));
  $("#who").textContent = user.display_name || user.email;
  state.config = await clientConfig();
  try {
    await reload();
  } catch (err) {
    say($("#page-error"), err.status === 403 ? t("not_your_session") : err.status === 404 ? t("session_not_found") : t("err_load"), "error");
    return;
  }
  $("#studio").hidden = false;
  restream = initRestream(sid, $("#restream-box"));
  restream.describe(state.staff);
  setPhase("idle");
  if (!state.config.features.whip) say($("#cam-note"), t("whip_missing"), "info");
  if (!mediaSupported()) cameraError(new Error("insecure"));
  $("#go").addEventListener("click", () => (state.phase === "live" || state.phase === "retrying" ? stopLive() : goLive()));
  $("#camera").addEventListener("change", () => startPreview().catch(cameraError));
  $("#microphone").addEventListener("change", () => startPreview().catch(cameraError));
  wireSaleControl();
  $("#show-key").addEventListener("click", () => {
    $("#obs-key").hidden = !$("#obs-key").hidden;
  });
  if (mediaSupported()) startPreview().catch(cameraError);
  channel = new LiveChannel({
    sid,
    useWs: Boolean(state.config.features.live_ws),
    // Staff sign in on the socket with a first message, not in the URL (logs keep URLs).
    hello: () => ({ type: "auth", token: getToken() }),
    onEvent,
    poll: reload,
    pollMs: 4000,
  }).start();
  $("#chat-box").hidden = !state.config.features.live_ws;
  loadOrders();
  loadIntents();
  window.addEventListener("langchange", () => {
    renderSession();
    setPhase(state.phase);
    restream.rerender();
  });
  window.addEventListener("pagehide", () => state.pub && state.pub.close());
  document.body.dataset.ready = "1";
}

main();
