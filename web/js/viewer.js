// The viewer page /live/{sid}: video (WHEP), live tonnage, pinned offer, chat, ordering.
// Everything but the video works before (and without) the video.
import { api, clientConfig, pathId, storeGet, storeSet } from "./api.js";
import { $, fill, h, say, template } from "./dom.js";
import { count, vnd, weight } from "./format.js";
import { applyI18n, initLangSwitch, t } from "./i18n.js";
import { LiveChannel } from "./live.js";
import { watch } from "./media.js";
import { initOrderSheet, orderLink, savedOrders } from "./order-sheet.js";

const sid = pathId();
const NAME_KEY = "farmlive.name";
const AUDIO_KEY = "farmlive.audioOnly";
const CLIENT_KEY = `farmlive.client.${sid}`;
const CHAT_ERRORS = {
  muted: "chat_muted",
  banned: "chat_banned",
  rate_limited: "chat_slow",
  hello_first: "chat_offline",
};
const state = {
  session: null,
  lots: new Map(), // lot id -> figures
  seq: new Map(), // lot id -> last stock seq
  paused: false,
  streamEnded: false,
  config: { features: {}, routes: [] },
  shownSold: 0,
  counted: false,
  shownLeft: 0,
  draft: null,
};
let channel = null;
let sheet = null;
let media = null;
let mediaRetry = null;
let audioOnly = storeGet(AUDIO_KEY, false) === true;

// ---- numbers ---------------------------------------------------------------------------
// "Sold" is this session's own orders (/stats, the ledger's fold): a lot's figures also
// count other sessions selling it. Between refreshes (20-30 s apart, spread so a big
// audience does not ask at once) the lots' live moves are added on.
const own = { sold: null, lotSold: 0, at: 0, busy: false, every: 20_000 + Math.random() * 10_000 };
function totals() {
  let lotSold = 0;
  let left = 0;
  let stock = 0;
  for (const lot of state.lots.values()) {
    lotSold += lot.sold_grams + (lot.held_grams ?? 0);
    left += lot.available_grams;
    stock += lot.stock_grams ?? lot.sold_grams + lot.held_grams + lot.available_grams;
  }
  if (!own.busy && Date.now() - own.at > own.every) {
    own.busy = true;
    fetch(`/api/sessions/${sid}/stats`)
      .then((r) => (r.ok ? r.json() : null))
      .then((s) => {
        if (s) Object.assign(own, { sold: s.sold_grams, lotSold });
      })
      .catch(() => {})
      .finally(() => {
        Object.assign(own, { at: Date.now(), busy: false });
        if (own.sold !== null) renderCounter(false);
      });
  }
  const sold = own.sold === null ? lotSold : Math.max(0, own.sold + lotSold - own.lotSold);
  return { sold, left, stock };
}

let anim = null;
function renderCounter(animate = true) {
  const { sold, left, stock } = totals();
  const from = { sold: state.shownSold, left: state.shownLeft };
  const bar = $("#bar");
  bar.max = Math.max(stock, 1);
  bar.value = sold;
  const reduce = matchMedia("(prefers-reduced-motion: reduce)").matches;
  cancelAnimationFrame(anim);
  const paint = (s, l) => {
    $("#sold").textContent = weight(s);
    $("#left").textContent = weight(l);
  };
  // The first figures are painted as they are: counting up from zero would be a lie.
  const first = !state.counted && state.lots.size > 0;
  if (state.lots.size > 0) state.counted = true;
  if (!animate || reduce || first || (from.sold === sold && from.left === left)) {
    paint(sold, left);
    state.shownSold = sold;
    state.shownLeft = left;
    return;
  }
  $("#counter").classList.add("bump");
  const start = performance.now();
  const step = (now) => {
    const k = Math.min(1, (now - start) / 700);
    const e = 1 - (1 - k) ** 3;
    state.shownSold = Math.round(from.sold + (sold - from.sold) * e);
    state.shownLeft = Math.round(from.left + (left - from.left) * e);
    paint(state.shownSold, state.shownLeft);
    if (k < 1) anim = requestAnimationFrame(step);
    else $("#counter").classList.remove("bump");
  };
  anim = requestAnimationFrame(step);
}

function layoutCounter() {
  template($("#counter-line"), t("counter"), {
    sold: h("strong", { id: "sold", class: "num" }),
    left: h("strong", { id: "left", class: "num" }),
  });
  renderCounter(false);
}

