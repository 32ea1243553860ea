// One picture's page: Left and Right for the previous and next picture, and
// moving this picture without a reload. After a move the page's details
// (folder, tags, earlier folders) come again from the server as it renders them.
import { $, modified, typing } from "./dom.js";
import { fetchPage, post } from "./server.js";
import { toaster } from "./toast.js";

function stepping(page) {
  document.addEventListener("keydown", (event) => {
    if (typing(event) || modified(event)) return;
    const link = { ArrowLeft: $(".cattags-prev", page), ArrowRight: $(".cattags-next", page) }[event.key];
    if (link) location.href = link.href;
  });
}

function refreshDetails(page) {
  return fetchPage(location.href).then((fresh) => {
    const details = $(".cattags-details", fresh);
    if (details) $(".cattags-details", page).replaceWith(details);
  });
}

export function picture(page) {
  stepping(page);
  const form = $(".cattags-move-one", page);
  if (!form) return;
  const toast = toaster(form);
  const id = $("input[name=image_id]", form).value;
  function done(answer, undo) {
    if (!answer.ok) { toast(answer.message, true); return; }
    const moved = (answer.moved || []).includes(id);
    (moved ? refreshDetails(page) : Promise.resolve()).then(() => toast(answer.message, false, moved ? undo : null));
  }
  function undo() { post(form.getAttribute("data-undo-url"), form, []).then((answer) => done(answer, null)); }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (event.submitter && event.submitter.classList.contains("cattags-undo")) { undo(); return; }
    post(form.getAttribute("action"), form, [["image_id", id], ["folder", $("input[name=folder]", form).value]])
      .then((answer) => done(answer, undo));
  });
}
