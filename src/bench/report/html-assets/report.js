// The HTML report's own script, inlined after uPlot: draws every chart described in the page's
// data block (html-charts.ts builds it). It computes nothing — every number it draws was computed
// when the report was rendered — so a chart and the tables beside it cannot disagree.
//
// Each drawn chart's <figure> gets data-rendered="true", data-series-count (the series uPlot holds)
// and data-series-colors, which the browser test checks against the data and the canvas. An unsafe configuration is drawn dashed
// and labelled UNSAFE; on latency charts a configuration driven with coordinated omission is
// labelled †. A configuration keeps its colour on every chart of its workload.
(function () {
  'use strict';

  var PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
  var HEIGHT_PX = 320;
  var UNSAFE_DASH = [6, 4];

  var data = JSON.parse(document.getElementById('raftbench-data').textContent);
  var plots = [];

  function colorOf(series) {
    return PALETTE[series.colorIndex % PALETTE.length];
  }

  function labelOf(chart, series) {
    var label = series.label;
    if (series.unsafe) label += ' UNSAFE';
    if (chart.latency && series.coordinatedOmission) label += ' †';
    return label;
  }

  function numberText(value) {
    if (value === null || value === undefined || !isFinite(value)) return '—';
    if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
    return String(Number(value.toPrecision(3)));
  }

  /** x = 1 / (1 − p): 10 → "90", 1000 → "99.9". */
  function percentileText(x) {
    var percentile = 100 * (1 - 1 / x);
    var decimals = Math.max(0, Math.round(Math.log10(x)) - 2);
    return percentile.toFixed(Math.min(decimals + 1, 6)).replace(/\.?0+$/, '') + ' %';
  }

  function decadesBetween(min, max) {
    var splits = [];
    for (var x = 1; x <= max * 1.0001; x *= 10) if (x >= min * 0.9999) splits.push(x);
    return splits;
  }

  function valueRange(chart) {
    var max = 0;
    chart.y.forEach(function (values) {
      values.forEach(function (value) {
        if (value !== null && value > max) max = value;
      });
    });
    (chart.whiskers || []).forEach(function (whisker) {
      if (whisker !== null && whisker.high > max) max = whisker.high;
    });
    (chart.runs || []).forEach(function (runs) {
      runs.forEach(function (value) {
        if (value > max) max = value;
      });
    });
    return [0, max > 0 ? max * 1.08 : 1];
  }

  function seriesOptions(chart) {
    return chart.series.map(function (series) {
      var color = colorOf(series);
      var options = {
        label: labelOf(chart, series),
        stroke: color,
        width: 2,
        value: function (u, value) {
          return numberText(value);
        },
      };
      if (series.unsafe) options.dash = UNSAFE_DASH;
      if (chart.kind === 'bars') {
        options.fill = color + '99';
        options.width = 1;
        options.paths = uPlot.paths.bars({ size: [0.6, 120] });
        options.points = { show: false };
      } else {
        options.points = { show: true, size: 5, fill: color };
      }
      return options;
    });
  }

  /** The whiskers (the comparison's interval) and the runs (dots) over the bars. */
  function drawBarExtras(chart) {
    return function (u) {
      var context = u.ctx;
      var capPx = 8 * devicePixelRatio;
      context.save();
      context.setLineDash([]);
      chart.series.forEach(function (series, index) {
        var x = u.valToPos(index, 'x', true);
        var whisker = chart.whiskers[index];
        context.strokeStyle = '#222';
        context.fillStyle = '#222';
        context.lineWidth = 1.5 * devicePixelRatio;
        if (whisker !== null) {
          var low = u.valToPos(whisker.low, 'y', true);
          var high = u.valToPos(whisker.high, 'y', true);
          context.beginPath();
          context.moveTo(x, low);
          context.lineTo(x, high);
          context.moveTo(x - capPx, low);
          context.lineTo(x + capPx, low);
          context.moveTo(x - capPx, high);
          context.lineTo(x + capPx, high);
          context.stroke();
        }
        chart.runs[index].forEach(function (value, run) {
          var offset = (run - (chart.runs[index].length - 1) / 2) * 4 * devicePixelRatio;
          context.beginPath();
          context.arc(x + capPx * 1.8 + offset, u.valToPos(value, 'y', true), 2.5 * devicePixelRatio, 0, 2 * Math.PI);
          context.fill();
        });
      });
      context.restore();
    };
  }

  function axesOf(chart) {
    var xAxis = { label: chart.xLabel };
    var yAxis = {
      label: chart.yLabel,
      size: 70,
      values: function (u, splits) {
        return splits.map(numberText);
      },
    };
    if (chart.kind === 'bars') {
      xAxis.splits = function () {
        return chart.x.slice();
      };
      xAxis.values = function (u, splits) {
        return splits.map(function (index) {
          var series = chart.series[index];
          return series === undefined ? '' : labelOf(chart, series);
        });
      };
    } else if (chart.kind === 'spectrum') {
      xAxis.splits = function (u, axisIndex, min, max) {
        return decadesBetween(min, max);
      };
      xAxis.values = function (u, splits) {
        return splits.map(percentileText);
      };
    } else if (chart.xLabel === 'run') {
      xAxis.splits = function () {
        return chart.x.slice();
      };
    }
    return [xAxis, yAxis];
  }

  function scalesOf(chart) {
    var x = { time: false };
    if (chart.kind === 'spectrum') {
      x.distr = 3;
      x.log = 10;
    } else if (chart.kind === 'bars') {
      x.range = [-0.5, chart.x.length - 0.5];
    } else if (chart.x.length === 1) {
      x.range = [chart.x[0] - 1, chart.x[0] + 1];
    }
    return { x: x, y: { range: function () { return valueRange(chart); } } };
  }

  function draw(chart) {
    var figure = document.getElementById(chart.id);
    var target = figure.querySelector('.plot');
    var options = {
      width: Math.max(320, target.clientWidth),
      height: HEIGHT_PX,
      scales: scalesOf(chart),
      axes: axesOf(chart),
      series: [
        {
          label: chart.xLabel,
          value: function (u, value) {
            if (value === null) return '—';
            if (chart.kind === 'spectrum') return percentileText(value);
            if (chart.kind === 'bars') return chart.series[value] === undefined ? '' : chart.series[value].label;
            return numberText(value);
          },
        },
      ].concat(seriesOptions(chart)),
      legend: { live: true },
      cursor: { drag: { x: chart.kind !== 'bars', y: false } },
    };
    if (chart.kind === 'bars') options.hooks = { draw: [drawBarExtras(chart)] };
    var plot = new uPlot(options, [chart.x.slice()].concat(chart.y.map(function (values) { return values.slice(); })), target);
    figure.setAttribute('data-series-count', String(plot.series.length - 1));
    figure.setAttribute('data-series-colors', chart.series.map(colorOf).join(' '));
    figure.setAttribute('data-rendered', 'true');
    plots.push({ plot: plot, target: target });
  }

  data.charts.forEach(function (charts) {
    [charts.throughput, charts.spectrum, charts.overTime, charts.p99ByRun].concat(charts.costs).forEach(draw);
  });

  var resizeTimer = null;
  window.addEventListener('resize', function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      plots.forEach(function (entry) {
        entry.plot.setSize({ width: Math.max(320, entry.target.clientWidth), height: HEIGHT_PX });
      });
    }, 100);
  });
  document.body.setAttribute('data-charts-rendered', String(plots.length));
})();
