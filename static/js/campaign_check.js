// The campaign page's check panel: the width of the simulation's progress bar, and the charts
// of its result. Every number is in the page's tables too; without this script only the
// pictures are missing. Runs again on what HTMX swaps in (the panel polls while a job runs).
(function () {
  "use strict";

  var BRAND = "#4f46e5";
  var DANGER = "#dc3545";
  var MUTED = "#9ca3af";

  // Set here, not in a style attribute, so that the page needs no inline styles (CSP).
  function progressBars(root) {
    within(root, "[data-progress]").forEach(function (bar) {
      var percent = Math.max(0, Math.min(100, parseFloat(bar.dataset.progress) || 0));
      bar.style.width = percent + "%";
    });
  }

  function within(root, selector) {
    var found = Array.prototype.slice.call(root.querySelectorAll(selector));
    if (root.matches && root.matches(selector)) found.unshift(root);
    return found;
  }

  function result() {
    var data = document.getElementById("simulation-data");
    return data ? JSON.parse(data.textContent) : null;
  }

  function axis(title, extra) {
    var options = { title: { display: Boolean(title), text: title || "" } };
    return Object.assign(options, extra || {});
  }

  function bars(canvas, labels, values, colours, extra) {
    var options = {
      animation: false,
      responsive: true,
      aspectRatio: 1.3,
      plugins: { legend: { display: false } },
      scales: {
        x: axis(canvas.dataset.xTitle),
        y: axis(canvas.dataset.yTitle, { beginAtZero: true, ticks: { precision: 0 } }),
      },
    };
    return {
      type: "bar",
      data: {
        labels: labels,
        datasets: [{ label: canvas.dataset.yTitle || "", data: values, backgroundColor: colours }],
      },
      options: Object.assign(options, extra || {}),
    };
  }

  var charts = {
    histogram: function (canvas, program) {
      return bars(
        canvas,
        program.histogram.map(function (row) { return row.bucket; }),
        program.histogram.map(function (row) { return row.holders; }),
        BRAND
      );
    },
    regions: function (canvas, program) {
      return bars(
        canvas,
        program.regions_unlocked.map(function (row) { return String(row.regions); }),
        program.regions_unlocked.map(function (row) { return row.holders; }),
        BRAND
      );
    },
    prizes: function (canvas, program) {
      return bars(
        canvas,
        program.prizes.map(function (row) { return row.name; }),
        program.prizes.map(function (row) { return row.holders; }),
        program.prizes.map(function (row) { return row.holders ? BRAND : DANGER; })
      );
    },
    // What this program's points cost beside what the budget has left: a horizontal bar each.
    cost: function (canvas, program, all) {
      var money = parseFloat(program.money);
      var available = parseFloat(all.budget_available);
      return bars(
        canvas,
        [canvas.dataset.costLabel, canvas.dataset.budgetLabel],
        [money, available],
        [money > available ? DANGER : BRAND, MUTED],
        {
          indexAxis: "y",
          scales: {
            x: axis(canvas.dataset.xTitle, { beginAtZero: true }),
            y: axis(""),
          },
        }
      );
    },
  };

  function drawCharts(root) {
    if (!window.Chart) return;
    var canvases = within(root, "canvas[data-chart]");
    if (!canvases.length) return;
    var all = result();
    if (!all) return;
    var programs = {};
    all.programs.forEach(function (program) { programs[program.program] = program; });
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily; // CJK faces too
    canvases.forEach(function (canvas) {
      var program = programs[canvas.dataset.program];
      var build = charts[canvas.dataset.chart];
      if (!program || !build || Chart.getChart(canvas)) return;
      canvas.hidden = false;
      new Chart(canvas, build(canvas, program, all));
    });
  }

  function setUp(root) {
    progressBars(root);
    drawCharts(root);
  }

  if (window.htmx) {
    htmx.onLoad(setUp); // the first load, then every swap
  } else {
    setUp(document);
  }
})();
