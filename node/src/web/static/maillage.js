// maillage: the little JavaScript the page needs. Everything works without
// it (forms post, links navigate); with it, changes from other households
// appear without reloading, and errors are announced.
"use strict";

(function () {
  // Focus the error summary of a form that came back with errors, so that a
  // screen reader reads it and a keyboard user starts there.
  function focusErrors() {
    var summary = document.querySelector(".error-summary");
    if (!summary) return;
    summary.querySelectorAll("a[data-field]").forEach(function (link) {
      var label = document.querySelector('label[for="' + link.getAttribute("data-field") + '"]');
      var colon = document.documentElement.lang === "fr" ? " : " : ": ";
      if (label) link.textContent = label.textContent.replace("*", "").trim() + colon + link.textContent;
    });
    summary.focus();
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

  var source = null;
  function listen() {
    if (!window.EventSource || source) return;
    source = new EventSource("/events");
    source.addEventListener("changed", refresh);
  }

  // A page kept in the back/forward cache keeps its stream open, and a
  // browser opens at most six connections to one server: after six pages
  // the next one would never load. Close the stream when the page is left;
  // listen again (and catch up) if it is shown from the cache.
  window.addEventListener("pagehide", function () {
    if (source) source.close();
    source = null;
  });
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    listen();
    refresh();
  });

  document.addEventListener("DOMContentLoaded", function () {
    focusErrors();
    listen();
  });
})();
