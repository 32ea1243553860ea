// Zoom: 1x, 1.5x or 2x the stored thumbnail size, remembered in this browser.
import { $, $$, recall, remember } from "./dom.js";

const ZOOM_KEY = "cattags-zoom";

function setZoom(form, value) {
  form.style.setProperty("--zoom", value);
  $$(".cattags-zoom button", form).forEach((button) => {
    button.setAttribute("aria-pressed", button.getAttribute("data-zoom") === String(value) ? "true" : "false");
  });
}

export function zoom(form) {
  const stored = recall(ZOOM_KEY);
  if (stored && $(".cattags-zoom button[data-zoom='" + stored + "']", form)) setZoom(form, stored);
  $$(".cattags-zoom button", form).forEach((button) => {
    button.addEventListener("click", () => {
      const value = button.getAttribute("data-zoom");
      setZoom(form, value);
      remember(ZOOM_KEY, value);
    });
  });
}
