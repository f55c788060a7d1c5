// Charts of the supervisor's statistics pages. Each `.chart[data-chart=ID]` is drawn with ECharts from
// the JSON option in <script type="application/json" id="ID"> (data blocks are not executed, so the
// Content-Security-Policy allows them); the table beside each chart holds the same figures.
(function () {
  "use strict";
  function draw() {
    if (!window.echarts) {
      return;
    }
    const charts = [];
    document.querySelectorAll(".chart[data-chart]").forEach((element) => {
      const source = document.getElementById(element.dataset.chart);
      if (!source) {
        return;
      }
      const chart = window.echarts.init(element, null, { renderer: "canvas" });
      chart.setOption(JSON.parse(source.textContent));
      charts.push(chart);
    });
    window.addEventListener("resize", () => charts.forEach((chart) => chart.resize()));
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
