// /phien: a host's sessions. Create and schedule one; record who sells on screen; assign
// moderators; make offers on the lots the cooperatives attached (with a photo).
import { api } from "./api.js";
import { uploadPhoto } from "./photos.js";
import "./strings-staff.js";
import { $, fill, h, say } from "./dom.js";
import { dateTime, vnd, weight } from "./format.js";
import { applyI18n, initLangSwitch, t } from "./i18n.js";
import { initLogout, signedIn } from "./staff.js";

const state = { sessions: [], moderators: [], sid: null, session: null };

function renderList() {
  fill(
    $("#sessions"),
    state.sessions.map((s) =>
      h(
        "li",
        { dataset: { id: s.id } },
        h("a", { href: `/phien?sid=${s.id}`, text: s.title, on: { click: (ev) => { ev.preventDefault(); select(s.id); } } }),
        h("span", { class: `chip chip-${s.status}`, text: t(`session_${s.status}`) }),
      ),
    ),
  );
}

function renderDetail() {
  const s = state.session;
  $("#d-title").textContent = s.title;
  $("#d-status").textContent = t(`session_${s.status}`);
  $("#d-when").textContent = s.scheduled_at ? dateTime(s.scheduled_at) : "";
  $("#to-studio").href = `/studio/${s.id}`;
  $("#to-viewer").href = `/live/${s.id}`;
  if (s.streamer) {
    $("#st-name").value = s.streamer.full_name;
    $("#st-position").value = s.streamer.position || "";
    $("#st-org").value = s.streamer.organisation || "";
  }
  const byId = new Map(state.moderators.map((m) => [m.id, m]));
  fill(
    $("#mods"),
    s.moderator_ids.map((id) =>
      h(
        "li",
        {},
        h("span", { text: (byId.get(id) || {}).email || `#${id}` }),
        h("button", { class: "btn btn-tiny", type: "button", text: t("remove"), on: { click: () => removeModerator(id) } }),
      ),
    ),
  );
  fill(
    $("#mod-pick"),
    state.moderators.filter((m) => !s.moderator_ids.includes(m.id)).map((m) => h("option", { value: String(m.id), text: m.display_name || m.email })),
  );
  const attached = s.lots.filter((l) => s.attached_lot_ids.includes(l.id));
  $("#no-lots").hidden = attached.length > 0;
  $("#offer-form").hidden = attached.length === 0 || s.status === "ended";
  fill($("#lots"), attached.map((l) => h("li", {}, h("strong", { text: l.product }), h("span", { text: weight(l.available_grams) }))));
  fill($("#o-lot"), attached.map((l) => h("option", { value: String(l.id), text: l.product })));
  fill(
    $("#offers"),
    s.offers.map((o) =>
      h(
        "li",
        {},
        o.photos.length ? h("img", { class: "thumb", attrs: { src: o.photos[0].urls[Object.keys(o.photos[0].urls)[0]], alt: "" } }) : null,
        h("span", { text: `${o.code} · ${o.title}` }),
        h("strong", { text: vnd(o.price) }),
      ),
    ),
  );
}

async function select(sid) {
  state.sid = sid;
  history.replaceState(null, "", `/phien?sid=${sid}`);
  state.session = await api(`/api/sessions/${sid}/staff`, { auth: true });
  renderDetail();
  $("#detail").hidden = false;
}

async function refresh() {
  state.sessions = await api("/api/staff/sessions", { auth: true });
  renderList();
  if (state.sid) await select(state.sid);
}

async function removeModerator(id) {
  await api(`/api/sessions/${state.sid}/moderators/${id}`, { method: "DELETE", auth: true });
  await select(state.sid);
}

function wire() {
  $("#session-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const when = $("#s-when").value;
    const body = { title: $("#s-title").value.trim() };
    if (when) body.scheduled_at = new Date(when).toISOString();
    try {
      const created = await api("/api/sessions", { method: "POST", body, auth: true });
      ev.target.reset();
      state.sid = created.id;
      await refresh();
    } catch (err) {
      say($("#session-error"), t("err_generic", { code: err.code }), "error");
    }
  });
  $("#streamer-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = {
      full_name: $("#st-name").value.trim(),
      position: $("#st-position").value.trim() || null,
      organisation: $("#st-org").value.trim() || null,
      id_number: $("#st-id").value.trim().toUpperCase(),
    };
    try {
      await api(`/api/sessions/${state.sid}/streamer`, { method: "PUT", body, auth: true });
      say($("#streamer-note"), t("saved"), "ok");
      $("#st-id").value = "";
    } catch (err) {
      say($("#streamer-note"), t("err_generic", { code: err.code }), "error");
    }
  });
  $("#mod-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!$("#mod-pick").value) return;
    await api(`/api/sessions/${state.sid}/moderators`, { method: "POST", body: { user_id: Number($("#mod-pick").value) }, auth: true });
    await select(state.sid);
  });
  $("#offer-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const note = $("#offer-error");
    say(note, "");
    const body = {
      lot_id: Number($("#o-lot").value),
      title: $("#o-title").value.trim(),
      pack_grams: Math.round(Number($("#o-pack").value) * 1000),
      price: Math.round(Number($("#o-price").value)),
      max_per_order: Number($("#o-max").value) || 20,
    };
    try {
      const offer = await api(`/api/sessions/${state.sid}/offers`, { method: "POST", body, auth: true });
      const file = $("#o-photo").files[0];
      if (file) await uploadPhoto(`/api/offers/${offer.id}/photos`, file);
      ev.target.reset();
      await select(state.sid);
    } catch (err) {
      say(note, t("err_generic", { code: err.code }), "error");
    }
  });
}

async function main() {
  applyI18n();
  initLangSwitch($("#lang-switch"));
  const user = await signedIn();
  $("#who").textContent = user.email;
  initLogout($("#logout"));
  state.moderators = (await api("/api/users", { auth: true })).filter((u) => u.role === "moderator" && u.active);
  wire();
  const wanted = Number(new URLSearchParams(location.search).get("sid"));
  if (wanted) state.sid = wanted;
  await refresh();
  $("#host").hidden = false;
  document.body.dataset.ready = "1";
}

main().catch((err) => say($("#page-error"), t("err_generic", { code: err.code || "error" }), "error"));
