// The admin page's own script (the Content-Security-Policy allows no inline script): counts
// down every hold's time to expiry once a second. The server's clock is the truth: the page
// carries the server's time when it was rendered (data-server-now-ms), and the countdown runs
// from it with the browser's clock, so a browser whose clock is off still counts right.
"use strict";

let offsetMs = 0;

function readServerTime() {
  const stamped = document.querySelector("[data-server-now-ms]");
  if (stamped) {
    offsetMs = Number(stamped.dataset.serverNowMs) - Date.now();
  }
}

function tick() {
  const now = Date.now() + offsetMs;
  for (const element of document.querySelectorAll("[data-expires-at-ms]")) {
    const left = Math.floor((Number(element.dataset.expiresAtMs) - now) / 1000);
    if (left <= 0) {
      element.textContent = "expired";
      continue;
    }
    const minutes = Math.floor(left / 60);
    const seconds = String(left % 60).padStart(2, "0");
    element.textContent = `${minutes}:${seconds}`;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  readServerTime();
  tick();
  setInterval(tick, 1000);
});
// A fetched fragment shows new holds: count them down at once (the offset stays the page's:
// the countdown runs on the browser's clock from the server's time at load).
document.addEventListener("htmx:afterSwap", tick);

// Live events: a paused list takes no new lines; a running one keeps the newest only.
document.addEventListener("htmx:sseBeforeMessage", (event) => {
  const pause = document.getElementById("pause-events");
  if (pause && pause.checked) {
    event.preventDefault();
  }
});
document.addEventListener("htmx:sseMessage", () => {
  const list = document.getElementById("events");
  while (list && list.children.length > 50) {
    list.lastElementChild.remove();
  }
});

// The day refreshes every second; a refresh while the operator aims at a button or picks a
// reason would replace the control under the pointer and lose the click. While the pointer
// moves or presses over the day's controls (and for a moment after), refreshes of the day are
// skipped, and one already on its way is not swapped in.
let dayHeldUntil = 0;

function holdDay(event) {
  if (event.target.closest && event.target.closest("#day table, #day form")) {
    dayHeldUntil = Date.now() + 1500;
  }
}

document.addEventListener("pointermove", holdDay);
document.addEventListener("pointerdown", holdDay);
document.addEventListener("focusin", holdDay);

function dayHeld(event) {
  const target = event.detail && event.detail.elt;
  if (!target || target.id !== "day") {
    return false;
  }
  const focused = document.activeElement;
  return Date.now() < dayHeldUntil || (focused && focused.closest && focused.closest("#day select"));
}

document.addEventListener("htmx:beforeRequest", (event) => {
  if (dayHeld(event)) {
    event.preventDefault();
  }
});
document.addEventListener("htmx:beforeSwap", (event) => {
  if (dayHeld(event)) {
    event.detail.shouldSwap = false;
  }
});
