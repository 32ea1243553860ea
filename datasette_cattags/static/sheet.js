// Phones: "Move to..." opens a sheet of folders, the numbered ones first.
import { $, el } from "./dom.js";

function fill(list, numbered, others, label) {
  list.textContent = "";
  numbered.concat(others).forEach((folder, index) => {
    const button = el("button", { type: "button", "class": "cattags-sheet-folder", "data-folder": folder });
    if (index < numbered.length) button.appendChild(el("kbd", { "class": "cattags-key" }, String(index + 1)));
    button.appendChild(document.createTextNode(label(folder)));
    const item = el("li");
    item.appendChild(button);
    list.appendChild(item);
  });
}

export function moveSheet(form, parts) {
  const { selected, tree, keys, move, toast } = parts;
  const sheet = $(".cattags-sheet", form), opener = $(".cattags-sheet-open", form);
  if (!sheet || !opener) return { isOpen: () => false, close() {} };
  const close = () => { sheet.hidden = true; opener.focus(); };
  opener.addEventListener("click", () => {
    if (!selected.ids().length) { toast("Select pictures first (tap them)", true); return; }
    const numbered = keys.list();
    const others = tree.folders().filter((folder) => !numbered.includes(folder));
    fill($(".cattags-sheet-folders", sheet), numbered, others, tree.label);
    sheet.hidden = false;
    const first = $(".cattags-sheet-folder", sheet);
    if (first) first.focus();
  });
  $(".cattags-sheet-close", sheet).addEventListener("click", close);
  sheet.addEventListener("click", (event) => {
    const target = event.target.closest(".cattags-sheet-folder");
    if (!target) return;
    close();
    move(selected.ids(), target.getAttribute("data-folder"));
  });
  newFolderInSheet(sheet, selected, move, close);
  return { isOpen: () => !sheet.hidden, close };
}

function newFolderInSheet(sheet, selected, move, close) {
  const fresh = $(".cattags-sheet-new input", sheet);
  function moveToNew() {
    if (!fresh.value.trim()) { fresh.focus(); return; }
    close();
    move(selected.ids(), fresh.value);
    fresh.value = "";
  }
  $(".cattags-sheet-new button", sheet).addEventListener("click", moveToNew);
  fresh.addEventListener("keydown", (event) => {
    if (event.key === "Enter") { event.preventDefault(); moveToNew(); }
  });
}
