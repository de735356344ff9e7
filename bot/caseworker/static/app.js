// Live updates without reloading: the queue and the conversation poll small JSON endpoints
// that return server-rendered (escaped) HTML. No inline scripts (the CSP forbids them).
"use strict";

const POLL_MS = 3000;

async function fetchJson(url) {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json", "X-Live-Poll": "1" } });
  if (response.redirected || !response.ok) {
    // Session expired or logged out: reload shows the login page.
    if (response.redirected || response.status === 401) window.location.reload();
    return null;
  }
  return response.json();
}

// An urgent referral (crisis, close removal date, detention fear, minor alone) that arrives
// while the page is open: a visible notice (role=alert, read out by screen readers) and the
// tab title, so a caseworker working in another tab sees it too.
function noticeUrgent(table, urgentIds) {
  const known = new Set((table.dataset.urgent || "").split(" ").filter(Boolean));
  const fresh = urgentIds.filter((id) => !known.has(id));
  table.dataset.urgent = urgentIds.join(" ");
  const base = document.title.replace(/^\(\d+\) /, "");
  document.title = urgentIds.length ? `(${urgentIds.length}) ${base}` : base;
  if (fresh.length) document.getElementById("urgent-alert").hidden = false;
}

function pollQueue(table) {
  const rows = document.getElementById("queue-rows");
  const counts = document.getElementById("counts");
  noticeUrgent(table, (table.dataset.urgent || "").split(" ").filter(Boolean));
  setInterval(async () => {
    const data = await fetchJson(table.dataset.live);
    if (!data) return;
    if (rows.innerHTML.trim() !== data.rows.trim()) rows.innerHTML = data.rows;
    if (counts.innerHTML.trim() !== data.counts.trim()) counts.innerHTML = data.counts;
    noticeUrgent(table, data.urgent || []);
  }, POLL_MS);
}

function pollMessages(list) {
  setInterval(async () => {
    const data = await fetchJson(`${list.dataset.live}?after=${list.dataset.last}`);
    if (!data || !data.html.trim()) return;
    list.insertAdjacentHTML("beforeend", data.html);
    list.dataset.last = data.last_id;
    list.lastElementChild.scrollIntoView({ block: "nearest" });
  }, POLL_MS);
}

function cannedReplies(select) {
  const text = document.getElementById("reply-text");
  select.addEventListener("change", () => {
    const option = select.selectedOptions[0];
    if (option && option.dataset.text) text.value = option.dataset.text;
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const table = document.querySelector("table.queue[data-live]");
  if (table) pollQueue(table);
  const list = document.querySelector("#messages[data-live]");
  if (list) {
    pollMessages(list);
    list.lastElementChild && list.lastElementChild.scrollIntoView({ block: "nearest" });
  }
  const canned = document.getElementById("canned");
  if (canned) cannedReplies(canned);
});
