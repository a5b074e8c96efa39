// WHIP (publish) and WHEP (watch) over plain fetch + RTCPeerConnection.
//
// The offer leaves as soon as it is created, with whatever candidates the browser has
// by then (usually none), and none follow by PATCH: the relay answers from an address
// the browser can reach, the browser's checks go there from each of its candidates as
// they are gathered, and the relay learns each one from those checks (peer-reflexive,
// RFC 8445 section 7.3.1.3). Waiting for ICE gathering to complete first cost every
// join ~0.1-0.15 s (bench/join.py), for candidates the relay could not use anyway: a
// viewer's host candidates are mDNS names, which the relay drops (stream/sdp.py).
import { ApiError } from "./api.js";

async function exchange(pc, url, headers) {
  await pc.setLocalDescription(await pc.createOffer());
  let response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/sdp", ...headers },
      body: pc.localDescription.sdp,
    });
  } catch (err) {
    throw new ApiError(0, "network", String(err && err.message));
  }
  const text = await response.text();
  if (response.status !== 201 && response.status !== 200) {
    let code = `http_${response.status}`;
    try {
      code = JSON.parse(text).error.code || code;
    } catch {
      // Not JSON: keep the status code.
    }
    throw new ApiError(response.status, code, text.slice(0, 200));
  }
  await pc.setRemoteDescription({ type: "answer", sdp: text });
  const location = response.headers.get("Location");
  return location ? new URL(location, new URL(url, window.location.href)).href : null;
}

/** DELETE the WHIP/WHEP resource; resolves when the server answered (or after 1.5 s). */
function release(location, headers) {
  if (!location) return Promise.resolve();
  const done = fetch(location, { method: "DELETE", headers, keepalive: true }).catch(() => {});
  return Promise.race([done, new Promise((resolve) => setTimeout(resolve, 1500))]);
}

/** Rank one codec first (the relay answers in the offer's order). */
function prefer(transceiver, pattern) {
  const caps = globalThis.RTCRtpReceiver?.getCapabilities?.("video");
  if (!caps || !transceiver.setCodecPreferences) return;
  const first = caps.codecs.filter((c) => pattern.test(c.mimeType));
  const rest = caps.codecs.filter((c) => !pattern.test(c.mimeType));
  if (first.length) transceiver.setCodecPreferences([...first, ...rest]);
}

/** Whether this browser can send H.264, the only codec the relay's HLS carries. */
export function canPublishH264() {
  const caps = globalThis.RTCRtpSender?.getCapabilities?.("video");
  return Boolean(caps && caps.codecs.some((c) => /h264/i.test(c.mimeType)));
}

/** Light mode (`?light=1`): skip WebRTC and watch over HLS, for the weakest links. */
export function lightMode() {
  return new URLSearchParams(window.location.search).get("light") === "1";
}

/** Resolve once connected; reject if ICE fails or nothing connects within `ms`. */
function connected(pc, ms = 8000) {
  if (pc.connectionState === "connected") return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(), ms);
    const check = () => {
      if (pc.connectionState === "connected") done(resolve);
      else if (pc.connectionState === "failed" || pc.connectionState === "closed") fail();
    };
    const done = (fn) => {
      clearTimeout(timer);
      pc.removeEventListener("connectionstatechange", check);
      fn();
    };
    const fail = () => done(() => reject(new ApiError(0, "webrtc_failed", "no media path")));
    pc.addEventListener("connectionstatechange", check);
  });
}

/**
 * Watch a session. With audioOnly the offer has only an audio transceiver (weak links).
 * Returns {pc, stream, close()}.
 */
