// Relance's few lines of page glue. Words come from the page (<body data-word-…>, in the user's language).
function word(name, fallback) {
  return (document.body && document.body.dataset[name]) || fallback;
}

// htmx 2 does not swap 4xx/5xx answers: show their message instead.
document.addEventListener("htmx:responseError", (event) => {
  const box = document.getElementById("messages");
  if (!box) return;
  const holder = document.createElement("div");
  holder.innerHTML = event.detail.xhr.responseText || "";
  const found = holder.querySelector("[data-error-message]");
  const note = document.createElement("p");
  note.className = "flash error";
  note.setAttribute("role", "alert");
  note.textContent = found ? found.textContent.trim()
    : word("wordServerError", "The server answered {status}. Nothing was changed.").replace("{status}", event.detail.xhr.status);
  box.replaceChildren(note);
});

document.addEventListener("htmx:sendError", () => {
  const box = document.getElementById("messages");
  if (!box) return;
  const note = document.createElement("p");
  note.className = "flash error";
  note.setAttribute("role", "alert");
  note.textContent = word("wordUnreachable", "The server cannot be reached. Check your connection and try again.");
  box.replaceChildren(note);
});

// Close the search popup and the bell's menu when clicking elsewhere.
document.addEventListener("click", (event) => {
  const popup = document.getElementById("search-popup");
  if (popup && !event.target.closest(".global-search")) popup.replaceChildren();
  const menu = document.getElementById("bell-menu");
  if (menu && menu.firstChild && !event.target.closest(".bell-wrap")) menu.replaceChildren();
});

// The top bar's menus (<details data-menu>): one open at a time; an outside click or Escape closes it.
document.addEventListener("toggle", (event) => {
  const menu = event.target;
  if (!menu.matches || !menu.matches("details[data-menu]") || !menu.open) return;
  document.querySelectorAll("details[data-menu][open]").forEach((other) => { if (other !== menu) other.open = false; });
}, true);  // "toggle" does not bubble
document.addEventListener("click", (event) => {
  document.querySelectorAll("details[data-menu][open]").forEach((menu) => {
    if (!menu.contains(event.target)) menu.open = false;
  });
});
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  const bellMenu = document.getElementById("bell-menu");
  if (bellMenu && bellMenu.firstChild && !document.querySelector("dialog[open]")) {
    bellMenu.replaceChildren();
    const bell = document.querySelector("[data-testid=bell]");
    if (bell) bell.focus();
    return;
  }
  const menu = (event.target.closest && event.target.closest("details[data-menu][open]"))
    || (!document.querySelector("dialog[open]") && document.querySelector("details[data-menu][open]"));
  if (menu) {
    menu.open = false;
    menu.querySelector("summary").focus();
  }
});

// Dialogs are <dialog class="modal"> elements that htmx brings: each opens as a modal (the page
// behind is inert, focus stays inside, Escape closes it). Closed by Escape, a click outside it or a
// [data-close] button, it leaves its holder empty and gives focus back to what opened it.
// What opened a dialog is what the person last clicked or pressed outside a dialog — not whatever
// background request (a poll, a refresh an event set off) ran last.
let opener = null;
document.addEventListener("click", (event) => {
  const control = event.target.closest && event.target.closest("button, a, summary, input, select, [tabindex]");
  if (control && !control.closest("dialog")) opener = control;
}, true);
function openDialogs(root) {
  const found = root.matches && root.matches("dialog.modal") ? [root] : [...root.querySelectorAll("dialog.modal")];
  found.filter((dialog) => !dialog.open && dialog.isConnected).forEach((dialog) => {
    dialog.opener = opener;
    dialog.showModal();
  });
}
document.addEventListener("htmx:load", (event) => openDialogs(event.detail.elt));
document.addEventListener("close", (event) => {
  const dialog = event.target;
  if (!(dialog instanceof HTMLDialogElement) || !dialog.classList.contains("modal")) return;
  dialog.remove();
  const back = returnPoint(dialog.opener);
  if (back) back.focus();
}, true);  // "close" does not bubble
// What opened a dialog may have been redrawn meanwhile (the entries list after a letter): its successor, by id or name.
function returnPoint(opener) {
  if (!opener) return null;
  if (opener.isConnected) return opener;
  if (opener.id) return document.getElementById(opener.id);
  const label = opener.getAttribute && opener.getAttribute("aria-label");
  return label ? document.querySelector(`[aria-label="${CSS.escape(label)}"]`) : null;
}
// A click outside closes a dialog only when it also began outside: selecting text in a field and
// letting go over the backdrop keeps the draft.
function outside(dialog, event) {
  const box = dialog.getBoundingClientRect();  // a click on the dialog's own padding is inside it
  return event.clientX < box.left || event.clientX > box.right || event.clientY < box.top || event.clientY > box.bottom;
}
let pressedOutside = null;
document.addEventListener("mousedown", (event) => {
  const dialog = event.target;
  pressedOutside = dialog instanceof HTMLDialogElement && dialog.open && outside(dialog, event) ? dialog : null;
});
document.addEventListener("click", (event) => {
  const dialog = event.target;
  if (!(dialog instanceof HTMLDialogElement) || !dialog.open || !dialog.classList.contains("modal")) return;
  if (pressedOutside === dialog && outside(dialog, event)) dialog.close();
});

