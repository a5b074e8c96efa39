// /mat-khau#TOKEN: the one-time set-password link an admin sent. The token stays in the
// fragment (never in a request line or a log) and is posted in the body.
import { ApiError, api } from "./api.js";
import "./strings-staff.js";
import { $, say } from "./dom.js";
import { applyI18n, initLangSwitch, t } from "./i18n.js";

applyI18n();
initLangSwitch($("#lang-switch"));
const token = location.hash.slice(1);
history.replaceState(null, "", location.pathname); // out of the address bar and history
$("#pw-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const note = $("#pw-note");
  say(note, "");
  try {
    await api("/api/auth/set-password", { method: "POST", body: { token, password: $("#pw").value } });
    $("#pw-form").hidden = true;
    $("#pw-done").hidden = false;
  } catch (err) {
    const key = err instanceof ApiError && (err.status === 404 || err.status === 422) ? "link_invalid" : "err_load";
    say(note, t(key), "error");
  }
});
