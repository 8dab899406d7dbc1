// The dashboards' charts (ECharts, vendored). Each chart's options come from the page (json_script
// "dash-charts"), built from the same table that is printed under the chart.
(function () {
  var src = document.getElementById("dash-charts");
  if (!src || typeof echarts === "undefined") return;
  var options = JSON.parse(src.textContent);
  var charts = [];
  document.querySelectorAll("[data-chart]").forEach(function (box) {
    var option = options[box.getAttribute("data-chart")];
    if (!option) return;
    var chart = echarts.init(box, null, { renderer: "canvas" });
    chart.setOption(option);
    charts.push(chart);
  });
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
