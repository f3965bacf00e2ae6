// Draws every chart of the page with the local plotly.js bundle. Each chart's figure is
// JSON in a <script type="application/json"> beside it; the data table stays on the page
// for people who cannot see the chart.
(function () {
  "use strict";
  function draw() {
    var plots = document.querySelectorAll(".plot[data-figure]");
    for (var i = 0; i < plots.length; i++) {
      var target = plots[i];
      var source = document.getElementById(target.getAttribute("data-figure"));
      if (!source || typeof Plotly === "undefined") { continue; }
      var figure = JSON.parse(source.textContent);
      Plotly.newPlot(target, figure.data, figure.layout, {
        responsive: true, displaylogo: false,
        modeBarButtonsToRemove: ["select2d", "lasso2d"]
      });
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
}());
