// Relance's few lines of page glue. htmx 2 does not swap 4xx/5xx answers: show their message instead.
document.addEventListener("htmx:responseError", (event) => {
  const box = document.getElementById("messages");
  if (!box) return;
  const holder = document.createElement("div");
  holder.innerHTML = event.detail.xhr.responseText || "";
  const found = holder.querySelector("[data-error-message]");
  const note = document.createElement("p");
  note.className = "flash error";
  note.setAttribute("role", "alert");
  note.textContent = found ? found.textContent.trim() : `The server answered ${event.detail.xhr.status}. Nothing was changed.`;
  box.replaceChildren(note);
});

document.addEventListener("htmx:sendError", () => {
  const box = document.getElementById("messages");
  if (box) box.innerHTML = '<p class="flash error" role="alert">The server cannot be reached. Check your connection and try again.</p>';
});

// Close the search popup when clicking elsewhere.
document.addEventListener("click", (event) => {
  const popup = document.getElementById("search-popup");
  if (popup && !event.target.closest(".global-search")) popup.replaceChildren();
});

// Buttons that close a dialog or a menu: data-close="<id of the element to empty>".
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-close]");
  if (!button) return;
  const target = document.getElementById(button.dataset.close);
  if (target) target.replaceChildren();
});

// A "select all" box ticks every box of its name: data-select-all="<name>".
document.addEventListener("change", (event) => {
  const box = event.target.closest("[data-select-all]");
  if (!box) return;
  document.querySelectorAll(`input[type=checkbox][name="${box.dataset.selectAll}"]`).forEach((b) => { b.checked = box.checked; });
});

// A select whose change applies to more than its row asks first, naming the change:
// data-confirm-change="Case #18, 5 entries: Open → {new}." on its form; Cancel puts the value back.
document.addEventListener("htmx:confirm", (event) => {
  const form = event.target.closest("[data-confirm-change]");
  if (!form) return;
  const select = form.querySelector("select");
  if (!select || select.value === form.dataset.current) return;
  event.preventDefault();
  const label = select.options[select.selectedIndex].text;
  if (window.confirm(form.dataset.confirmChange.replace("{new}", label))) {
    event.detail.issueRequest(true);
  } else {
    select.value = form.dataset.current;
  }
});

// Tabs (WAI-ARIA tabs pattern): a [role=tablist] of [role=tab] buttons, each showing the panel it
// controls and hiding the others; arrow keys move between tabs; #<panel id> in the address opens one.
function selectTab(tab, focus) {
  const list = tab.closest("[role=tablist]");
  list.querySelectorAll("[role=tab]").forEach((other) => {
    const selected = other === tab;
    other.setAttribute("aria-selected", String(selected));
    other.tabIndex = selected ? 0 : -1;
    const panel = document.getElementById(other.getAttribute("aria-controls"));
    if (panel) panel.hidden = !selected;
  });
  if (focus) tab.focus();
}
document.addEventListener("click", (event) => {
  const tab = event.target.closest("[role=tablist] [role=tab]");
  if (tab) selectTab(tab, false);
});
document.addEventListener("keydown", (event) => {
  const tab = event.target.closest("[role=tablist] [role=tab]");
  if (!tab || !["ArrowLeft", "ArrowRight", "Home", "End"].includes(event.key)) return;
  const tabs = [...tab.closest("[role=tablist]").querySelectorAll("[role=tab]")];
  const at = tabs.indexOf(tab);
  const next = { ArrowLeft: at - 1, ArrowRight: at + 1, Home: 0, End: tabs.length - 1 }[event.key];
  selectTab(tabs[(next + tabs.length) % tabs.length], true);
  event.preventDefault();
});
document.addEventListener("DOMContentLoaded", () => {
  const wanted = location.hash && document.querySelector(`[role=tab][aria-controls="${CSS.escape(location.hash.slice(1))}"]`);
  if (wanted) selectTab(wanted, false);
});

// "Keep an eye on this list": the filters are the page's as they are now (htmx pushes them into
// the URL as they change), not as they were when the page was drawn.
document.addEventListener("htmx:configRequest", (event) => {
  if (event.detail.elt.closest && event.detail.elt.closest(".keep-an-eye")) {
    event.detail.parameters.query = window.location.search.slice(1);
  }
});
