// Bar charts of the report pages: each <canvas data-chart-source="id"> reads the JSON
// {labels, values} of the <script id="id"> beside it. Every figure is in the page's tables
// too; without this script only the pictures are missing.
(function () {
  "use strict";

  var BRAND = "#4f46e5";

  function axis(title, extra) {
    return Object.assign({ title: { display: Boolean(title), text: title || "" } }, extra || {});
  }

  function draw(canvas) {
    var source = document.getElementById(canvas.dataset.chartSource);
    if (!source || typeof Chart === "undefined") return;
    var data = JSON.parse(source.textContent);
    canvas.hidden = false;
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [{ label: canvas.dataset.yTitle || "", data: data.values, backgroundColor: BRAND }],
      },
      options: {
        animation: false,
        responsive: true,
        aspectRatio: 2,
        plugins: { legend: { display: false } },
        scales: {
          x: axis(canvas.dataset.xTitle),
          y: axis(canvas.dataset.yTitle, { beginAtZero: true, ticks: { precision: 0 } }),
        },
      },
    });
  }

  document.querySelectorAll("canvas[data-chart-source]").forEach(draw);
})();
