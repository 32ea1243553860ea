// Moving pictures to a folder and undoing it, without a reload: the
// server's answer brings each moved picture's chips and the folder panel,
// rendered as the page was.
import { $, el } from "./dom.js";
import { showKeys } from "./keys.js";
import { post } from "./server.js";

export function mover(form, grid, parts) {
  const { selected, tree, keys, toast } = parts;
  const folderField = $("input[name=folder]", form);
  const datalist = $("#cattags-folders", form);

  function apply(answer) {
    const query = new URLSearchParams(location.search);
    const shown = query.has("folder") ? query.get("folder") : null;  // a folder filter
    (answer.moved || []).forEach((id) => placed(grid, id, (answer.to || {})[id] || "", answer.captions[id], shown));
    if (answer.tree) tree.replace(answer.tree);
    if (datalist && answer.folders) {
      datalist.textContent = "";
      answer.folders.forEach((folder) => datalist.appendChild(el("option", { value: folder })));
    }
    selected.forgetElsewhere();
    showKeys(tree, keys.list());
    selected.update();
  }
  function undo() {
    post(form.getAttribute("data-undo-url"), form, []).then((answer) => {
      if (!answer.ok) { toast(answer.message, true); return; }
      apply(answer);
      toast(answer.message, false);
    });
  }
  function move(ids, folder) {
    if (!ids.length) { toast("Select pictures first (click them, Shift-click for a range)", true); return; }
    const fields = ids.map((id) => ["image_id", id]).concat([["folder", folder]]);
    post(form.getAttribute("action"), form, fields).then((answer) => {
      if (!answer.ok) { toast(answer.message, true); return; }
      const moved = (answer.moved || []).length > 0;
      if (moved) {
        keys.used(answer.folder);
        folderField.value = "";  // Enter again must not send the next selection there too
      }
      apply(answer);
      toast(answer.message, false, moved ? undo : null);
    });
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (event.submitter && event.submitter.classList.contains("cattags-undo")) undo();
    else move(selected.ids(), folderField.value);
  });
  return { move, undo };
}

// A moved picture's cell: its folder, its chips, unticked, and faded when
// the page lists another folder.
function placed(grid, id, folder, caption, shown) {
  const cell = grid.querySelector(".cattags-cell[data-id='" + id + "']");
  if (!cell) return;
  cell.setAttribute("data-folder", folder);
  const box = $(".cattags-check", cell);
  if (box) box.checked = false;
  cell.classList.toggle("cattags-moved", shown !== null && shown !== folder);
  if (caption !== undefined) $(".cattags-caption", cell).innerHTML = caption;
}
