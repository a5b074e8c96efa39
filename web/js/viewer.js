// The viewer page /live/{sid}: video (WHEP), live tonnage, pinned offer, chat, ordering.
// Everything but the video works before (and without) the video. After the end, with a
// recording, the page is the replay (replay.js): the offer card follows the moment watched.
import { api, clientConfig, pathId, storeGet, storeSet } from "./api.js";
import { downloadIcs, icsEvent } from "./calendar.js";
import { $, fill, h, say, template } from "./dom.js";
import { count, dateTime, vnd, weight } from "./format.js";
import { applyI18n, initLangSwitch, t } from "./i18n.js";
import { LiveChannel } from "./live.js";
import { hlsFallback, watch } from "./media.js";
import { initOrderSheet, orderLink, savedOrders } from "./order-sheet.js";

const sid = pathId();
const NAME_KEY = "farmlive.name";
const AUDIO_KEY = "farmlive.audioOnly";
const CLIENT_KEY = `farmlive.client.${sid}`;
const FALLBACK_PHOTO = "/static/img/lychee.svg";
const CHAT_ERRORS = {
  muted: "chat_muted",
  banned: "chat_banned",
  rate_limited: "chat_slow",
  hello_first: "chat_offline",
};
// Why ordering is closed, by sale state: the bar says it in place of the button.
const SALE_NOTES = {
  scheduled: "sale_soon",
  paused: "sale_paused",
  closed: "sale_closed",
  ended: "live_ended",
};
const state = {
  session: null,
  lots: new Map(), // lot id -> figures
  seq: new Map(), // lot id -> last stock seq
  stream: null, // the relay's word: live | paused (dropped) | stopped (on purpose) | ended
  config: { features: {}, routes: [] },
  shownSold: 0,
  counted: false,
  shownLeft: 0,
  draft: null,
  myName: null, // the name the server echoed in its hello
  pendingChat: null, // the line sent and not yet seen back: it stays in the input till then
  photo: 0,
  unread: 0,
  replay: null, // replay.js's controller once an ended session's recording plays
};
let channel = null;
let sheet = null;
let media = null;
let mediaRetry = null;
let clock = null;
let audioOnly = storeGet(AUDIO_KEY, false) === true;

// ---- numbers ---------------------------------------------------------------------------
// "Sold" is this session's own orders (/stats, the ledger's fold): a lot's figures also
// count other sessions selling it. Between refreshes (20-30 s apart, spread so a big
// audience does not ask at once) the lots' live moves are added on.
const own = { sold: null, lotSold: 0, at: 0, busy: false, every: 20_000 + Math.random() * 10_000 };
function lotsSold() {
  let sold = 0;
  for (const lot of state.lots.values()) sold += lot.sold_grams + (lot.held_grams ?? 0);
  return sold;
}

