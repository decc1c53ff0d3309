// Small helpers every module uses: DOM lookup, time formatting and parsing, alerts.
export function $(id) { return document.getElementById(id); }

export function fmt(t) {
  t = Math.max(0, t || 0);
  const h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), s = t - h * 3600 - m * 60;
  let ss = s.toFixed(1); if (s < 10) ss = "0" + ss;
  return (h ? h + ":" + String(m).padStart(2, "0") : String(m)) + ":" + ss;
}

// "1:02.5", "62.5", "1:00:02" -> seconds (NaN when it is none of these).
export function parseTime(text) {
  text = String(text).trim().replace(",", ".");
  if (!text) return NaN;
  if (/^\d+(\.\d+)?$/.test(text)) return parseFloat(text);
  const parts = text.split(":");
  if (parts.length > 3 || parts.some((p) => !/^\d+(\.\d+)?$/.test(p))) return NaN;
  return parts.reduce((acc, p) => acc * 60 + parseFloat(p), 0);
}

export function clamp(v, a, b) { return Math.max(a, Math.min(b, v)); }

export function bsearch(arr, t) {
  let lo = 0, hi = arr.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (arr[mid] < t) lo = mid + 1; else hi = mid; }
  return lo;
}

export function announce(text) { $("rv-live").textContent = text; }

let alertTimer = null;
export function showAlert(text) {
  const a = $("rv-alert"); a.textContent = text; a.hidden = false;
  clearTimeout(alertTimer); alertTimer = setTimeout(() => { a.hidden = true; }, 8000);
}
