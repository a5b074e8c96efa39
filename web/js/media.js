// WHIP (publish) and WHEP (watch) over plain fetch + RTCPeerConnection, non-trickle ICE.
import { ApiError } from "./api.js";

function gathered(pc, ms = 2500) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState === "complete") finish();
    };
    const finish = () => {
      pc.removeEventListener("icegatheringstatechange", done);
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(finish, ms);
    pc.addEventListener("icegatheringstatechange", done);
  });
}

async function exchange(pc, url, headers) {
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc);
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

/** Prefer VP8: the relay forwards without re-encoding and aiortc handles VP8 best. */
function preferVp8(transceiver) {
  const caps = globalThis.RTCRtpReceiver?.getCapabilities?.("video");
  if (!caps || !transceiver.setCodecPreferences) return;
  const vp8 = caps.codecs.filter((c) => /vp8/i.test(c.mimeType));
  const rest = caps.codecs.filter((c) => !/vp8/i.test(c.mimeType));
  if (vp8.length) transceiver.setCodecPreferences([...vp8, ...rest]);
}

/**
 * Watch a session. With audioOnly the offer has only an audio transceiver (weak links).
 * Returns {pc, stream, close()}.
 */
export async function watch(url, { audioOnly = false, iceServers = [], onState = () => {} } = {}) {
  const pc = new RTCPeerConnection({ iceServers });
  const stream = new MediaStream();
  pc.addEventListener("track", (ev) => stream.addTrack(ev.track));
  pc.addEventListener("connectionstatechange", () => onState(pc.connectionState));
  pc.addTransceiver("audio", { direction: "recvonly" });
  if (!audioOnly) preferVp8(pc.addTransceiver("video", { direction: "recvonly" }));
  let location = null;
  try {
    location = await exchange(pc, url, {});
  } catch (err) {
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
    if (track.kind === "video") preferVp8(tr);
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
