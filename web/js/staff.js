// Shared by the staff pages: sign-in form, the signed-in user, sign-out.
import { ApiError, api, getToken, login, setToken } from "./api.js";
import { $, say } from "./dom.js";
import { t } from "./i18n.js";

/** Resolve with the signed-in user, showing #login until someone signs in. */
export async function signedIn() {
  if (getToken()) {
    try {
      return await api("/api/auth/me", { auth: true });
    } catch {
      setToken(null);
    }
  }
  const section = $("#login");
  const form = $("#login-form");
  const note = $("#login-error");
  section.hidden = false;
  $("#login-email").focus();
  return new Promise((resolve) => {
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      say(note, "");
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        const user = await login($("#login-email").value.trim(), $("#login-password").value);
        section.hidden = true;
        resolve(user);
      } catch (err) {
        const key = err instanceof ApiError && err.status === 401 ? "err_login" : "err_load";
        say(note, t(key), "error");
        $("#login-password").select();
      } finally {
        button.disabled = false;
      }
    });
  });
}

export function initLogout(button) {
  button.hidden = false;
  button.addEventListener("click", () => {
    setToken(null);
    location.reload();
  });
}

/** Find a route in /api/client-config's list by method and a regex on its path. */
export function findRoute(routes, method, pattern) {
  const hit = (routes || []).find((r) => r.startsWith(`${method} `) && pattern.test(r.slice(method.length + 1)));
  return hit ? hit.slice(method.length + 1) : null;
}

/** Fill {placeholders} of a route path in order with the given values. */
export function routePath(path, ...values) {
  let i = 0;
  return path.replace(/\{[^}]+\}/g, () => encodeURIComponent(values[i++]));
}
