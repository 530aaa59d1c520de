// Small progressive enhancements; every page works without them. All behaviour is attached here,
// never in the markup: the Content-Security-Policy (script-src 'self') refuses inline handlers.
// Listeners sit on the document, so content htmx swaps in later is covered too.

// The page is scripted: CSS folds the phone menu behind its button (without this, it stays open).
document.documentElement.classList.add("js");

function setMenu(button, open) {
  button.setAttribute("aria-expanded", String(open));
  document.getElementById(button.getAttribute("aria-controls")).classList.toggle("open", open);
}
document.addEventListener("click", (event) => {
  const toggle = event.target.closest("[data-nav-toggle]");
  if (toggle) setMenu(toggle, toggle.getAttribute("aria-expanded") !== "true");
});
document.addEventListener("keydown", (event) => {
  // Escape closes the open menu and gives the focus back to its button.
  const toggle = document.querySelector("[data-nav-toggle][aria-expanded=true]");
  if (event.key === "Escape" && toggle) { setMenu(toggle, false); toggle.focus(); }
});
document.addEventListener("click", (event) => {
  const field = event.target.closest("[data-select-on-click]");
  if (field) field.select();
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  navigator.clipboard.writeText(button.dataset.copy).then(() => {
    const label = button.textContent;
    button.textContent = button.dataset.copied || "✓";
    setTimeout(() => { button.textContent = label; }, 1500);
  });
});
document.addEventListener("change", (event) => {
  // The language menu: choosing a language submits its form (a <noscript> button does otherwise).
  const control = event.target.closest("[data-submit-on-change]");
  if (control && control.form) control.form.submit();
});
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) event.preventDefault();
});

// The creation form's presets: a shape chip fills width and height, a style chip adds its words
// to the prompt (once), where the user sees and can edit them.
function showPresets() { document.querySelectorAll("[data-presets]").forEach((box) => { box.hidden = false; }); }
document.addEventListener("DOMContentLoaded", showPresets);
// The studio's form comes back from each submission (htmx): its chips are shown again.
document.addEventListener("htmx:afterSettle", showPresets);
document.addEventListener("click", (event) => {
  const chip = event.target.closest("[data-size], [data-append]");
  if (!chip) return;
  const form = chip.closest("form");
  if (chip.dataset.size) {
    const [width, height] = chip.dataset.size.split("x");
    form.elements.width.value = width;
    form.elements.height.value = height;
    form.querySelectorAll("[data-size]").forEach((other) => other.setAttribute("aria-pressed", String(other === chip)));
  } else {
    const prompt = form.elements.prompt;
    // Joined as the page's language joins words: "，" in Chinese, ", " otherwise.
    const join = chip.closest("[data-join]")?.dataset.join || ", ";
    if (!prompt.value.includes(chip.dataset.append)) {
      prompt.value = prompt.value.trim() ? `${prompt.value.trim()}${join}${chip.dataset.append}` : chip.dataset.append;
    }
    prompt.focus();
  }
});

// A batch's total before it is sent: the cost line of the chosen count of pictures is shown
// (the server wrote one line per count, in the page's language; it checks the balance again).
document.addEventListener("change", (event) => {
  const count = event.target.closest("input[name=count]");
  if (!count || !count.form) return;
  count.form.querySelectorAll("[data-cost-for]").forEach((line) => { line.hidden = line.dataset.costFor !== count.value; });
});
