// The toast: what just happened, with an Undo button when it can be undone.
import { $, el } from "./dom.js";

export function toaster(form) {
  const box = $(".cattags-toast", form);
  let timer = null;
  return function toast(message, isError, undo) {
    if (!box) return;
    box.textContent = "";
    box.classList.toggle("cattags-error", !!isError);
    box.appendChild(el("span", {}, message));
    if (undo) {
      const button = el("button", { type: "button" }, "Undo");
      button.addEventListener("click", () => { box.hidden = true; undo(); });
      box.appendChild(button);
    }
    box.hidden = false;
    clearTimeout(timer);
    timer = setTimeout(() => { box.hidden = true; }, isError ? 8000 : 6000);
  };
}