// ---- session and offer -----------------------------------------------------------------
function applySession(session) {
  state.session = session;
  for (const lot of session.lots || []) setLot(lot);
  document.title = `${session.title} — farmlive`;
  $("#title").textContent = session.title;
  renderStatus();
  renderOffer();
  renderCounter();
  sheet?.refreshOffers();
}

function setLot(lot) {
  const id = lot.id ?? lot.lot_id;
  const known = state.lots.get(id) || {};
  if (lot.seq !== undefined) {
    if (lot.seq <= (state.seq.get(id) ?? -1)) return false;
    state.seq.set(id, lot.seq);
  }
  state.lots.set(id, { ...known, ...lot, id });
  return true;
}

function saleOpen() {
  return state.session && state.session.status === "live";
}

function renderStatus() {
  const status = state.session ? state.session.status : "";
  $("#live-badge").hidden = status !== "live";
  const note = $("#sale-note");
  if (status === "scheduled") say(note, t("sale_not_open"), "info");
  else if (status === "ended") say(note, t("sale_ended"), "info");
  else say(note, "");
  $("#buy").disabled = !saleOpen();
  for (const b of document.querySelectorAll(".offer-pick")) b.disabled = !saleOpen();
}

function pinned() {
  const offers = state.session ? state.session.offers.filter((o) => o.active !== false) : [];
  return offers.find((o) => o.id === state.session.pinned_offer_id) || offers[0] || null;
}

function renderOffer() {
  const o = pinned();
  $("#offer").hidden = !o;
  if (!o) return;
  const lot = state.lots.get(o.lot_id);
  $("#offer-code").textContent = o.code ? t("offer_code", { code: o.code }) : "";
  $("#offer-title").textContent = o.title;
  $("#offer-pack").textContent = t("pack_of", { weight: weight(o.pack_grams) });
  $("#offer-price").textContent = vnd(o.price);
  if (lot) {
    const packs = Math.floor(lot.available_grams / o.pack_grams);
    $("#offer-stock").textContent =
      lot.available_grams > 0
        ? t("stock_left", { weight: weight(lot.available_grams), packs: count(packs) })
        : t("sold_out_short");
  }
  const others = state.session.offers.filter((x) => x.active !== false && x.id !== o.id);
  fill(
    $("#offers"),
    others.map((x) =>
      h(
        "li",
        {},
        h(
          "button",
          {
            type: "button",
            class: "btn offer-pick",
            disabled: !saleOpen(),
            on: { click: () => sheet.open(x.id) },
          },
          h("span", { text: x.title }),
          h("strong", { text: vnd(x.price) }),
        ),
      ),
    ),
  );
  $("#others-title").hidden = others.length === 0;
}

// ---- live events -----------------------------------------------------------------------
function onEvent(ev) {
  switch (ev.type) {
    case "snapshot":
      if (ev.session) applySession({ ...state.session, ...ev.session });
      for (const lot of ev.lots || []) setLot(lot);
      renderCounter();
      renderOffer();
      fill($("#chat-list"));
      for (const msg of ev.chat || []) addChat(msg);
      if (ev.viewers !== undefined) renderViewers(ev.viewers);
      if (ev.client_id && !storeGet(CLIENT_KEY)) storeSet(CLIENT_KEY, ev.client_id);
      if (ev.stream_status) setStreamStatus(ev.stream_status, false);
      break;
    case "stock":
      if (setLot(ev)) {
        renderCounter();
        renderOffer();
      }
      break;
    case "chat":
      addChat(ev);
      break;
    case "chat.deleted":
      document.querySelector(`#chat-list [data-id="${CSS.escape(String(ev.id))}"]`)?.remove();
      break;
    case "pin":
      if (state.session) {
        state.session.pinned_offer_id = ev.offer_id;
        renderOffer();
      }
      break;
    case "viewers":
      renderViewers(ev.count);
      break;
    case "order":
      addTicker(ev.text);
      break;
    case "status":
      setStreamStatus(ev.status);
      break;
    case "order.draft":
      showDraft(ev.draft || ev);
      break;
    case "error":
      say($("#chat-note"), CHAT_ERRORS[ev.code] ? t(CHAT_ERRORS[ev.code]) : t("err_generic", { code: ev.code }), "error");
      if (ev.code === "banned") $("#chat-form").hidden = true;
      break;
    default:
      break;
  }
}

