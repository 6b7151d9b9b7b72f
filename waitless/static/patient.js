// WaitLess patient page: progressive enhancement only. The page works without this file.
// Adds "Use my location" (device geolocation) and refreshes the results every few minutes.
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
    // A typed place replaces a device location from an earlier search.
    place.addEventListener("input", function () { lat.value = ""; lon.value = ""; });
  }

  var results = document.getElementById("results");
  if (results && window.fetch && window.DOMParser) {
    var seconds = parseInt(results.getAttribute("data-refresh-seconds"), 10) || 120;
    window.setInterval(function () {
      if (document.hidden) { return; }
      fetch(window.location.href, { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          if (!html) { return; }
          var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("results");
          var current = document.getElementById("results");
          // Keep an open "why not listed" panel open across refreshes.
          var open = current.querySelector("details[open]");
          if (fresh && current) {
            current.innerHTML = fresh.innerHTML;
            if (open && current.querySelector("details")) {
              current.querySelector("details").open = true;
            }
          }
        })
        .catch(function () { /* keep the last results on screen */ });
    }, seconds * 1000);
  }
}());
