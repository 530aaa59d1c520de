// The compare page's slider: an <input type=range> laid over the picture moves the divider
// (mouse and touch drag it like any range; the arrow, Page and Home/End keys move it once it
// has the focus). The picture on top is clipped through a CSS custom property set here, so no
// inline style is needed (the Content-Security-Policy refuses those in markup).
function showSplit(range) {
  const stage = range.closest("[data-compare-stage]");
  const value = Number(range.value);
  stage.style.setProperty("--split", `${value}%`);
  range.setAttribute("aria-valuetext", `A ${value}% · B ${100 - value}%`);
}
document.addEventListener("input", (event) => {
  if (event.target.matches("[data-compare-range]")) showSplit(event.target);
});
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-compare-range]").forEach(showSplit);
});
