/* datasette-cattags: the gallery as a photo tool, in small ES modules with
   no build step; every page works without them (the forms post as they
   are). Adds: selection (click, Shift-click for a range, Space, arrows, Esc,
   None), "Select all" that match the page's filters across pages (bounded),
   "Select similar", a look-alike group selected from the panel, drag and
   drop onto folders, keys 1-9 for the folders last moved into, a "Move
   to..." sheet on phones, moves and undo without a reload, a toast with
   Undo, zoom remembered in the browser, the facets in a collapsible panel,
   and Left/Right for the previous and next picture on a picture page. */
import { choosing } from "./choosing.js";
import { $, $$, modified, typing } from "./dom.js";
import { dragging } from "./dragging.js";
import { facetPanel } from "./facets.js";
import { folderKeys, showKeys } from "./keys.js";
import { mover } from "./moving.js";
import { picture } from "./picture.js";
import { selection } from "./selection.js";
import { moveSheet } from "./sheet.js";
import { toaster } from "./toast.js";
import { folderTree } from "./tree.js";
import { zoom } from "./zoom.js";

// 1-9 move the selection to the folder of that number; Esc closes the
// sheet, or clears the selection.
function shortcuts(parts, sheet) {
  const { selected, keys, move, toast } = parts;
  document.addEventListener("keydown", (event) => {
    if (typing(event) || modified(event)) return;
    if (event.key === "Escape") { if (sheet.isOpen()) sheet.close(); else selected.clear(); return; }
    if (!/^[1-9]$/.test(event.key) || (event.target && event.target.tagName === "SELECT")) return;
    const folder = keys.list()[Number(event.key) - 1];
    event.preventDefault();
    if (folder === undefined) toast("No folder has the number " + event.key + " yet: move pictures into a folder first", true);
    else move(selected.ids(), folder);
  });
}

function gallery(form) {
  document.documentElement.classList.add("cattags-js-on");
  $$(".cattags-js", form).forEach((node) => { node.hidden = false; });
  facetPanel(form);
  zoom(form);
  if (!$(".cattags-selected", form)) return;  // nobody may move pictures here: the grid is links
  const grid = $(".cattags-grid", form);
  const tree = folderTree($(".cattags-tree", form));
  const tableUrl = tree.element.getAttribute("data-table-url");
  const parts = { selected: selection(form, grid), tree, keys: folderKeys(tableUrl), toast: toaster(form) };
  parts.move = mover(form, grid, parts).move;
  choosing(form, parts.selected, parts.toast, tableUrl);
  dragging(form, grid, parts);
  shortcuts(parts, moveSheet(form, parts));
  showKeys(tree, parts.keys.list());
  parts.selected.update();
}

function start() {
  const page = $(".cattags-picture");
  if (page) { picture(page); return; }
  const form = $("form.cattags-gallery");
  if (form) gallery(form);
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