// `status` events carry both the sale's status (scheduled/live/ended, from staff) and the
// stream's (live/paused/ended, from the relay): a paused or ended stream never closes the
// sale, so anything but "paused" is checked against the session itself.
function setStreamStatus(status, recheck = true) {
  state.paused = status === "paused";
  state.streamEnded = status === "ended";
  if (status === "live" && !media) {
    videoTries = 0;
    connectVideo();
  }
  if (recheck && status !== "paused") refresh().catch(() => {});
  renderStatus();
  renderOverlay();
}

function renderViewers(n) {
  $("#viewers").textContent = t("viewers", { n: count(n) });
}

function addTicker(text) {
  const list = $("#ticker");
  list.prepend(h("li", { text }));
  while (list.children.length > 3) list.lastChild.remove();
  $("#ticker-box").hidden = false;
}

function addChat(msg) {
  const list = $("#chat-list");
  const near = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  list.append(
    h(
      "li",
      { dataset: { id: String(msg.id ?? "") } },
      h("span", { class: "chat-name", text: msg.name || t("guest") }),
      msg.role ? h("span", { class: "chip chip-staff", text: t("staff_badge") }) : null,
      h("span", { class: "chat-text", text: msg.text }),
    ),
  );
  while (list.children.length > 120) list.firstChild.remove();
  if (near) list.scrollTop = list.scrollHeight;
}

function showDraft(d) {
  const offer = state.session && state.session.offers.find((o) => o.id === d.offer_id);
  if (!offer || !d.quantity) return;
  state.draft = { offer_id: offer.id, quantity: d.quantity };
  const grams = d.grams || offer.pack_grams * d.quantity;
  $("#draft-text").textContent = t("draft_text", {
    qty: d.quantity,
    title: offer.title,
    weight: weight(grams),
    total: vnd(d.total || offer.price * d.quantity),
  });
  $("#draft").hidden = false;
  $("#draft-confirm").focus();
}

// ---- video -----------------------------------------------------------------------------
function renderOverlay() {
  const video = $("#video");
  const overlay = $("#overlay");
  let key = "";
  if (state.paused) key = "tech_pause";
  else if ((state.streamEnded || (state.session && state.session.status === "ended")) && !media) {
    key = "stream_ended";
  }
  else if (!media || !media.connected) key = "waiting_signal";
  else if (audioOnly) key = "audio_only_on";
  overlay.hidden = !key;
  overlay.classList.toggle("paused", key === "tech_pause");
  $("#overlay-text").textContent = key ? t(key) : "";
  $("#overlay-sub").textContent = key === "tech_pause" ? t("tech_pause_sub") : "";
  $("#unmute").hidden = !(media && media.connected && video.muted);
  const audio = $("#audio-only");
  audio.setAttribute("aria-pressed", String(audioOnly));
  audio.textContent = audioOnly ? t("show_video") : t("audio_only");
}

let videoTries = 0;
function scheduleVideo() {
  // Thousands of phones wait on the same stream: back off (5 s .. 60 s, jittered). With the
  // live socket up and the stream known to be off, the "live" event brings us back sooner.
  clearTimeout(mediaRetry);
  const ms = Math.min(60000, 5000 * 2 ** Math.min(videoTries++, 4)) * (0.75 + Math.random() / 2);
  mediaRetry = setTimeout(connectVideo, ms);
}

async function connectVideo() {
  clearTimeout(mediaRetry);
  if (!state.config.features.whep || media || document.visibilityState === "hidden") {
    if (state.config.features.whep && !media) scheduleVideo();
    return;
  }
  const base = state.config.media_url || "";
  const current = { connected: false, close: () => {} };
  media = current;
  renderOverlay();
  try {
    const conn = await watch(`${base}/whep/${sid}`, {
      audioOnly,
      iceServers: state.config.ice_servers,
      onState: (s) => {
        if (media !== current) return;
        current.connected = s === "connected";
        if (s === "failed" || s === "closed" || s === "disconnected") {
          current.close();
          media = null;
          videoTries = 0;
          scheduleVideo();
        }
        renderOverlay();
      },
    });
    if (media !== current) {
      conn.close();
      return;
    }
    current.close = conn.close;
    videoTries = 0;
    const video = $("#video");
    video.srcObject = conn.stream;
    video.play().catch(() => {});
  } catch {
    if (media === current) media = null;
    // No publisher yet (404 not_live) or the relay is busy: wait and try again.
    scheduleVideo();
  }
  renderOverlay();
}