export async function watch(url, { audioOnly = false, iceServers = [], onState = () => {} } = {}) {
  if (lightMode()) throw new ApiError(0, "light_mode", "light mode watches over HLS");
  const pc = new RTCPeerConnection({ iceServers });
  const stream = new MediaStream();
  pc.addEventListener("track", (ev) => stream.addTrack(ev.track));
  pc.addEventListener("connectionstatechange", () => onState(pc.connectionState));
  pc.addTransceiver("audio", { direction: "recvonly" });
  if (!audioOnly) pc.addTransceiver("video", { direction: "recvonly" });
  let location = null;
  try {
    location = await exchange(pc, url, {});
    await connected(pc);
  } catch (err) {
    if (location) release(location, {});
    pc.close();
    throw err;
  }
  return {
    pc,
    stream,
    async close() {
      // Tell the server first: closing our side first makes it drop the resource itself.
      await release(location, {});
      pc.close();
    },
  };
}

/** Publish a camera/microphone stream with the session's stream key. Returns {pc, close()}. */
export async function publish(url, stream, streamKey, { iceServers = [], onState = () => {} } = {}) {
  const pc = new RTCPeerConnection({ iceServers });
  pc.addEventListener("connectionstatechange", () => onState(pc.connectionState));
  for (const track of stream.getTracks()) {
    const tr = pc.addTransceiver(track, { direction: "sendonly", streams: [stream] });
    // H.264 first: viewers get it as sent, and the relay can also serve it over HLS.
    if (track.kind === "video") prefer(tr, /h264/i);
  }
  const auth = { Authorization: `Bearer ${streamKey}` };
  let location = null;
  try {
    location = await exchange(pc, url, auth);
  } catch (err) {
    pc.close();
    throw err;
  }
  return {
    pc,
    async close() {
      await release(location, auth);
      pc.close();
    },
  };
}

// ---- HLS fallback ------------------------------------------------------------------------

const HLS_REASONS = new Set(["relay_full", "light_mode", "webrtc_failed", "network", "unavailable"]);
const HLS_JS = new URL("../vendor/hls.js/hls.light.min.js", import.meta.url).href;
let hlsLoading = null;

function loadHlsJs() {
  // A classic script from this origin (CSP: script-src 'self'), fetched only when needed.
  if (globalThis.Hls) return Promise.resolve(globalThis.Hls);
  hlsLoading ||= new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = HLS_JS;
    script.onload = () => resolve(globalThis.Hls);
    script.onerror = () => reject(new Error("hls.js failed to load"));
    document.head.append(script);
  });
  return hlsLoading;
}

/**
 * Play the session's HLS in `video` when WebRTC can't serve this viewer (relay full, no
 * media path, light mode). Resolves true once playing starts, false when HLS doesn't apply
 * (nothing to watch, no HLS for this stream). Returns {close()} as `video.hls`.
 */
export async function hlsFallback(err, video, url) {
  const reason = err && (err.code || (err.status >= 500 ? "unavailable" : ""));
  if (!HLS_REASONS.has(reason)) return false;
  try {
    const probe = await fetch(url, { cache: "no-store" });
    if (probe.status !== 200) return false;
  } catch {
    return false;
  }
  return playHls(video, url, { liveSyncDurationCount: 2 });
}

/**
 * Play an HLS playlist (live, or a finished recording: the replay) in `video`: hls.js
 * wherever Media Source Extensions exist (its live edge and recovery are the same
 * everywhere), the browser's own HLS only without them (iPhone Safari). `options` go to
 * hls.js. Resolves false when this browser can play neither; sets `video.hls = {close()}`.
 */
export async function playHls(video, url, options = {}) {
  video.srcObject = null;
  const mse = globalThis.MediaSource || globalThis.ManagedMediaSource;
  if (mse) {
    let Hls = null;
    try {
      Hls = await loadHlsJs();
    } catch {
      return false;
    }
    if (!Hls || !Hls.isSupported()) return false;
    // No worker: CSP allows no blob: scripts.
    const hls = new Hls({ enableWorker: false, ...options });
    hls.loadSource(url);
    hls.attachMedia(video);
    video.hls = { close: () => hls.destroy() };
  } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
    video.src = url;
    video.hls = { close: () => video.removeAttribute("src") };
  } else {
    return false;
  }
  video.play().catch(() => {});
  return true;
}
