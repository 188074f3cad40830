// Bar charts of the report pages and the dashboard: each <canvas data-chart-source="id">
// reads the JSON of the <script id="id"> beside it: {labels, values} for one series, or
// {labels, datasets: [{label, values}]} for stacked ones (data-horizontal draws them across).
// Every figure is in the page's tables too; without this script only the pictures are missing.
(function () {
  "use strict";

  var COLOURS = ["#4f46e5", "#f59e0b", "#d1d5db", "#10b981"];

  function axis(title, extra) {
    return Object.assign({ title: { display: Boolean(title), text: title || "" } }, extra || {});
  }

  function draw(canvas) {
    var source = document.getElementById(canvas.dataset.chartSource);
    if (!source || typeof Chart === "undefined") return;
    var data = JSON.parse(source.textContent);
    var series = data.datasets || [{ label: canvas.dataset.yTitle || "", values: data.values }];
    var stacked = Boolean(data.datasets);
    var horizontal = "horizontal" in canvas.dataset;
    var count = axis(horizontal ? canvas.dataset.xTitle : canvas.dataset.yTitle, {
      beginAtZero: true, stacked: stacked, ticks: { precision: 0 },
    });
    var labels = axis(horizontal ? canvas.dataset.yTitle : canvas.dataset.xTitle, { stacked: stacked });
    canvas.hidden = false;
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: series.map(function (set, i) {
          return { label: set.label, data: set.values, backgroundColor: COLOURS[i % COLOURS.length] };
        }),
      },
      options: {
        animation: false,
        responsive: true,
        aspectRatio: horizontal ? 2.5 : 2,
        indexAxis: horizontal ? "y" : "x",
        plugins: { legend: { display: stacked } },
        scales: horizontal ? { x: count, y: labels } : { x: labels, y: count },
      },
    });
  }

  document.querySelectorAll("canvas[data-chart-source]").forEach(draw);
})();