function totals() {
  let lotSold = 0;
  let left = 0;
  let stock = 0;
  for (const lot of state.lots.values()) {
    lotSold += lot.sold_grams + (lot.held_grams ?? 0);
    left += lot.available_grams;
    stock += lot.stock_grams ?? lot.sold_grams + lot.held_grams + lot.available_grams;
  }
  // Only once the lots are known: the baseline (`own.lotSold`) is the lots' figure when the
  // stats arrive; taken from an empty page it would count every sale twice.
  if (state.lots.size > 0 && !own.busy && Date.now() - own.at > own.every) {
    own.busy = true;
    fetch(`/api/sessions/${sid}/stats`)
      .then((r) => (r.ok ? r.json() : null))
      .then((s) => {
        if (s) Object.assign(own, { sold: s.sold_grams, lotSold: lotsSold() });
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
  document.title = state.replay
    ? t("replay_page_title", { title: session.title })
    : `${session.title} — farmlive`;
  $("#title").textContent = session.title;
  renderStreamer();
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

/** loading | scheduled | open | paused | closed | ended: the session's status and its sale's. */
function saleState() {
  const s = state.session;
  if (!s) return "loading";
  // Ended: closed, unless the host kept the sale open for the replay (the server says
  // "open", or "paused" if it was paused at the end).
  if (s.status === "ended") return s.sale_status === "closed" ? "ended" : s.sale_status;
  if (s.status !== "live") return "scheduled";
  if (s.sale_status === "paused" || s.sale_status === "closed") return s.sale_status;
  return "open";
}

function saleOpen() {
  return saleState() === "open";
}

function renderStatus() {
  const sale = saleState();
  $("#live-badge").hidden = !state.session || state.session.status !== "live";
  $("#replay-badge").hidden = !state.replay;
  $("#replay-note").hidden = !(state.replay && sale === "open");
  const note = SALE_NOTES[sale];
  say($("#sale-note"), note ? t(note) : "", sale);
  $("#buy").hidden = Boolean(note);
  $("#buy").disabled = !saleOpen();
  $("#draft-confirm").disabled = !saleOpen();
  for (const b of document.querySelectorAll(".offer-pick")) b.disabled = !saleOpen();
  renderOverlay();
}

function renderStreamer() {
  const who = state.session && state.session.streamer;
  const el = $("#streamer");
  if (!who || !who.full_name) {
    fill(el);
    return;
  }
  const role = [who.position, who.organisation].filter(Boolean).join(", ");
  template(el, role ? t("streamer_role") : t("streamer"), {
    name: h("strong", { text: who.full_name }),
    role,
  });
  el.title = el.textContent;
}

function pinned() {
  const offers = state.session ? state.session.offers.filter((o) => o.active !== false) : [];
  const shown = state.replay ? state.replay.offerId() : state.session && state.session.pinned_offer_id;
  return offers.find((o) => o.id === shown) || offers[0] || null;
}

function renderOffer() {
  const o = pinned();
  // The card keeps its room while loading; only a session with no offer at all drops it.
  $("#offer").hidden = Boolean(state.session) && !o;
  if (!o) return;
  const lot = state.lots.get(o.lot_id);
  $("#offer-code").textContent = o.code ? t("offer_code", { code: o.code }) : "";
  $("#offer-title").textContent = o.title;
  $("#offer-title").title = o.title;
  $("#offer-pack").textContent = t("per_pack", { weight: weight(o.pack_grams) });
  $("#offer-price").textContent = vnd(o.price);
  $("#offer-limit").textContent = o.max_per_order ? t("max_per_order", { n: count(o.max_per_order) }) : "";
  if (lot) {
    const packs = Math.floor(lot.available_grams / o.pack_grams);
    $("#offer-stock").textContent =
      lot.available_grams > 0
        ? t("stock_left", { weight: weight(lot.available_grams), packs: count(packs) })
        : t("sold_out_short");
  }
  renderPhoto(o);
  renderOthers(o);
}

function renderOthers(o) {
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
            on: { click: () => openSheet(x.id) },
          },
          h("span", { text: x.title }),
          h("strong", { text: vnd(x.price) }),
        ),
      ),
    ),
  );
  $("#others-title").hidden = others.length === 0;
}

// ---- photos: `photos` (a list) or `photo`, each a URL or {url|src} or {variants: [...]} ---
function photoUrl(p) {
  if (typeof p === "string") return p;
  if (!p || typeof p !== "object") return null;
  const variants = p.variants || p.sizes;
  if (Array.isArray(variants) && variants.length) {
    // The card is 72-96 CSS px: the smallest variant that is sharp on a 2x screen.
    const sorted = [...variants].sort((a, b) => (a.width || 0) - (b.width || 0));
    return photoUrl(sorted.find((v) => (v.width || 0) >= 192) || sorted[sorted.length - 1]);
  }
  return p.url || p.src || null;
}

function offerPhotos(o) {
  const list = Array.isArray(o.photos) ? o.photos : o.photo ? [o.photo] : [];
  return list
    .map(photoUrl)
    .filter((u) => {
      try {
        return typeof u === "string" && /^https?:$/.test(new URL(u, location.href).protocol);
      } catch {
        return false;
      }
    });
}

function renderPhoto(o) {
  const photos = offerPhotos(o);
  const img = $("#offer-photo");
  const index = photos.length ? state.photo % photos.length : 0;
  const src = photos[index] || FALLBACK_PHOTO;
  if (img.getAttribute("src") !== src) img.src = src;
  img.alt = photos.length ? o.title : "";
  $("#offer-photo-btn").disabled = photos.length < 2;
  const chip = $("#photo-count");
  chip.hidden = photos.length < 2;
  chip.textContent = `${index + 1}/${photos.length}`;
}

// ---- live events -----------------------------------------------------------------------
function onEvent(ev) {
  switch (ev.type) {
    case "snapshot":
      onSnapshot(ev);
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
        state.photo = 0;
        renderOffer();
      }
      break;
    case "price":
      // A new price from now on: the card and an open order sheet show it at once.
      if (state.session) {
        const offers = (state.session.offers || []).map((o) =>
          o.id === ev.offer_id ? { ...o, price: ev.price } : o,
        );
        applySession({ ...state.session, offers });
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
    case "sale":
      if (state.session) state.session.sale_status = ev.sale_status;
      renderStatus();
      break;
    case "order.draft":
      showDraft(ev.draft || ev);
      break;
    case "hello":
      if (ev.name) state.myName = ev.name;
      break;
    case "error":
      onError(ev);
      break;
    default:
      break;
  }
}

