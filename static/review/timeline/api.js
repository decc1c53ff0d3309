// The platform API (webapp/review/api.py): JSON with the CSRF header, answers as {status, ok, data}.
// A 409 carries {detail, current}: the interval as it is now (null when it was deleted).
import {cfg} from "./store.js";

function csrf() {
  const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : "";
}

export function urlFor(name, id) { return cfg.urls[name].replace("/intervals/0/", "/intervals/" + id + "/"); }

export async function api(method, url, body) {
  const opts = {method, credentials: "same-origin", headers: {"Accept": "application/json", "X-CSRFToken": csrf()}};
  if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
  const r = await fetch(url, opts);
  const text = await r.text();
  let data = {};
  try { data = text ? JSON.parse(text) : {}; } catch (e) { data = {detail: text.slice(0, 200)}; }
  return {status: r.status, ok: r.ok, data};
}

// A person-readable reason from an error answer ({detail} or {field: [reasons]}).
export function errText(r) {
  const d = r.data || {};
  if (d.detail) return d.detail;
  const k = Object.keys(d)[0];
  return k ? k + ": " + [].concat(d[k]).join(" ") : "error " + r.status;
}
