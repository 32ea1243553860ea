// Datasette's facets join the panel at the left, the classifying ones first,
// behind a "Filters" button (closed on a phone).
import { $, el } from "./dom.js";

const FIRST = ["nearest_distance", "cluster", "event", "look", "folder", "tags"];  // last is first

export function facetPanel(form) {
  const facets = $(".facet-results");
  const side = $(".cattags-side", form);
  if (!facets || !side) return;
  FIRST.forEach((name) => {
    const facet = facets.querySelector(".facet-info[data-column='" + name + "']");
    if (facet) facets.insertBefore(facet, facets.firstChild);
  });
  // A button, not <details>: Datasette 0.65 closes every open <details> on
  // any click elsewhere on the page.
  const panel = el("div", { "class": "cattags-facets" });
  const toggle = el("button", { type: "button", "class": "cattags-facets-toggle", "aria-controls": "cattags-facet-list" }, "Filters");
  facets.id = "cattags-facet-list";
  const show = (open) => { toggle.setAttribute("aria-expanded", open ? "true" : "false"); facets.hidden = !open; };
  toggle.addEventListener("click", () => show(facets.hidden));
  panel.appendChild(toggle);
  panel.appendChild(facets);
  side.appendChild(panel);
  show(!window.matchMedia("(max-width: 799px)").matches);
}