function onSnapshot(ev) {
  if (ev.session) applySession({ ...state.session, ...ev.session });
  for (const lot of ev.lots || []) setLot(lot);
  renderCounter();
  renderOffer();
  fill($("#chat-list"));
  for (const msg of ev.chat || []) addChat(msg, false);
  if (ev.viewers !== undefined) renderViewers(ev.viewers);
  if (ev.client_id && !storeGet(CLIENT_KEY)) storeSet(CLIENT_KEY, ev.client_id);
  if (ev.stream_status) setStreamStatus(ev.stream_status, false);
}

function onError(ev) {
  // A refused line (too fast, muted) stays in the input so nothing typed is lost.
  state.pendingChat = null;
  const key = CHAT_ERRORS[ev.code];
  say($("#chat-note"), key ? t(key) : t("err_generic", { code: ev.code }), "error");
  if (ev.code === "banned") $("#chat-form").hidden = true;
}

// `status` events carry both the session's status (scheduled/live/ended, from staff) and the
// stream's (live/paused/stopped/ended, from the relay): a paused or stopped stream never
// closes the sale, so anything but "paused" is checked against the session itself.
function setStreamStatus(status, recheck = true) {
  state.stream = status;
  if (status === "live" && !media) {
    videoTries = 0;
    connectVideo();
  }
  if (recheck && status !== "paused") refresh().catch(() => {});
  renderStatus();
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

function addChat(msg, live = true) {
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
  if (!live) return;
  const input = $("#chat-input");
  if (state.pendingChat !== null && !msg.role && msg.name === (state.myName || chatName())) {
    // Our line came back from the room: now the input may be emptied.
    if (input.value.trim() === state.pendingChat) input.value = "";
    state.pendingChat = null;
  }
  if (!chatOpen()) {
    state.unread += 1;
    renderUnread();
  }
}

function showDraft(d) {
  const offer = state.session && state.session.offers.find((o) => o.id === d.offer_id);
  if (!offer || !d.quantity) return;
  const max = offer.max_per_order || d.quantity;
  const quantity = Math.min(d.quantity, max);
  state.draft = { offer_id: offer.id, quantity };
  const capped = quantity < d.quantity;
  $("#draft-text").textContent = t("draft_text", {
    qty: quantity,
    title: offer.title,
    weight: weight(capped ? offer.pack_grams * quantity : d.grams || offer.pack_grams * quantity),
    total: vnd(capped ? offer.price * quantity : d.total || offer.price * quantity),
  });
  const limit = $("#draft-limit");
  limit.hidden = !capped;
  limit.textContent = capped ? t("draft_capped", { max: count(max), asked: count(d.quantity) }) : "";
  $("#draft").hidden = false;
  setChatOpen(true);
  $("#draft-confirm").focus();
}

// ---- video -----------------------------------------------------------------------------
/** The overlay's headline and sub-line for what the video is (not) showing now. */
function overlayKeys() {
  if (state.replay) return ["", ""]; // a recording with its own controls
  const sale = saleState();
  if (sale === "ended" && !(media && media.connected)) return ["live_ended", "live_ended_sub"];
  if (sale === "scheduled" && !(media && media.connected)) return ["starts_soon", ""];
  if (state.stream === "paused") return ["tech_pause", "tech_pause_sub"];
  if (state.stream === "stopped") return ["stream_stopped", sale === "open" ? "stream_stopped_sub" : ""];
  if (state.stream === "ended" && !media) return ["stream_ended", ""];
  if (!media || !media.connected) return ["waiting_signal", ""];
  if (audioOnly) return ["audio_only_on", ""];
  return ["", ""];
}

function renderOverlay() {
  const video = $("#video");
  const overlay = $("#overlay");
  const [key, sub] = overlayKeys();
  overlay.hidden = !key;
  overlay.classList.toggle("paused", key === "tech_pause");
  overlay.classList.toggle("stopped", key === "stream_stopped");
  overlay.classList.toggle("ended", key === "live_ended");
  $("#overlay-text").textContent = key ? t(key) : "";
  $("#overlay-sub").textContent = sub ? t(sub) : "";
  $("#ended-link").hidden = key !== "live_ended";
  renderCountdown(key === "starts_soon");
  $("#unmute").hidden = !(((media && media.connected) || state.replay) && video.muted);
  const audio = $("#audio-only");
  // Before the start and after the end there is nothing to listen to: room for the clock.
  audio.hidden = Boolean(state.replay) || key === "starts_soon" || key === "live_ended";
  audio.setAttribute("aria-pressed", String(audioOnly));
  audio.textContent = audioOnly ? t("show_video") : t("audio_only");
}

/** When a scheduled session starts: a clock that ticks, the date, and "remind me". */
function renderCountdown(show) {
  const at = show && state.session.scheduled_at ? new Date(state.session.scheduled_at) : null;
  const valid = at && !Number.isNaN(at.getTime());
  $("#countdown").hidden = !valid;
  clearTimeout(clock);
  if (!valid) return;
  const left = at.getTime() - Date.now();
  $("#countdown-clock").textContent = left > 0 ? untilText(left) : t("starting_now");
  $("#countdown-at").textContent = t("starts_at", { when: dateTime(at) });
  $("#remind").hidden = left <= 0;
  clock = setTimeout(() => renderCountdown(saleState() === "scheduled"), 1000 - (Date.now() % 1000));
}

/** "2 ngày 03:04:05" / "03:04:05" for a duration in milliseconds. */
function untilText(ms) {
  const s = Math.floor(ms / 1000);
  const two = (n) => String(n).padStart(2, "0");
  const hms = `${two(Math.floor(s / 3600) % 24)}:${two(Math.floor(s / 60) % 60)}:${two(s % 60)}`;
  const days = Math.floor(s / 86400);
  return days > 0 ? t("days_and", { n: days, hms }) : hms;
}

function remindMe() {
  const s = state.session;
  const url = `${location.origin}/live/${sid}`;
  const text = icsEvent({
    uid: `session-${sid}@${location.host}`,
    start: new Date(s.scheduled_at),
    title: s.title,
    url,
    description: `${t("ics_description")} ${url}`,
    alarm: t("ics_alarm", { title: s.title }),
  });
  downloadIcs(text, `farmlive-${sid}.ics`);
}

let videoTries = 0;
function scheduleVideo() {
  // Thousands of phones wait on the same stream: back off (5 s .. 60 s, jittered). With the
  // live socket up and the stream known to be off, the "live" event brings us back sooner.
  clearTimeout(mediaRetry);
  const ms = Math.min(60000, 5000 * 2 ** Math.min(videoTries++, 4)) * (0.75 + Math.random() / 2);
  mediaRetry = setTimeout(connectVideo, ms);
}

/**
 * The one place the video starts: WHEP into the <video> today. A fallback (HLS for links
 * where WebRTC fails) plugs in here: it may set `video.src` instead of `srcObject`, and
 * must return {close()} and report "connected" / "failed" / "closed" through onState.
 */
async function startVideo(video, onState) {
  const base = state.config.media_url || "";
  const conn = await watch(`${base}/whep/${sid}`, {
    audioOnly,
    iceServers: state.config.ice_servers,
    onState,
  });
  video.srcObject = conn.stream;
  video.play().catch(() => {});
  return conn;
}

async function connectVideo() {
  clearTimeout(mediaRetry);
  if (state.replay) return; // the recording plays; no live video to (re)connect
  if (!state.config.features.whep || media || document.visibilityState === "hidden") {
    if (state.config.features.whep && !media) scheduleVideo();
    return;
  }
  const current = { connected: false, close: () => {} };
  media = current;
  renderOverlay();
  const onState = (s) => {
    if (media !== current) return;
    current.connected = s === "connected";
    if (s === "failed" || s === "closed" || s === "disconnected") {
      current.close();
      media = null;
      videoTries = 0;
      scheduleVideo();
    }
    renderOverlay();
  };
  try {
    const conn = await startVideo($("#video"), onState);
    if (media !== current) {
      conn.close();
      return;
    }
    current.close = conn.close;
    videoTries = 0;
  } catch (err) {
    if (media === current) media = null;
    // Relay full, no media path or light mode: HLS (media.js); not live yet: try again later.
    const base = state.config.media_url || "";
    if (!(await hlsFallback(err, $("#video"), `${base}/hls/${sid}/index.m3u8`))) scheduleVideo();
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

/** On phones chat is a panel over the page; on wide screens it is always open. */
function chatOpen() {
  return document.body.classList.contains("chat-open") || getComputedStyle($("#chat-toggle")).display === "none";
}

function setChatOpen(open) {
  document.body.classList.toggle("chat-open", open);
  $("#chat-toggle").setAttribute("aria-expanded", String(open));
  if (open) {
    state.unread = 0;
    renderUnread();
    const list = $("#chat-list");
    list.scrollTop = list.scrollHeight;
  }
}

function renderUnread() {
  const badge = $("#chat-unread");
  badge.hidden = state.unread === 0;
  badge.textContent = state.unread > 99 ? "99+" : String(state.unread);
}

function initChatPanel() {
  $("#chat-toggle").addEventListener("click", () => {
    const open = !document.body.classList.contains("chat-open");
    setChatOpen(open);
    if (open) (document.querySelector("#chat-form:not([hidden]) input, #name-form:not([hidden]) input") || $("#chat-close")).focus();
  });
  $("#chat-close").addEventListener("click", () => {
    setChatOpen(false);
    $("#chat-toggle").focus();
  });
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape" && document.body.classList.contains("chat-open") && !$("#sheet").open) {
      setChatOpen(false);
      $("#chat-toggle").focus();
    }
  });
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
      state.pendingChat = text; // emptied once the room echoes it, kept if refused
      say($("#chat-note"), "");
    } else {
      say($("#chat-note"), t("chat_offline"), "error");
    }
  });
}

