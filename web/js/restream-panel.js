// The studio's restream panel: RTMP/RTMPS destinations of the session, their live state,
// and the text to paste in the platforms' description (no overlay: video is not re-encoded).
import { ApiError, api } from "./api.js";
import { $, fill, h, say } from "./dom.js";
import { t } from "./i18n.js";
import { canPublishH264 } from "./media.js";
import "./strings-restream.js";

const POLL_MS = 3000;
const NEEDS_H264 = /^restreaming needs H\.264 video; this publisher sends (.+)$/;

export function initRestream(sid, box) {
  const path = `/api/sessions/${sid}/restream`;
  let rows = [];
  let staff = null;
  let saving = false;
  let version = 0; // bumped by every save, so a poll answered after it is dropped

  function errorText(row) {
    const needs = row.error && NEEDS_H264.exec(row.error);
    if (needs) return t("restream_needs_h264", { codec: needs[1] });
    return row.error || "";
  }

  function render() {
    const list = $("#restream-list", box);
    $("#restream-none", box).hidden = rows.length > 0;
    fill(
      list,
      rows.map((row, i) =>
        h(
          "li",
          { class: "restream-row" },
          h(
            "label",
            { class: "restream-toggle" },
            h("input", {
              type: "checkbox",
              checked: row.enabled,
              disabled: saving,
              on: { change: (e) => save(rows.map((r, j) => (j === i ? { ...r, enabled: e.target.checked } : r))) },
            }),
            ` ${t("restream_enabled")}`,
          ),
          h("code", { class: "restream-url", text: row.url }),
          h("span", { class: "chip restream-state", dataset: { status: row.state }, text: t(`restream_state_${row.state}`) }),
          h("button", {
            class: "btn btn-tiny",
            type: "button",
            disabled: saving,
            text: t("restream_remove"),
            attrs: { "aria-label": `${t("restream_remove")} ${row.url}` },
            on: { click: () => save(rows.filter((_, j) => j !== i)) },
          }),
          row.state === "error" ? h("p", { class: "note restream-error", dataset: { kind: "error" }, text: errorText(row) }) : null,
        ),
      ),
    );
    $("#restream-add button[type=submit]", box).disabled = saving;
    renderH264Notes();
  }

  function renderH264Notes() {
    const h264 = canPublishH264();
    const note = $("#restream-h264", box);
    note.hidden = h264;
    if (!h264) {
      const lines = [t("hls_needs_h264")];
      if (rows.some((r) => r.enabled)) lines.push(t("restream_no_h264"));
      note.textContent = lines.join(" ");
    }
  }

  function describe(session) {
    staff = session || staff;
    if (!staff) return;
    const offers = staff.offers || [];
    const codes = offers.map((o) => o.code).filter(Boolean);
    const link = new URL(`/live/${sid}`, location.href).href;
    const lines = [t("restream_text", { link, code: codes[0] || "VL5" })];
    if (codes.length) lines.push(t("restream_codes", { codes: codes.join(", ") }));
    $("#restream-text", box).value = lines.join("\n");
  }

  async function save(next) {
    saving = true;
    version += 1;
    render();
    try {
      rows = await api(path, {
        method: "PUT",
        auth: true,
        body: next.map((r) => ({ url: r.url, enabled: r.enabled })),
      });
      say($("#restream-note", box), t("restream_saved"), "ok");
      return true;
    } catch (err) {
      const message = err instanceof ApiError && err.message ? err.message : t("err_load");
      say($("#restream-note", box), t("restream_bad_url", { message }), "error");
      return false;
    } finally {
      saving = false;
      render();
    }
  }

  async function refresh() {
    if (saving || document.hidden) return;
    const asked = version;
    try {
      const fresh = await api(path, { auth: true });
      if (!saving && asked === version) {
        rows = fresh;
        render();
      }
    } catch {
      // The next poll tries again; the page's own error line covers a lost session.
    }
  }

  $("#restream-add", box).addEventListener("submit", async (e) => {
    e.preventDefault();
    const input = $("#restream-new", box);
    const url = input.value.trim();
    if (!url || saving) return;
    if (await save([...rows, { url, enabled: true }])) input.value = "";
  });
  $("#restream-copy", box).addEventListener("click", async () => {
    const text = $("#restream-text", box);
    try {
      await navigator.clipboard.writeText(text.value);
    } catch {
      text.select();
    }
    say($("#restream-note", box), t("restream_copied"), "ok");
  });
  box.hidden = false;
  refresh();
  setInterval(refresh, POLL_MS);
  return {
    describe,
    rerender() {
      render();
      describe();
    },
  };
}
