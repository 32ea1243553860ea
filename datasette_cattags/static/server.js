// Talking to the server: the plugin's forms as JSON, and the table's JSON API.

// POST a form's CSRF token and `fields`; the answer as JSON, or
// {ok: false, message} when there is none.
export function post(url, form, fields) {
  const body = new URLSearchParams();
  body.append("csrftoken", (form.querySelector("input[name=csrftoken]") || {}).value || "");
  fields.forEach(([name, value]) => body.append(name, value));
  return fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded" },
    body: body.toString(),
  }).then(
    (response) => response.json().catch(() => ({ ok: false, message: "The server answered " + response.status })),
    () => ({ ok: false, message: "The server could not be reached" }),
  );
}

// The table query for the ids of the pictures the page at `search` lists.
function idsQuery(search) {
  const query = new URLSearchParams(search);
  ["_next", "_sort", "_sort_desc", "_size", "_col", "_nocol", "_shape", "_cattags"].forEach((key) => query.delete(key));
  Array.from(query.keys()).filter((key) => key.startsWith("_facet")).forEach((key) => query.delete(key));
  Object.entries({ _col: "id", _size: "max", _shape: "objects", _nofacet: "1", _nocount: "1" })
    .forEach(([key, value]) => query.set(key, value));
  return query;
}

function nextPage(url, data) {
  if (data.next_url) return data.next_url;
  if (!data.next) return null;
  return url.replace(/([?&])_next=[^&]*/, "$1").replace(/[?&]$/, "") + "&_next=" + encodeURIComponent(data.next);
}

// The ids of the pictures the table page at `search` (its query string)
// lists, every page of them, at most `most` + 1: one more tells "too many".
export function matchingIds(tableUrl, search, most) {
  const ids = [];
  function page(url) {
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then((response) => {
        if (!response.ok) throw new Error("The server answered " + response.status);
        return response.json();
      })
      .then((data) => {
        (data.rows || []).forEach((row) => ids.push(String(row.id)));
        const next = nextPage(url, data);
        return next && ids.length <= most ? page(next) : ids;
      });
  }
  return page(tableUrl + ".json?" + idsQuery(search).toString());
}

// A page of this site again, as a document: the server renders, the script places.
export function fetchPage(url) {
  return fetch(url, { credentials: "same-origin" })
    .then((response) => response.text())
    .then((text) => new DOMParser().parseFromString(text, "text/html"));
}
