// The triage page without reloads. The page works without this file (every button is a form
// that posts and comes back); here the same forms are sent with fetch, the answer is the page's
// new state as JSON (gallery/views/triage.py draws the page from the same values), and the keys
// do what the buttons do: 1-5 rate, k keep, x discard, f favourite, arrows move, z undo.
// Changes are announced through the page's aria-live region.
(() => {
  const root = document.querySelector("[data-triage]");
  const source = document.getElementById("triage-state");
  if (!root || !source) return;
  let state = JSON.parse(source.textContent);
  const history = []; // what each action changed, newest last, for z
  let busy = false;
  const part = (name) => root.querySelector(`[data-t="${name}"]`);
  const forms = root.querySelectorAll("[data-triage-form]");
  const undoButton = root.querySelector("[data-triage-undo]");
  const token = () => root.querySelector("input[name=csrfmiddlewaretoken]").value;

  function announce(text) {
    const region = part("announce");
    region.textContent = "";
    // A new text node a moment later, so the same words twice are announced twice.
    window.setTimeout(() => { region.textContent = text; }, 50);
  }

  function link(element, href) {
    element.hidden = !href;
    element.setAttribute("href", href || "#");
  }

  function render(next) {
    state = next;
    part("empty").hidden = !state.empty;
    part("body").hidden = state.empty;
    undoButton.hidden = history.length === 0;
    if (state.announce) announce(state.announce);
    if (state.empty) return;
    const img = part("img");
    img.src = state.src;
    img.width = state.width;
    img.height = state.height;
    img.alt = state.alt;
    img.dataset.imageId = state.id;
    part("prompt").textContent = state.prompt;
    part("kind").textContent = state.kind;
    part("position").textContent = state.position_text;
    part("triage-text").textContent = state.triage_text;
    part("detail").setAttribute("href", state.detail_url);
    link(part("previous"), state.previous_page);
    link(part("next"), state.next_page);
    forms.forEach((form) => form.setAttribute("action", state.act_url));
    root.querySelectorAll("[data-star]").forEach((star) => {
      const n = Number(star.dataset.star);
      star.classList.toggle("on", state.rating >= n);
      star.setAttribute("aria-pressed", String(state.rating === n));
    });
    part("keep").setAttribute("aria-pressed", String(state.triage === "keep"));
    part("favourite").setAttribute("aria-pressed", String(state.is_favourite));
    window.history.replaceState(null, "", state.page_url);
  }

  async function send(url, fields) {
    const body = new FormData();
    Object.entries(fields || {}).forEach(([name, value]) => body.append(name, value));
    const response = await fetch(url, {
      method: fields ? "POST" : "GET",
      body: fields ? body : undefined,
      headers: { Accept: "application/json", "X-CSRFToken": token() },
      credentials: "same-origin",
    });
    if (!response.ok) throw new Error(String(response.status));
    return response.json();
  }

  async function run(request) {
    if (busy) return;
    busy = true;
    try {
      await request();
    } catch (error) {
      announce(root.dataset.errorText);
    } finally {
      busy = false;
    }
  }

  function act(action, extra = {}) {
    if (state.empty) return;
    const before = {
      url: state.act_url,
      rating: state.rating,
      triage: state.triage,
      favourite: state.is_favourite,
      discarded: action === "discard",
    };
    run(async () => {
      const next = await send(state.act_url, { action, ...extra });
      history.push(before);
      render(next);
    });
  }

  function undo() {
    const last = history[history.length - 1];
    if (!last) return;
    run(async () => {
      const next = await send(last.url, {
        action: "set",
        value: last.rating,
        triage: last.triage,
        favourite: last.favourite ? "1" : "0",
        restore: last.discarded ? "1" : "",
      });
      history.pop();
      render(next);
    });
  }

  function move(forward) {
    if (state.empty) return;
    const url = forward ? state.next_url : state.previous_url;
    if (!url) {
      announce(forward ? root.dataset.lastText : root.dataset.firstText);
      return;
    }
    run(async () => render(await send(url, null)));
  }

  forms.forEach((form) => {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const button = event.submitter;
      if (!button) return;
      if (button.name === "value") act("rate", { value: button.value });
      else act(button.value);
    });
  });
  undoButton.addEventListener("click", undo);
  part("previous").addEventListener("click", (event) => { event.preventDefault(); move(false); });
  part("next").addEventListener("click", (event) => { event.preventDefault(); move(true); });

  const keys = {
    k: () => act("keep"),
    x: () => act("discard"),
    f: () => act("favourite"),
    z: undo,
    ArrowLeft: () => move(false),
    ArrowRight: () => move(true),
  };
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest("input, select, textarea, [contenteditable]")) return;
    const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    if (/^[1-5]$/.test(key)) {
      event.preventDefault();
      act("rate", { value: key });
    } else if (keys[key]) {
      event.preventDefault();
      keys[key]();
    }
  });
})();
