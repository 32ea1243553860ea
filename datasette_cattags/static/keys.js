// Keys 1-9 for the folders last moved into, kept in this browser. A folder
// keeps its number while it stays among the nine last used; a new one takes
// the number of the one used longest ago.
import { $$, el, recall, remember } from "./dom.js";

const KEYS_KEY = "cattags-keys:";  // + the table's URL
const FOLDER_KEYS = 9;

function read(name) {
  try {
    const stored = JSON.parse(recall(name) || "[]");
    return Array.isArray(stored) ? stored.filter((key) => key && typeof key.folder === "string") : [];
  } catch (error) {
    return [];  // spoilt: no keys yet
  }
}

function use(keys, folder) {
  const now = Date.now();
  const known = keys.find((key) => key.folder === folder);
  if (known) known.at = now;
  else if (keys.length < FOLDER_KEYS) keys.push({ folder, at: now });
  else Object.assign(keys.reduce((a, b) => (a.at <= b.at ? a : b)), { folder, at: now });
  return keys;
}

export function folderKeys(tableUrl) {
  const name = KEYS_KEY + tableUrl;
  return {
    list: () => read(name).map((key) => key.folder),
    used: (folder) => remember(name, JSON.stringify(use(read(name), folder))),
  };
}

// The number badges beside the folders of the panel.
export function showKeys(tree, folders) {
  $$(".cattags-key", tree.element).forEach((badge) => badge.remove());
  folders.forEach((folder, index) => {
    const link = tree.link(folder);
    if (!link) return;
    const badge = el("kbd", { "class": "cattags-key", title: "Press " + (index + 1) + " to move the selection here" }, String(index + 1));
    link.parentNode.insertBefore(badge, link);
  });
}
