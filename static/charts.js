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
      // No mode bar: its buttons inside the chart would be controls nested in a figure,
      // and the data table under each chart already gives every number.
      // Month names on time axes in the page's language (its locale file is loaded
      // beside the bundle on pages not in English).
      Plotly.newPlot(target, figure.data, figure.layout, {
        responsive: true, displaylogo: false, displayModeBar: false,
        locale: document.documentElement.lang || "en"
      });
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
}());
