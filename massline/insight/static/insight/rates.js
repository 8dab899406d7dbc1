// The trend of the three rates on the insight dashboard (ECharts). The same numbers are in the table below it.
(function () {
  var box = document.getElementById("rates-trend");
  var src = document.getElementById("rates-trend-data");
  if (!box || !src || typeof echarts === "undefined") return;
  var data = JSON.parse(src.textContent);
  var chart = echarts.init(box);
  chart.setOption({
    tooltip: { trigger: "axis", valueFormatter: function (v) { return v == null ? "—" : v.toFixed(2) + "%"; } },
    legend: { data: data.series.map(function (s) { return s.name; }) },
    grid: { left: 48, right: 16, top: 40, bottom: 32 },
    xAxis: { type: "category", data: data.months },
    yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
    series: data.series.map(function (s) { return { name: s.name, type: "line", data: s.data, connectNulls: false, showSymbol: true, symbolSize: 7 }; })
  });
  window.addEventListener("resize", function () { chart.resize(); });
})();
