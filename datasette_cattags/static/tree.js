// The folder panel. The server renders it, with the page and again in the
// answer to every move; the script only adds a folder someone names before
// anything is in it.
import { $$, el } from "./dom.js";

export function folderTree(tree) {
  const links = () => $$(".cattags-folder", tree);
  return {
    element: tree,
    folders: () => links().map((link) => link.getAttribute("data-folder")),
    link: (folder) => links().find((link) => link.getAttribute("data-folder") === folder),
    // A folder's name as the page spells it (the server's, for the top level).
    label: (folder) => folder || links().find((link) => link.getAttribute("data-folder") === "").textContent,
    replace(markup) {
      const added = $$("li[data-extra]", tree).map((item) => item.getAttribute("data-extra"));
      tree.innerHTML = markup;
      added.filter((folder) => !this.link(folder)).forEach((folder) => this.add(folder));
    },
    add(folder) {
      if (this.link(folder)) return;
      const item = el("li", { style: "--depth: " + folder.split("/").length, "data-extra": folder });
      const href = tree.getAttribute("data-folder-url") + encodeURIComponent(folder);
      item.appendChild(el("a", { "class": "cattags-folder", "data-folder": folder, href }, folder.split("/").pop()));
      tree.appendChild(item);
    },
  };
}
