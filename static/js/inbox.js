// The inbox bell while the tab is in the background: every few seconds (only while hidden) the
// tab asks for the unread count and puts it in its title, "(2) 画廊 AIGC", and, if the user
// allowed it once on the inbox page, shows the browser's own notification for each new notice.
// Back in view, the title is restored and polling stops. The bell is looked up each time: htmx
// swaps in a fresh one when a job on the page ends.
(() => {
  const permission = document.querySelector("[data-notify-permission]");
  if (permission && "Notification" in window && Notification.permission === "default") {
    permission.hidden = false;
    permission.addEventListener("click", () => {
      Notification.requestPermission().then(() => { permission.hidden = Notification.permission !== "default"; });
    });
  }

  const bell = () => document.querySelector("[data-inbox-bell]");
  if (!bell()) return;
  const title = document.title;
  let seen = Number(bell().dataset.latest) || 0; // the newest notice this page already knows of
  let timer = null;

  function show(count) {
    const current = bell();
    const badge = current.querySelector("[data-bell-count]");
    current.dataset.unread = String(count);
    badge.textContent = count > 99 ? "99+" : String(count);
    badge.hidden = count === 0;
    current.classList.toggle("has-unread", count > 0);
    current.setAttribute("aria-label", current.dataset.label.replace("{n}", String(count)));
    document.title = document.hidden && count > 0 ? `(${count}) ${title}` : title;
  }

  function notify(latest) {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    latest.filter((notice) => notice.id > seen).reverse().forEach((notice) => {
      const shown = new Notification(notice.title, { body: notice.detail, tag: `notice-${notice.id}` });
      shown.addEventListener("click", () => { window.focus(); window.location.href = notice.url; });
    });
  }

  function poll() {
    fetch(bell().dataset.unreadUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((response) => (response.ok ? response.json() : null))
      .then((data) => {
        if (!data) return;
        if (document.hidden) notify(data.latest);
        seen = Math.max(seen, ...data.latest.map((notice) => notice.id));
        show(data.unread);
      })
      .catch(() => {}); // offline for a moment: the next poll tries again
  }

  document.addEventListener("visibilitychange", () => {
    if (document.hidden) {
      // What the page knows already: a bell htmx swapped in may be newer than the last poll.
      seen = Math.max(seen, Number(bell().dataset.latest) || 0);
      show(Number(bell().dataset.unread) || 0);
      if (timer === null) timer = setInterval(poll, Math.max(1, Number(bell().dataset.pollSeconds) || 10) * 1000);
    } else {
      clearInterval(timer);
      timer = null;
      document.title = title;
      poll(); // the bell catches up with what came while away
    }
  });
})();
