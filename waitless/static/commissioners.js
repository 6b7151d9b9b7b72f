// Draws the commissioners' charts from the page's JSON block (the CSP forbids inline scripts).
(function () {
  "use strict";
  var block = document.getElementById("chart-data");
  if (!block || typeof Chart === "undefined") { return; }
  var data = JSON.parse(block.textContent);
  var NHS_BLUE = "#005eb8", NHS_GREY = "#768692", NHS_GREEN = "#007f3b", NHS_WARM_YELLOW = "#ffb81c";
  var common = { responsive: true, maintainAspectRatio: false, animation: false };

  function draw(id, config) {
    var canvas = document.getElementById(id);
    if (canvas) { new Chart(canvas, config); }
  }

  if (data.kind === "shift") {
    // Lines, not bars: the selection and the rest of England over the same months, with the
    // target (baseline share + target shift) drawn over the period months.
    draw("shift-chart", {
      type: "line",
      data: {
        labels: data.labels,
        datasets: [
          { label: "Selection: other share (%)", data: data.selection_pct, borderColor: NHS_BLUE,
            backgroundColor: NHS_BLUE, spanGaps: false,
            pointStyle: data.roles.map(function (role) { return role === "period" ? "rect" : "circle"; }) },
          { label: "Rest of England (%)", data: data.england_pct, borderColor: NHS_GREY,
            backgroundColor: NHS_GREY, borderDash: [2, 3] },
          { label: data.target_label, data: data.target_pct, borderColor: NHS_GREEN,
            backgroundColor: NHS_GREEN, borderDash: [8, 4], pointRadius: 0 }
        ]
      },
      options: Object.assign({}, common, {
        scales: { y: { title: { display: true, text: "% other" } } },
        plugins: { legend: { display: true }, subtitle: { display: true, text: "circles: baseline, squares: period" } }
      })
    });
  } else if (data.kind === "events") {
    draw("events-chart", {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [
          { label: "Rankings", data: data.rankings, backgroundColor: NHS_BLUE },
          { label: "Minor instead of ED", data: data.minor_instead_of_ed, backgroundColor: NHS_GREEN },
          { label: "Choices reported", data: data.choices, backgroundColor: NHS_WARM_YELLOW }
        ]
      },
      options: Object.assign({}, common, { scales: { y: { beginAtZero: true, title: { display: true, text: "count" } } } })
    });
    draw("minutes-chart", {
      type: "line",
      data: {
        labels: data.labels,
        datasets: [{ label: "Minutes saved", data: data.minutes_saved, borderColor: NHS_GREEN, backgroundColor: NHS_GREEN }]
      },
      options: Object.assign({}, common, { scales: { y: { beginAtZero: true, title: { display: true, text: "minutes" } } } })
    });
  }
  // Charts sized for the screen are redrawn to the paper width when printing.
  window.addEventListener("beforeprint", function () {
    Object.values(Chart.instances).forEach(function (chart) { chart.resize(); });
  });
}());