// Buttons that close a dialog or a menu: data-close="<id of the element to empty>".
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-close]");
  if (!button) return;
  const target = document.getElementById(button.dataset.close);
  if (!target) return;
  const dialog = target.matches("dialog[open]") ? target : target.querySelector("dialog[open]");
  if (dialog) dialog.close();
  if (target.isConnected && !target.matches("dialog")) target.replaceChildren();
});

// Confirmations are styled dialogs that say what will happen (hx-confirm="…"), never the browser's box.
function ask(question, onYes, onNo) {
  const dialog = document.createElement("dialog");
  dialog.className = "modal confirm";
  dialog.setAttribute("role", "alertdialog");
  dialog.setAttribute("aria-labelledby", "confirm-question");
  const text = document.createElement("p");
  text.id = "confirm-question";
  text.textContent = question;
  const form = document.createElement("form");
  form.method = "dialog";
  form.className = "modal-actions";
  const no = document.createElement("button");
  no.value = "no";
  no.textContent = word("wordCancel", "Cancel");
  const yes = document.createElement("button");
  yes.value = "yes";
  yes.className = "primary";
  yes.dataset.testid = "confirm-yes";
  yes.textContent = word("wordConfirm", "Confirm");
  form.append(no, yes);
  dialog.append(text, form);
  dialog.opener = document.activeElement;
  dialog.addEventListener("close", () => {
    if (dialog.returnValue === "yes") onYes();
    else if (onNo) onNo();
  });
  document.body.append(dialog);
  dialog.showModal();
  no.focus();  // Enter on a confirmation does not do the thing by accident
}
document.addEventListener("htmx:confirm", (event) => {
  if (event.target.closest("[data-confirm-change]") || !event.detail.question) return;
  event.preventDefault();
  ask(event.detail.question, () => event.detail.issueRequest(true));
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
  ask(form.dataset.confirmChange.replace("{new}", label), () => event.detail.issueRequest(true),
      () => { select.value = form.dataset.current; });
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

// A control that redraws its own row (a confirmed action, a switch) goes with it: focus would fall back to
// the page's top. Give it to the same control in the new row (or to the row) so the keyboard stays put.
let focused = null;
document.addEventListener("focusin", (event) => {
  const holder = event.target.parentElement && event.target.parentElement.closest("[id]");
  focused = { control: event.target, holder: holder ? holder.id : null };
});
document.addEventListener("htmx:afterSettle", () => {
  if (!focused || focused.control.isConnected) return;
  if (document.activeElement && document.activeElement !== document.body) return;
  const back = returnPoint(focused.control) || successorIn(focused);
  if (back) back.focus();
});
function successorIn({ control, holder }) {
  const row = holder && document.getElementById(holder);
  if (!row) return null;
  const same = [...row.querySelectorAll(control.tagName)].find((candidate) =>
    candidate.textContent.trim() === control.textContent.trim() && candidate.name === control.name);
  return same || row.querySelector("button, a[href], input, select, summary") || null;
}
