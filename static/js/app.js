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
