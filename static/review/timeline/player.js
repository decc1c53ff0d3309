// The video element: seeking, the playhead (S.t), loop inside the selected interval, and the
// view following the playhead while playing.
import {S, emit} from "./store.js";
import {$, fmt, clamp, announce} from "./util.js";
import {el, setView} from "./geometry.js";

const video = el.video;

export function seek(t) {
  t = clamp(t, 0, S.duration);
  S.t = t;
  try { video.currentTime = t; } catch (e) { /* not ready yet */ }
  onTime();
}

function onTime() {
  S.t = video.currentTime || S.t;
  const sel = S.intervals.get(S.selected);
  if ($("rv-loop").checked && sel && !video.paused && (S.t >= sel.end_s || S.t < sel.start_s - 0.25)) {
    video.currentTime = S.t = sel.start_s;
  }
  $("rv-time").textContent = fmt(S.t);
  el.strip.setAttribute("aria-valuenow", S.t.toFixed(1));
  el.strip.setAttribute("aria-valuetext", fmt(S.t));
  if (!video.paused && (S.t > S.ve || S.t < S.vs)) {  // follow the playhead page by page
    const span = S.ve - S.vs; setView(S.t - span * 0.1, S.t + span * 0.9);
  }
  emit("draw"); emit("time");
}

function tick() { if (!video.paused) { onTime(); requestAnimationFrame(tick); } }

export function togglePlay() { if (video.paused) video.play().catch(() => {}); else video.pause(); }
export function pause() { video.pause(); }
// L: play, and again: faster
export function faster() {
  if (video.paused) { video.playbackRate = 1; video.play().catch(() => {}); }
  else video.playbackRate = Math.min(8, video.playbackRate * 2);
  $("rv-rate").value = String(video.playbackRate);
}

video.addEventListener("play", () => { $("rv-play").textContent = "Pause"; requestAnimationFrame(tick); });
video.addEventListener("pause", () => { $("rv-play").textContent = "Play"; onTime(); });
video.addEventListener("seeked", onTime);
video.addEventListener("timeupdate", onTime);
video.addEventListener("loadedmetadata", () => {
  if (!S.duration || S.duration <= 0.1) { S.duration = video.duration; setView(0, S.duration); }
  emit("resize");
});
$("rv-play").addEventListener("click", togglePlay);
$("rv-rate").addEventListener("change", function () { video.playbackRate = parseFloat(this.value); });
$("rv-loop").addEventListener("change", function () { announce(this.checked ? "Looping the selected interval" : "Loop off"); });
