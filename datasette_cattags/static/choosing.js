// Selecting many at once, across pages, through the table's JSON API:
// everything that matches the page's filters, a look-alike group, or the
// look-alikes of the last picture clicked. Bounded: at most the number the
// server says one move takes.
import { $, $$ } from "./dom.js";
import { matchingIds } from "./server.js";

function tooMany(count, most) {
  return (count ? count.toLocaleString() : "More than " + most.toLocaleString()) +
    " pictures match: at most " + most.toLocaleString() +
    " can be selected at once. Narrow the filter first (a folder, a tag, a look-alike group).";
}

export function choosing(form, selected, toast, tableUrl) {
  const button = $("[data-cattags-action=select-matching]", form);
  const most = () => Number(button.getAttribute("data-most"));
  function select(search, done) {
    return matchingIds(tableUrl, search, most()).then((ids) => {
      if (ids.length > most()) { toast(tooMany(0, most()), true); return; }
      selected.add(ids);
      toast(done(ids.length), false);
    }, (error) => toast("The pictures could not be listed: " + error.message, true));
  }
  function withQuery(changes) {
    const query = new URLSearchParams(location.search);
    Object.entries(changes).forEach(([key, value]) => query.set(key, value));
    return "?" + query.toString();
  }
  button.addEventListener("click", () => {
    const count = Number(button.getAttribute("data-count") || 0);
    if (button.getAttribute("data-over") || count > most()) { toast(tooMany(count > most() ? count : 0, most()), true); return; }
    select(location.search, (n) => "Selected all " + n.toLocaleString() + " that match");
  });
  $$(".cattags-pick-group", form).forEach((group) => {
    const look = group.getAttribute("data-look");
    group.addEventListener("click", () => select(withQuery({ look }), (n) => "Selected " + n.toLocaleString() + " of look-alike group " + look));
  });
  similar(form, selected, toast, select, withQuery);
}

// The look-alikes of the last picture clicked, as many as chosen.
function similar(form, selected, toast, select, withQuery) {
  const howMany = $(".cattags-similar-k", form);
  $("[data-cattags-action=select-similar]", form).addEventListener("click", () => {
    const seed = selected.seed();
    if (!seed) { toast("Click a picture first, then Select similar", true); return; }
    select(withQuery({ _alike: seed.value, _alike_k: howMany.value }), (n) =>
      "Selected " + n + " that look alike (of the " + howMany.value + " most alike, those this page's filters let through)");
  });
}