// ---- ordering ------------------------------------------------------------------------------
function openSheet(offerId, quantity, options) {
  if (!saleOpen()) return;
  sheet.open(offerId, quantity, options);
  renderQtyHint();
}

/** Under the quantity: the offer's per-order limit, and a clear word when it was capped. */
function renderQtyHint(capped = false) {
  const offer = state.session.offers.find((o) => o.id === Number($("#f-offer").value));
  const max = offer && offer.max_per_order;
  say($("#qty-hint"), max ? t(capped ? "qty_capped" : "max_per_order", { n: count(max) }) : "", capped ? "error" : "");
}

function initOrdering() {
  const qty = $("#f-qty");
  qty.addEventListener("input", () => {
    const max = Number(qty.max) || 0;
    const capped = max > 0 && Number(qty.value) > max;
    if (capped) {
      qty.value = String(max);
      qty.dispatchEvent(new Event("input"));
    }
    renderQtyHint(capped);
  });
  $("#f-offer").addEventListener("change", () => renderQtyHint());
  // The sale can pause while the sheet is open: refuse here, before the server has to.
  $("#sheet").addEventListener(
    "submit",
    (ev) => {
      if (saleOpen()) return;
      ev.preventDefault();
      ev.stopPropagation();
      const key = saleState() === "paused" ? "err_sale_paused" : "err_session_not_live";
      say($("#form-error"), t(key), "error");
    },
    true,
  );
  $("#buy").addEventListener("click", () => openSheet(pinned() && pinned().id));
  $("#draft-confirm").addEventListener("click", () => {
    $("#draft").hidden = true;
    if (state.draft) openSheet(state.draft.offer_id, state.draft.quantity, { submit: true });
  });
  $("#draft-dismiss").addEventListener("click", () => {
    $("#draft").hidden = true;
  });
  $("#offer-photo-btn").addEventListener("click", () => {
    state.photo += 1;
    renderOffer();
  });
  $("#offer-photo").addEventListener("error", (ev) => {
    if (ev.target.getAttribute("src") !== FALLBACK_PHOTO) ev.target.src = FALLBACK_PHOTO;
  });
  $("#remind").addEventListener("click", remindMe);
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

function initControls() {
  $("#ended-link").href = `/minh-bach/${sid}`;
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
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && !media) connectVideo();
  });
  window.addEventListener("langchange", () => {
    layoutCounter();
    renderStreamer();
    renderOffer();
    renderStatus();
    renderMyOrders();
    state.replay?.render();
  });
}

/** An ended session with a recording: the replay instead of the live video and chat. */
async function startReplayPage() {
  const { startReplay } = await import("./replay.js");
  state.replay = await startReplay({
    sid,
    video: $("#video"),
    onMoment: () => {
      state.photo = 0;
      renderOffer();
    },
  });
  if (!state.replay) return false;
  document.title = t("replay_page_title", { title: state.session.title });
  $("#audio-only").hidden = true;
  document.body.classList.add("is-replay");
  $("#chat").hidden = true;
  $("#chat-toggle").hidden = true;
  // Wide screens: the moments take the chat's column; phones: right under the offer.
  const wide = matchMedia("(min-width: 960px)");
  const place = () => {
    if (wide.matches) $(".viewer-side").prepend($("#moments-box"));
    else $("#buy-bar").after($("#moments-box"));
  };
  wide.addEventListener("change", place);
  place();
  renderOffer();
  renderStatus();
  return true;
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
      $("#offer").hidden = true;
      $("#buy-bar").hidden = true;
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
  initOrdering();
  initControls();
  initChatPanel();
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
  const replaying = state.session.status === "ended" && (await startReplayPage().catch(() => false));
  if (!replaying) connectVideo();
  document.body.dataset.ready = "1";
}

main();
