// Drag one picture, or the selection it belongs to, onto a folder; and
// folders named before anything is in them, to drop onto.
import { $, $$ } from "./dom.js";

export function dragging(form, grid, parts) {
  const { selected, tree, move, toast } = parts;
  let dragged = [];
  $$(".cattags-frame", grid).forEach((frame) => frame.setAttribute("draggable", "true"));
  grid.addEventListener("dragstart", (event) => {
    const cell = event.target.closest && event.target.closest(".cattags-cell");
    if (!cell) return;
    const box = $(".cattags-check", cell);
    dragged = box.checked ? selected.ids() : [box.value];
    dragged.forEach((id) => {
      const each = grid.querySelector(".cattags-cell[data-id='" + id + "']");
      if (each) each.classList.add("cattags-dragging");
    });
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged.join("\n"));
  });
  grid.addEventListener("dragend", () => $$(".cattags-dragging", grid).forEach((cell) => cell.classList.remove("cattags-dragging")));
  dropping(tree.element, () => dragged, (folder) => { const ids = dragged; dragged = []; move(ids, folder); });
  newFolder(form, tree, toast);
}

function dropping(panel, dragged, dropped) {
  const folderOf = (event) => event.target.closest && event.target.closest(".cattags-folder");
  panel.addEventListener("dragover", (event) => {
    const target = folderOf(event);
    if (!target || !dragged().length) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    $$(".cattags-drop", panel).forEach((node) => { if (node !== target) node.classList.remove("cattags-drop"); });
    target.classList.add("cattags-drop");
  });
  panel.addEventListener("dragleave", (event) => {
    const target = folderOf(event);
    if (target) target.classList.remove("cattags-drop");
  });
  panel.addEventListener("drop", (event) => {
    const target = folderOf(event);
    if (!target) return;
    event.preventDefault();
    target.classList.remove("cattags-drop");
    dropped(target.getAttribute("data-folder"));
  });
}

// A new folder to drop onto: it exists once something moves into it.
function newFolder(form, tree, toast) {
  const add = $(".cattags-add", form), name = $("#cattags-new", form);
  if (!add || !name) return;
  function added() {
    const path = name.value.trim().replace(/^\/+|\/+$/g, "");
    if (!path) return;
    tree.add(path);
    name.value = "";
    toast("Folder " + path + " added: drag pictures onto it", false);
  }
  add.addEventListener("click", added);
  name.addEventListener("keydown", (event) => {
    if (event.key === "Enter") { event.preventDefault(); added(); }
  });
}
