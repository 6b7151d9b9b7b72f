// WaitLess patient page: progressive enhancement only. The page works without this file.
// Adds "Use my location", moves focus to the answer, "I'm going here", the offline notice,
// the service worker and a refresh of the results every few minutes.
(function () {
  "use strict";

  var form = document.getElementById("search-form");
  var wrapper = document.getElementById("locate-wrapper");
  var button = document.getElementById("locate-button");
  var status = document.getElementById("locate-status");
  var place = document.getElementById("place");
  var lat = document.getElementById("lat");
  var lon = document.getElementById("lon");

  if (form && button && "geolocation" in navigator) {
    wrapper.hidden = false;
    button.addEventListener("click", function () {
      status.textContent = "Finding your location…";
      button.disabled = true;
      navigator.geolocation.getCurrentPosition(function (position) {
        lat.value = position.coords.latitude.toFixed(5);
        lon.value = position.coords.longitude.toFixed(5);
        place.value = "";
        status.textContent = "Location found. Finding care near you…";
        form.submit();
      }, function () {
        button.disabled = false;
        status.textContent = "We could not get your location. Type a town or postcode instead.";
        place.focus();
      }, { enableHighAccuracy: false, timeout: 15000, maximumAge: 300000 });
    });
  }
  if (form && place) {
    // A typed place replaces a device location from an earlier search.
    place.addEventListener("input", function () { lat.value = ""; lon.value = ""; });
  }

  // Screen readers start at the answer (or the 999 message, or the error summary).
  var first = document.getElementById("emergency") || document.getElementById("error-summary") ||
    document.getElementById("answer");
  if (first) { first.focus(); }

  var answer = document.getElementById("answer");
  if (answer && !navigator.onLine) {
    var at = new Date(answer.getAttribute("data-generated-at"));
    var minutes = Math.max(0, Math.round((Date.now() - at.getTime()) / 60000));
    var age = minutes < 60 ? minutes + " minute" + (minutes === 1 ? "" : "s") :
      Math.floor(minutes / 60) + " hr " + (minutes % 60) + " min";
    var notice = document.createElement("p");
    notice.id = "offline-notice";
    notice.className = "nhsuk-body-s waitless-offline";
    notice.textContent = "You are offline. This is the last answer we had, from " +
      at.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" }) + " (" + age +
      " ago). Waits will have changed.";
    answer.insertBefore(notice, answer.firstChild.nextSibling);
  }

  var choose = document.querySelector(".waitless-choose");
  if (answer && choose && window.fetch) {
    choose.hidden = false;
    var chooseButton = choose.querySelector("button");
    var chooseStatus = choose.querySelector(".waitless-choose__status");
    chooseButton.addEventListener("click", function () {
      var body = { site_id: chooseButton.getAttribute("data-choice-site"),
                   kind: chooseButton.getAttribute("data-kind") };
      var eventId = answer.getAttribute("data-event-id");
      if (eventId) { body.event_id = eventId; }
      // The region that ranked this answer: the choice is counted with that ranking.
      var region = answer.getAttribute("data-region");
      if (region) { body.region = region; }
      chooseButton.disabled = true;
      fetch("/v1/choices", { method: "POST", credentials: "same-origin",
                             headers: { "Content-Type": "application/json" },
                             body: JSON.stringify(body) })
        .then(function (response) {
          chooseStatus.textContent = response.ok ? " Thank you: your choice helps the NHS plan." :
            " We could not record your choice. You can still go.";
        })
        .catch(function () { chooseStatus.textContent = " We could not record your choice."; });
    });
  }

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js").catch(function () { /* the page works without */ });
  }

  var results = document.getElementById("results");
  if (results && window.fetch && window.DOMParser && navigator.onLine) {
    var seconds = parseInt(results.getAttribute("data-refresh-seconds"), 10) || 120;
    window.setInterval(function () {
      if (document.hidden || !navigator.onLine) { return; }
      // The header: the same question again, not another patient; the server neither logs
      // nor counts it (docs/statistics.md), and this page keeps its first answer's event id.
      fetch(window.location.href, { credentials: "same-origin",
                                    headers: { "X-WaitLess-Refresh": "1" } })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          if (!html) { return; }
          var fresh = new DOMParser().parseFromString(html, "text/html");
          var freshAnswer = fresh.getElementById("answer");
          if (answer && freshAnswer && freshAnswer.getAttribute("data-best-site") !==
              answer.getAttribute("data-best-site")) {
            // The best place changed: its buttons and phone change too, so load it whole.
            // That load is a new recommendation, logged as a ranking of its own.
            window.location.reload();
            return;
          }
          var current = document.getElementById("results");
          var freshResults = fresh.getElementById("results");
          // Keep open panels open across refreshes.
          var open = Array.prototype.map.call(current.querySelectorAll("details[open]"),
            function (d) { return d.id || (d.parentNode && d.parentNode.getAttribute("data-site-id")); });
          if (freshResults && current) {
            current.innerHTML = freshResults.innerHTML;
            open.forEach(function (key) {
              var d = document.getElementById(key) ||
                current.querySelector('[data-site-id="' + key + '"] > details');
              if (d) { d.open = true; }
            });
          }
          var freshHeading = fresh.getElementById("answer-heading");
          var heading = document.getElementById("answer-heading");
          if (freshHeading && heading) { heading.textContent = freshHeading.textContent; }
          var freshUpdated = fresh.getElementById("last-updated");
          var updated = document.getElementById("last-updated");
          if (freshUpdated && updated) { updated.innerHTML = freshUpdated.innerHTML; }
        })
        .catch(function () { /* keep the last results on screen */ });
    }, seconds * 1000);
  }
}());