function restartVideo() {
  if (media) media.close();
  media = null;
  connectVideo();
}

// ---- chat ------------------------------------------------------------------------------
function chatName() {
  return storeGet(NAME_KEY, "") || (storeGet("farmlive.buyer") || {}).name || "";
}

function helloMessage(name) {
  // The server's client id survives reconnects, so a mute or ban cannot be shed by reloading.
  const id = storeGet(CLIENT_KEY);
  return id ? { type: "hello", name, client_id: id } : { type: "hello", name };
}

function initChat() {
  const form = $("#chat-form");
  const input = $("#chat-input");
  const nameForm = $("#name-form");
  if (!state.config.features.live_ws) {
    form.hidden = true;
    say($("#chat-note"), t("chat_unavailable"), "info");
    return;
  }
  const needName = () => !chatName();
  const sync = () => {
    nameForm.hidden = !needName();
    form.hidden = needName();
  };
  sync();
  nameForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const name = $("#name-input").value.trim();
    if (!name) return;
    storeSet(NAME_KEY, name);
    channel.send(helloMessage(name));
    sync();
    input.focus();
  });
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    if (channel.send({ type: "chat", text })) {
      input.value = "";
      say($("#chat-note"), "");
    } else {
      say($("#chat-note"), t("chat_offline"), "error");
    }
  });
}

// ---- my orders ---------------------------------------------------------------------------
function renderMyOrders() {
  const mine = savedOrders().filter((o) => o.sid === sid);
  $("#my-orders").hidden = mine.length === 0;
  fill(
    $("#my-orders-list"),
    mine.slice(0, 5).map((o) =>
      h("li", {}, h("a", { href: orderLink(o.id, o.token), text: t("order_short", { code: o.id.slice(0, 8).toUpperCase() }) })),
    ),
  );
}

// ---- start -------------------------------------------------------------------------------
async function refresh() {
  const session = await api(`/api/sessions/${sid}`);
  applySession(session);
}

async function main() {
  applyI18n();
  initLangSwitch($("#lang-switch"));
  layoutCounter();
  renderOverlay();
  if (!sid) {
    say($("#page-error"), t("session_not_found"), "error");
    return;
  }
  const [config] = await Promise.all([
    clientConfig(),
    refresh().catch((err) => {
      say($("#page-error"), err.status === 404 ? t("session_not_found") : t("err_load"), "error");
    }),
  ]);
  state.config = config;
  if (!state.session) return;
  sheet = initOrderSheet({
    sid,
    session: () => state.session,
    config,
    onOrdered: () => {
      renderMyOrders();
      refresh().catch(() => {});
    },
  });
  $("#buy").addEventListener("click", () => sheet.open(pinned() && pinned().id));
  $("#draft-confirm").addEventListener("click", () => {
    $("#draft").hidden = true;
    if (state.draft) sheet.open(state.draft.offer_id, state.draft.quantity, { submit: true });
  });
  $("#draft-dismiss").addEventListener("click", () => {
    $("#draft").hidden = true;
  });
  $("#unmute").addEventListener("click", () => {
    const video = $("#video");
    video.muted = false;
    video.play().catch(() => {});
    renderOverlay();
  });
  $("#audio-only").addEventListener("click", () => {
    audioOnly = !audioOnly;
    storeSet(AUDIO_KEY, audioOnly);
    restartVideo();
  });
  channel = new LiveChannel({
    sid,
    useWs: Boolean(config.features.live_ws),
    onEvent,
    poll: refresh,
    pollMs: 2000,
    onState: (s) => {
      $("#conn").hidden = s === "live" || s === "polling";
    },
    hello: () => (chatName() ? helloMessage(chatName()) : null),
  }).start();
  initChat();
  renderMyOrders();
  renderStatus();
  connectVideo();
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && !media) connectVideo();
  });
  window.addEventListener("langchange", () => {
    layoutCounter();
    renderOffer();
    renderStatus();
    renderOverlay();
    renderMyOrders();
  });
  document.body.dataset.ready = "1";
}

main();
