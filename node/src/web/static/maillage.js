// maillage: the little JavaScript the page needs. Everything works without
// it (forms post, links navigate); with it, changes from other households
// appear without reloading, and errors are announced.
"use strict";

(function () {
  // Focus the error summary of a form that came back with errors, so that a
  // screen reader reads it and a keyboard user starts there.
  function focusErrors() {
    var summary = document.querySelector(".error-summary");
    if (summary) summary.focus();
  }

  // Ask before destructive actions (delete, cancel): data-confirm="…".
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });

  // Live updates: the node sends "changed" after every change it takes in,
  // from this page, the command line or another household. Reload the main
  // part of the page unless the villager is filling a form.
  var editing = false;
  document.addEventListener("input", function (event) {
    if (event.target.form && event.target.form.method === "post") editing = true;
  });

  function refresh() {
    if (editing) return;
    fetch(window.location.href, { credentials: "same-origin", headers: { "x-maillage-live": "1" } })
      .then(function (response) {
        if (!response.ok) return null;
        return response.text();
      })
      .then(function (text) {
        if (text === null || editing) return;
        var fresh = new DOMParser().parseFromString(text, "text/html").querySelector("main");
        var main = document.querySelector("main");
        if (!fresh || !main) return;
        var active = document.activeElement;
        var activeId = active && active.id;
        main.innerHTML = fresh.innerHTML;
        if (activeId) {
          var again = document.getElementById(activeId);
          if (again) again.focus();
        }
        var live = document.getElementById("live");
        if (live) live.textContent = live.getAttribute("data-updated") || "";
        document.dispatchEvent(new CustomEvent("maillage:updated"));
      })
      .catch(function () {});
  }

  function listen() {
    if (!window.EventSource) return;
    var source = new EventSource("/events");
    source.addEventListener("changed", refresh);
  }

  document.addEventListener("DOMContentLoaded", function () {
    focusErrors();
    listen();
  });
})();
