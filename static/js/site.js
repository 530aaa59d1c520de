// Small progressive enhancements; every page works without them. All behaviour is attached here,
// never in the markup: the Content-Security-Policy (script-src 'self') refuses inline handlers.
// Listeners sit on the document, so content htmx swaps in later is covered too.
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
