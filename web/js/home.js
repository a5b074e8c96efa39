// The landing page: live sessions first, with links to watch and to the public numbers.
import { api } from "./api.js";
import { $, fill, h, say } from "./dom.js";
import { applyI18n, initLangSwitch, t } from "./i18n.js";

const ORDER = { live: 0, scheduled: 1, ended: 2 };
let sessions = [];

function render() {
  const sorted = [...sessions].sort((a, b) => (ORDER[a.status] ?? 3) - (ORDER[b.status] ?? 3) || b.id - a.id);
  fill(
    $("#sessions"),
    sorted.length
      ? sorted.map((s) =>
          h(
            "li",
            { class: `session-card status-${s.status}` },
            h("span", { class: `chip chip-${s.status}`, text: t(`session_${s.status}`) }),
            h("h2", {}, h("a", { href: `/live/${s.id}`, text: s.title })),
            h(
              "p",
              { class: "links" },
              h("a", { class: "btn btn-primary", href: `/live/${s.id}`, text: s.status === "live" ? t("watch_buy") : t("open") }),
              h("a", { class: "btn", href: `/minh-bach/${s.id}`, text: t("transparency") }),
            ),
          ),
        )
      : h("li", { class: "muted", text: t("no_sessions") }),
  );
}

async function main() {
  applyI18n();
  initLangSwitch($("#lang-switch"));
  try {
    sessions = await api("/api/sessions");
  } catch {
    say($("#page-error"), t("err_load"), "error");
  }
  render();
  window.addEventListener("langchange", render);
  document.body.dataset.ready = "1";
}

main();
