// The studio's "keep selling after the end" switch: the replay page then still takes orders
// while stock lasts (PUT /api/sessions/{sid}/sale/after-end, host or admin, any time).
import { api } from "./api.js";
import { $, say } from "./dom.js";
import { t } from "./i18n.js";
import "./strings-sale-tools.js";

/** `onChanged()` reloads the session after a change; `render(session)` shows its state. */
export function initSaleAfterEnd(sid, { onChanged }) {
  const box = $("#after-end");
  const note = $("#after-end-note");
  let busy = false;

  box.addEventListener("change", async () => {
    if (busy) return;
    const open = box.checked;
    busy = true;
    box.disabled = true;
    say(note, "");
    try {
      await api(`/api/sessions/${sid}/sale/after-end`, { method: "PUT", auth: true, body: { open } });
      say(note, t(open ? "after_end_on" : "after_end_off"), "info");
      await onChanged();
    } catch (err) {
      box.checked = !open; // nothing changed on the server: show what is true
      say(note, t("err_generic", { code: err.code }), "error");
    } finally {
      busy = false;
      box.disabled = false;
    }
  });

  return {
    render(session) {
      if (!busy) box.checked = Boolean(session.sale_after_end);
    },
  };
}

/** The end dialog's sentence: whether the sale stays open on the replay after the end. */
export function endDialogText(session) {
  return session.sale_after_end ? t("end_dialog_text_replay") : `${t("end_dialog_text")} ${t("end_dialog_sale_closes")}`;
}
