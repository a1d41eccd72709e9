// Run Checks, improved: select-all, a count of what is selected, and keys to work the queue.
// The page works without this file (plain forms, <details> rows); nothing here is needed.
(() => {
  "use strict";
  const form = document.getElementById("review-form");
  const list = document.querySelector("[data-rows]");
  for (const el of document.querySelectorAll("[data-js]")) el.hidden = false;
  for (const el of document.querySelectorAll("[data-nojs]")) el.hidden = true;

  const boxes = () =>
    form ? Array.from(form.querySelectorAll('input[type=checkbox][name$="_ids"]:not(:disabled)')) : [];
  const selectAll = document.getElementById("select-all");
  const counter = document.querySelector("[data-selected]");

  function refresh() {
    const all = boxes().filter((box) => box.name === "job_ids" || !box.closest("li.rc-job"));
    const ticked = boxes().filter((box) => box.checked);
    if (selectAll) {
      selectAll.checked = all.length > 0 && all.every((box) => box.checked);
      selectAll.indeterminate = !selectAll.checked && ticked.length > 0;
    }
    if (counter) {
      const jobs = ticked.filter((box) => box.name === "job_ids").length;
      const runs = ticked.length - jobs;
      const parts = [];
      if (jobs) parts.push(`${jobs} job${jobs === 1 ? "" : "s"}`);
      if (runs) parts.push(`${runs} run${runs === 1 ? "" : "s"}`);
      counter.textContent = parts.length ? `${parts.join(" and ")} selected` : "";
    }
  }

  if (selectAll) {
    selectAll.addEventListener("change", () => {
      // A job row stands for all its runs: ticking the jobs is ticking every run on the page.
      for (const box of boxes()) {
        if (box.name === "job_ids" || !box.closest("li.rc-job")) box.checked = selectAll.checked;
      }
      refresh();
    });
  }
  if (form) form.addEventListener("change", refresh);

  // Enter in the note reviews the selection, never a row (the form's first button is that one
  // already; this keeps it so whatever the markup around it becomes).
  const note = document.querySelector("[data-note]");
  const reviewSelected = document.querySelector("[data-review-selected]");
  if (note && reviewSelected && form) {
    note.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        form.requestSubmit(reviewSelected);
      }
    });
  }

  // --- keys: move, select, review, open --------------------------------------------------
  // Rows on screen: job rows, and the runs of expanded jobs (a closed <details> keeps its
  // content laid out in Chromium, so ask the element, not the layout).
  const rows = () =>
    Array.from(document.querySelectorAll("[data-row]")).filter(
      (row) => !row.parentElement.closest("details:not([open])"),
    );
  const rowOf = (el) => (el && el.closest ? el.closest("[data-row]") : null);
  let current = null;

  function focusTarget(row) {
    return row.querySelector(":scope > details > summary") || row.querySelector("[data-open]") || row;
  }
  function moveTo(row) {
    if (!row) return;
    if (current) current.classList.remove("rc-current");
    current = row;
    row.classList.add("rc-current");
    const target = focusTarget(row);
    if (target === row) row.tabIndex = -1;
    target.focus();
    row.scrollIntoView({ block: "nearest" });
  }
  function step(by) {
    const all = rows();
    if (!all.length) return;
    const at = all.indexOf(rowOf(document.activeElement) || current);
    const next = at < 0 ? (by > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, at + by));
    moveTo(all[next]);
  }
  function here() {
    return rowOf(document.activeElement) || current;
  }
  function ownBox(row) {
    return row.querySelector(':scope > input[type=checkbox], :scope > td > input[type=checkbox]');
  }

  document.addEventListener("focusin", (event) => {
    const row = rowOf(event.target);
    if (row && row !== current) {
      if (current) current.classList.remove("rc-current");
      current = row;
      row.classList.add("rc-current");
    }
  });

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || !list) return;
    const typing = event.target.closest && event.target.closest("input, select, textarea");
    if (typing) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    const row = here();
    switch (event.key) {
      case "j":
      case "ArrowDown":
        step(1);
        break;
      case "k":
      case "ArrowUp":
        step(-1);
        break;
      case "x": {
        if (!row) return;
        const box = ownBox(row);
        if (!box || box.disabled) return;
        box.checked = !box.checked;
        refresh();
        break;
      }
      case "a":
        if (!selectAll) return;
        selectAll.checked = !selectAll.checked;
        selectAll.dispatchEvent(new Event("change"));
        break;
      case "r": {
        const button = row && row.querySelector(':scope > button[name=only_job], :scope > td > button[name=only]');
        if (!button) return;
        button.click();
        break;
      }
      case "R":
        if (!reviewSelected) return;
        reviewSelected.click();
        break;
      case "o": {
        if (!row) return;
        const link = row.querySelector("[data-open-job]") || row.querySelector("[data-open]");
        if (!link) return;
        link.click();
        break;
      }
      case "Enter": {
        if (!row || event.target.closest("a, button, summary")) return; // native behaviour
        const target = focusTarget(row);
        if (target.tagName === "SUMMARY") target.parentElement.open = !target.parentElement.open;
        else if (target.click) target.click();
        break;
      }
      case "/": {
        const search = document.querySelector("[data-search]");
        if (!search) return;
        search.focus();
        break;
      }
      default:
        return;
    }
    event.preventDefault();
  });

  // After a review the page lands on its message: carry on from the row below it.
  if (location.hash === "#review-message") {
    const message = document.getElementById("review-message");
    if (message) {
      const holder = message.closest(".rc-message-row") || message;
      let next = holder.nextElementSibling;
      while (next && !next.matches("[data-row]")) next = next.nextElementSibling;
      if (next) {
        current = next;
        next.classList.add("rc-current");
      }
      message.focus({ preventScroll: true });
    }
  }
  refresh();
})();
