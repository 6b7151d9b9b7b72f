// WaitLess service worker: the page still works offline with the last answer it showed.
// Pages: network first; a page that came back is kept; offline, the kept copy of the same
// address (or else the last answer) is shown, and patient.js says how old it is.
"use strict";
// The shell's cache: the server puts a hash of this file and the SHELL files in its name
// (waitless/api/info_pages.py), so a deploy that changes one changes this script, browsers
// install it again and fetch the new files, and the old cache is deleted on activate.
var SHELL_CACHE = "waitless-shell";
// Pages and the last answer, kept across deploys.
var PAGES_CACHE = "waitless-pages";
var SHELL = ["/static/waitless.css", "/static/patient.js",
             "/static/vendor/nhsuk-frontend/nhsuk-frontend.min.css",
             "/static/vendor/nhsuk-frontend/nhsuk-frontend.min.js",
             "/assets/images/favicon.svg"];
var LAST = "/__last-answer";

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(SHELL_CACHE).then(function (cache) { return cache.addAll(SHELL); })
    .then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  // Every other cache is an earlier deploy's shell (or "waitless-v1", which held both).
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name !== SHELL_CACHE && name !== PAGES_CACHE;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (request.mode === "navigate" && url.pathname === "/") {
    event.respondWith(fetch(request).then(function (response) {
      if (response.ok) {
        var copy = response.clone();
        var answer = response.clone();
        caches.open(PAGES_CACHE).then(function (cache) {
          cache.put(request, copy);
          answer.text().then(function (html) {
            if (html.indexOf('id="answer"') >= 0 || html.indexOf('id="emergency"') >= 0) {
              cache.put(LAST, new Response(html, {headers: {"Content-Type": "text/html"}}));
            }
          });
        });
      }
      return response;
    }).catch(function () {
      return caches.open(PAGES_CACHE).then(function (cache) {
        return cache.match(request).then(function (hit) { return hit || cache.match(LAST); });
      });
    }));
    return;
  }
  if (SHELL.indexOf(url.pathname) >= 0) {
    event.respondWith(caches.match(request).then(function (hit) {
      return hit || fetch(request);
    }));
  }
});
