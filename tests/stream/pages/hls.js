// Plays the session's HLS through the product's own fallback (web/js/media.js), as a
// viewer refused by a full relay would, and counts the frames painted.
import { hlsFallback } from "/web/js/media.js";

const params = new URLSearchParams(location.search);
const video = document.getElementById("player");
window.framesPainted = 0;
const count = () => {
  window.framesPainted += 1;
  video.requestVideoFrameCallback(count);
};
video.requestVideoFrameCallback(count);
window.result = hlsFallback(
  { code: "relay_full", status: 503 },
  video,
  `/hls/${params.get("session")}/index.m3u8`,
).then((started) => (started ? "ok" : "not started"), (error) => String(error));
