// The live channel: the session's WebSocket when the server has one, with polling as the
// fallback (and while reconnecting), so counters move even on a flaky link.

export class LiveChannel {
  /**
   * @param {object} o
   * @param {number} o.sid session id
   * @param {boolean} o.useWs whether the server has /ws/sessions/{sid}
   * @param {(ev: object) => void} o.onEvent each server event
   * @param {() => Promise<void>} o.poll refresh from the HTTP API
   * @param {(state: string) => void} [o.onState] "live" | "polling" | "reconnecting"
   * @param {() => object|null} [o.hello] the hello message sent on connect
   * @param {number} [o.pollMs]
   */
  constructor(o) {
    Object.assign(this, { pollMs: 2500, onState: () => {}, hello: () => null }, o);
    this.ws = null;
    this.retry = 0;
    this.timer = null;
    this.pollTimer = null;
    this.closed = false;
  }

  start() {
    if (this.useWs) this.connect();
    else this.startPolling();
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible" && !this.ws) this.pollNow();
    });
    return this;
  }

  connect() {
    if (this.closed) return;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${scheme}//${location.host}/ws/sessions/${this.sid}`);
    this.ws = ws;
    ws.addEventListener("open", () => {
      this.retry = 0;
      this.stopPolling();
      this.onState("live");
      const hello = this.hello();
      if (hello) ws.send(JSON.stringify(hello));
    });
    ws.addEventListener("message", (msg) => {
      let ev;
      try {
        ev = JSON.parse(msg.data);
      } catch {
        return;
      }
      if (ev && typeof ev.type === "string") this.onEvent(ev);
    });
    ws.addEventListener("close", () => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.closed) return;
      this.onState("reconnecting");
      this.startPolling();
      // Back off 1, 2, 4 ... 30 s with jitter so a restart is not a stampede.
      const delay = Math.min(30000, 1000 * 2 ** this.retry++) * (0.5 + Math.random() / 2);
      this.timer = setTimeout(() => this.connect(), delay);
    });
  }

  send(message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(message));
      return true;
    }
    return false;
  }

  get connected() {
    return Boolean(this.ws && this.ws.readyState === WebSocket.OPEN);
  }

  startPolling() {
    if (this.pollTimer) return;
    if (!this.useWs) this.onState("polling");
    const tick = async () => {
      if (document.visibilityState !== "hidden") await this.pollNow();
      if (this.pollTimer) this.pollTimer = setTimeout(tick, this.pollMs);
    };
    this.pollTimer = setTimeout(tick, this.pollMs);
  }

  stopPolling() {
    clearTimeout(this.pollTimer);
    this.pollTimer = null;
  }

  async pollNow() {
    try {
      await this.poll();
    } catch {
      // The next tick tries again; the page shows the last numbers it had.
    }
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    this.stopPolling();
    if (this.ws) this.ws.close();
  }
}
