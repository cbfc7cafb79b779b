/**
 * Shades bands (faults, a spike) over a uPlot chart's plotting area as
 * elements, not paint, so each keeps its tooltip and stays aligned when the
 * chart is zoomed. Shared by the pages that draw timelines (this report's and
 * the breaker scenario's); plain JavaScript text the page runs as is.
 * Each band: { kind, label, from_s, to_s, colour }.
 */
export const band_overlay_script = String.raw`
  function secondsText(s) {
    return (Math.round(s * 10) / 10).toFixed(1) + ' s';
  }

  function drawBands(u, bands) {
    var over = u.over;
    var old = over.querySelectorAll('.fault-band');
    for (var i = 0; i < old.length; i++) old[i].remove();
    var plot_width = over.clientWidth;
    bands.forEach(function (band) {
      var left = Math.max(0, u.valToPos(band.from_s, 'x'));
      var right = Math.min(plot_width, u.valToPos(band.to_s, 'x'));
      if (right < 0 || left > plot_width) return;
      var el = document.createElement('div');
      el.className = 'fault-band fault-' + band.kind;
      el.title = band.label + ', ' + secondsText(band.from_s) + ' to ' + secondsText(band.to_s);
      el.style.left = left + 'px';
      el.style.width = Math.max(2, right - left) + 'px';
      el.style.background = band.colour;
      over.appendChild(el);
    });
  }
`;

/**
 * The report page's own script: reads the chart data from its JSON block and
 * draws the latency and throughput charts with uPlot, with each fault as a
 * shaded band over the plot and the main phase's end marked. Bands and marks
 * are elements over the plot (not paint on the canvas), so each keeps its
 * tooltip and stays aligned when the chart is zoomed (drag across it;
 * double-click to zoom out).
 *
 * Kept as plain JavaScript text: the page runs it as is.
 */
export const page_script = String.raw`
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var colours = { ok: '#2e7d32', fail: '#c62828', unknown: '#f9a825' };
  var chart_height_px = 300;

  function chartWidth(element) {
    return Math.max(320, Math.min(1060, element.clientWidth || 960));
  }
${band_overlay_script}
  // Fault bands and the phase mark, placed over the plotting area in CSS pixels.
  function drawOverlays(u) {
    drawBands(u, data.bands);
    var over = u.over;
    var old = over.querySelectorAll('.phase-mark');
    for (var i = 0; i < old.length; i++) old[i].remove();
    var plot_width = over.clientWidth;
    var x = u.valToPos(data.main_phase_end_s, 'x');
    if (x >= 0 && x <= plot_width) {
      var mark = document.createElement('div');
      mark.className = 'phase-mark';
      mark.style.left = x + 'px';
      mark.title = 'the time limit ended the main phase at ' + secondsText(data.main_phase_end_s) + (data.final_reads ? '; then every fault healed and the clients read once more' : '');
      var label = document.createElement('span');
      label.textContent = data.final_reads ? 'time limit: heal, final reads' : 'time limit';
      mark.appendChild(label);
      over.appendChild(mark);
    }
  }

  var hooks = { ready: [drawOverlays], setScale: [drawOverlays], setSize: [drawOverlays] };
  // The whole run, from 0 to its end, unless zoomed in to part of the data.
  var xScale = {
    time: false,
    range: function (u, min, max) {
      var xs = u.data[0];
      var whole = xs.length === 0 || min == null || (min <= xs[0] && max >= xs[xs.length - 1]);
      return whole ? [0, Math.max(data.end_s, max || 0)] : [min, max];
    },
  };

  function pointSeries(label, colour) {
    return {
      label: label,
      stroke: colour,
      fill: colour,
      paths: function () { return null; },
      points: { show: true, size: 5, width: 1, stroke: colour, fill: colour },
    };
  }

  function lineSeries(label, colour) {
    return { label: label, stroke: colour, width: 1.5, paths: uPlot.paths.stepped({ align: 1 }), points: { show: false } };
  }

  function draw(id, options, columns) {
    var element = document.getElementById(id);
    options.width = chartWidth(element);
    options.height = chart_height_px;
    options.hooks = hooks;
    // The cursor moves on both charts at once, at the same time.
    options.cursor = { sync: { key: 'run' } };
    return new uPlot(options, columns, element);
  }

  var charts = [];
  charts.push(draw('latency-chart', {
    scales: { x: xScale, y: { distr: 3 } },
    axes: [{ label: 'seconds since the run began' }, { label: 'latency (ms)', size: 70 }],
    series: [{ label: 'called at (s)' }, pointSeries('ok', colours.ok), pointSeries('fail', colours.fail), pointSeries('unknown', colours.unknown)],
    legend: { live: true },
  }, [data.latency.x, data.latency.ok, data.latency.fail, data.latency.unknown]));
  charts.push(draw('throughput-chart', {
    scales: { x: xScale, y: { range: function (u, min, max) { return [0, Math.max(1, max || 0)]; } } },
    axes: [{ label: 'seconds since the run began' }, { label: 'operations per second', size: 70 }],
    series: [{ label: 'second' }, lineSeries('ok', colours.ok), lineSeries('fail', colours.fail), lineSeries('unknown', colours.unknown)],
  }, [data.throughput.x, data.throughput.ok, data.throughput.fail, data.throughput.unknown]));

  window.addEventListener('resize', function () {
    charts.forEach(function (u) { u.setSize({ width: chartWidth(u.root.parentElement), height: chart_height_px }); });
  });
})();
`;
