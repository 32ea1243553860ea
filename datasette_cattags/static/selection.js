// Which pictures are selected: ticked on this page, or chosen on others
// (Select all, Select similar). Click, Shift-click for a range, Space,
// arrows to move, Shift-arrows to extend, Enter to open, "None" to clear.
import { $, $$ } from "./dom.js";

export function selection(form, grid) {
  const checks = $$(".cattags-check", grid);
  const counter = $(".cattags-selected", form);
  const onPage = Object.fromEntries(checks.map((box) => [box.value, box]));
  const state = { anchor: null, current: 0, elsewhere: {} };

  const api = {
    checks,
    ids: () => checks.filter((box) => box.checked).map((box) => box.value).concat(Object.keys(state.elsewhere)),
    seed: () => (state.anchor !== null ? checks[state.anchor] : null),
    update() {
      const count = api.ids().length;
      counter.textContent = count ? count.toLocaleString() + " selected" : "Tick pictures, then move them";
      grid.classList.toggle("cattags-selecting", count > 0);
    },
    add(ids) {
      ids.forEach((id) => { if (onPage[id]) onPage[id].checked = true; else state.elsewhere[id] = true; });
      api.update();
    },
    forgetElsewhere() { state.elsewhere = {}; },
    clear() { checks.forEach((box) => { box.checked = false; }); state.elsewhere = {}; api.update(); },
    tickRange(from, to) {
      const low = Math.max(0, Math.min(from, to)), high = Math.min(checks.length - 1, Math.max(from, to));
      for (let n = low; n <= high; n++) checks[n].checked = true;
      api.update();
    },
    focusOn(index) {
      checks[state.current].tabIndex = -1;
      state.current = Math.max(0, Math.min(checks.length - 1, index));
      checks[state.current].tabIndex = 0;
      checks[state.current].focus();
    },
  };
  clicking(grid, api, state);
  keyboard(grid, api, state);
  const none = $(".cattags-none", form);
  if (none) none.addEventListener("click", api.clear);
  return api;
}

// Shift-click: the range between the last picture clicked and this one.
function clicking(grid, api, state) {
  grid.addEventListener("click", (event) => {
    const label = event.target.closest(".cattags-frame");
    if (!label) return;
    const index = api.checks.indexOf(document.getElementById(label.getAttribute("for")));
    if (event.shiftKey && state.anchor !== null && state.anchor !== index) {
      event.preventDefault();
      api.tickRange(state.anchor, index);
      api.focusOn(index);
    } else {
      state.anchor = index;
    }
  });
  api.checks.forEach((box, index) => {
    box.addEventListener("change", () => { state.anchor = index; api.update(); });
  });
}

function perRow(checks) {
  const top = checks[0].closest(".cattags-cell").offsetTop;
  const n = checks.findIndex((box) => box.closest(".cattags-cell").offsetTop !== top);
  return Math.max(1, n < 0 ? checks.length : n);
}

function step(key, state, checks) {
  const row = perRow(checks);
  return { ArrowRight: 1, ArrowLeft: -1, ArrowDown: row, ArrowUp: -row, Home: -state.current, End: checks.length - 1 - state.current }[key];
}

// The grid is one Tab stop: arrows move between pictures, Space ticks, Enter
// opens (its "open" links leave the Tab order).
function keyboard(grid, api, state) {
  api.checks.forEach((box, index) => {
    box.tabIndex = index === 0 ? 0 : -1;
    box.addEventListener("focus", () => { api.checks[state.current].tabIndex = -1; state.current = index; box.tabIndex = 0; });
  });
  $$(".cattags-open", grid).forEach((link) => { link.tabIndex = -1; });
  grid.addEventListener("keydown", (event) => {
    if (!event.target.classList.contains("cattags-check")) return;
    if (event.key === "Enter") {
      event.preventDefault();
      const open = $(".cattags-open", event.target.closest(".cattags-cell"));
      if (open) location.href = open.href;
      return;
    }
    const by = step(event.key, state, api.checks);
    if (by === undefined) return;
    event.preventDefault();
    if (event.shiftKey) api.tickRange(state.current, state.current + by);
    api.focusOn(state.current + by);
  });
}
