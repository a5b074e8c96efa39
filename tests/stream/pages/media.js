// Minimal WHIP/WHEP clients: non-trickle, as the relay answers PATCH with 405.

function iceGatheringDone(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") resolve();
    });
  });
}

async function negotiate(pc, url, headers) {
  await pc.setLocalDescription(await pc.createOffer());
  await iceGatheringDone(pc);
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/sdp", ...headers },
    body: pc.localDescription.sdp,
  });
  if (response.status !== 201) {
    throw new Error(`${url} answered ${response.status}: ${await response.text()}`);
  }
  window.resource = response.headers.get("Location");
  await pc.setRemoteDescription({ type: "answer", sdp: await response.text() });
}

export async function publish(session, key) {
  const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
  document.getElementById("preview").srcObject = stream;
  const pc = new RTCPeerConnection();
  window.pc = pc;
  for (const track of stream.getTracks()) {
    pc.addTransceiver(track, { direction: "sendonly" });
  }
  await negotiate(pc, `/whip/${session}`, { Authorization: `Bearer ${key}` });
}

// `base`: the media server's origin when it is not the page's own (CORS).
export async function watch(session, video, base = "") {
  const pc = new RTCPeerConnection();
  window.pc = pc;
  pc.addTransceiver("audio", { direction: "recvonly" });
  pc.addTransceiver("video", { direction: "recvonly" });
  const stream = new MediaStream();
  pc.addEventListener("track", (event) => stream.addTrack(event.track));
  video.srcObject = stream;
  const count = () => {
    window.framesPainted += 1;
    video.requestVideoFrameCallback(count);
  };
  video.requestVideoFrameCallback(count);
  await negotiate(pc, `${base}/whep/${session}`, {});
}
