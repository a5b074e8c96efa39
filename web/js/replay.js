// The replay of an ended session, on its own viewer page /live/{sid}: the kept HLS
// recording, its moments (each pin and price change, with its time) as a list that seeks,
// and the offer of the moment being watched, which the viewer page shows in its offer card
// (orderable while the host keeps the sale open). Loaded only for an ended session.
import { api } from "./api.js";
import { $, fill, h } from "./dom.js";
import { vnd } from "./format.js";
import { t } from "./i18n.js";
import { playHls } from "./media.js";

/** "4:05" / "1:02:03": a position in the recording. */
export function position(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const two = (n) => String(n).padStart(2, "0");
  const m = Math.floor(s / 60) % 60;
  return s >= 3600 ? `${Math.floor(s / 3600)}:${two(m)}:${two(s % 60)}` : `${m}:${two(s % 60)}`;
}

/**
 * One row per product shown: a price change and a pin of the same offer seconds apart
 * (the host changes the price, then shows it) are one row, with the price change's word.
 */
export function rows(moments) {
  const out = [];
  for (const m of moments) {
    const last = out[out.length - 1];
    if (last && last.offer_id === m.offer_id && m.t_s - last.t_s <= 5) {
      const price = m.price ?? last.price;
      const kind = last.kind === "price" || m.kind === "price" ? "price" : last.kind;
      out[out.length - 1] = { ...last, price, kind };
    } else {
      out.push(m);
    }
  }
  return out;
}

/** The moment being watched at `time`: the last one at or before it, else the first. */
function momentAt(moments, time) {
  let found = moments[0] || null;
  for (const m of moments) if (m.t_s <= time + 0.25) found = m;
  return found;
}

/**
 * Start the replay in `video`. Resolves null when there is none to play (no recording, or
 * a browser that plays no HLS): the page then stays as an ended live page. Otherwise
 * {offerId(), render()}: the offer of the current moment, and a re-render (language).
 * `onMoment(offerId)` is called whenever the current moment's offer changes.
 */
export async function startReplay({ sid, video, onMoment }) {
  let replay;
  try {
    replay = await api(`/api/sessions/${sid}/replay`);
  } catch {
    return null; // 404 no_replay (never streamed H.264, recordings off) or unreachable
  }
  const moments = rows((replay.moments || []).filter((m) => m.offer_id !== null));
  if (!(await playHls(video, replay.playlist, { startPosition: 0 }))) return null;
  video.controls = true; // a recording: the viewer seeks, pauses, turns the sound up
  let current = null;

  function setCurrent(moment) {
    if (moment === current) return;
    const before = current && current.offer_id;
    current = moment;
    render();
    if (moment && moment.offer_id !== before) onMoment(moment.offer_id);
  }

  function jump(moment) {
    video.currentTime = moment.t_s;
    video.play().catch(() => {});
    setCurrent(moment);
  }

  function render() {
    const box = $("#moments-box");
    box.hidden = moments.length === 0;
    fill(
      $("#moments"),
      moments.map((m) => {
        const now = m === current;
        const what = t(m.kind === "price" ? "moment_price" : "moment_pin", { price: vnd(m.price) });
        return h(
          "li",
          {},
          h(
            "button",
            {
              type: "button",
              class: `moment${now ? " is-now" : ""}`,
              attrs: now ? { "aria-current": "true" } : {},
              dataset: { t: String(m.t_s), offer: String(m.offer_id) },
              on: { click: () => jump(m) },
            },
            h(
              "span",
              { class: "moment-when" },
              h("span", { class: "moment-time num", text: position(m.t_s) }),
              now ? h("span", { class: "moment-now", text: t("moment_now") }) : null,
            ),
            h(
              "span",
              { class: "moment-body" },
              h("span", { class: "moment-title", text: m.title }),
              h("span", { class: "moment-sub", text: m.price === null || m.price === undefined ? "" : what }),
            ),
          ),
        );
      }),
    );
  }

  video.addEventListener("timeupdate", () => setCurrent(momentAt(moments, video.currentTime)));
  video.addEventListener("seeked", () => setCurrent(momentAt(moments, video.currentTime)));
  setCurrent(momentAt(moments, 0));
  render();
  return {
    offerId: () => (current ? current.offer_id : null),
    render,
  };
}
