/*
 * The ministry's dashboard and progress-letter page.
 *
 * Charts: drawn with Chart.js (static/vendor/chart.umd.min.js) from the figures the page writes as JSON
 * (json_script, id in data-dashboard-charts). They repeat the table beside them, which stays the source for screen
 * readers and for browsers without scripts; without this script the charts stay hidden.
 *
 * Copy button: copies the progress-letter paragraph and says so in a live region. Without this script the button
 * stays hidden and the paragraph can be selected and copied by hand.
 */
(function () {
  "use strict";

  var COLOURS = {
    budget: "#01689b",
    requested: "#a90061",
    granted: "#275937",
    permanent: "#01689b",
    flexible: "#e17000",
  };
  var BAR_HEIGHT = 28;
  var LINE_LENGTH = 24;

  var locale = document.documentElement.lang === "en" ? "en-GB" : "nl-NL";
  var euros = new Intl.NumberFormat(locale, { style: "currency", currency: "EUR", maximumFractionDigits: 0 });
  var compactEuros = new Intl.NumberFormat(locale, {
    style: "currency",
    currency: "EUR",
    notation: "compact",
    maximumFractionDigits: 1,
  });
  var numbers = new Intl.NumberFormat(locale, { maximumFractionDigits: 0 });

  // A tranche's name on lines of about LINE_LENGTH characters, so that the bars keep their room on a phone.
  function lines(label) {
    var result = [""];
    label.split(" ").forEach(function (word) {
      var last = result.length - 1;
      if (result[last] && result[last].length + word.length + 1 > LINE_LENGTH) {
        result.push(word);
      } else {
        result[last] = result[last] ? result[last] + " " + word : word;
      }
    });
    return result;
  }

  function dataset(key, text, values) {
    return { label: text[key], data: values, backgroundColor: COLOURS[key], borderColor: COLOURS[key] };
  }

  function options(format, tickFormat, stacked) {
    return {
      indexAxis: "y",
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      scales: {
        x: {
          stacked: stacked,
          beginAtZero: true,
          ticks: {
            maxTicksLimit: 5,
            callback: function (value) {
              return tickFormat.format(value);
            },
          },
        },
        // Every tranche named, none skipped for lack of room.
        y: { stacked: stacked, ticks: { autoSkip: false } },
      },
      plugins: {
        legend: { position: "bottom" },
        tooltip: {
          callbacks: {
            label: function (context) {
              return context.dataset.label + ": " + format.format(context.parsed.x);
            },
          },
        },
      },
    };
  }

  function draw(canvas, labels, datasets, chartOptions, barsPerTranche) {
    // Room for every bar of every tranche, whatever the width: long tranche names stay readable on a phone.
    canvas.parentElement.style.height = labels.length * barsPerTranche * BAR_HEIGHT + 96 + "px";
    new window.Chart(canvas, { type: "bar", data: { labels: labels, datasets: datasets }, options: chartOptions });
  }

  function drawCharts(box) {
    var source = document.getElementById(box.getAttribute("data-dashboard-charts"));
    if (!source || !window.Chart) {
      return;
    }
    var figures = JSON.parse(source.textContent);
    var text = figures.text;
    box.hidden = false;
    var labels = figures.labels.map(lines);
    window.Chart.defaults.font.family = window.getComputedStyle(document.body).fontFamily;
    window.Chart.defaults.font.size = 13;
    window.Chart.defaults.color = "#333333";
    draw(
      box.querySelector("[data-chart=money]"),
      labels,
      [
        dataset("budget", text, figures.money.budget),
        dataset("requested", text, figures.money.requested),
        dataset("granted", text, figures.money.granted),
      ],
      options(euros, compactEuros, false),
      3
    );
    // Permanent and flexible stacked on one scale for every tranche: the bars compare across tranches.
    draw(
      box.querySelector("[data-chart=units]"),
      labels,
      [dataset("permanent", text, figures.units.permanent), dataset("flexible", text, figures.units.flexible)],
      options(numbers, numbers, true),
      2
    );
  }

  function setUpCopy(button) {
    var target = document.getElementById(button.getAttribute("data-copy-target"));
    var status = document.getElementById(button.getAttribute("data-copy-status"));
    if (!target || !status || !navigator.clipboard) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      status.textContent = "";
      navigator.clipboard.writeText(target.textContent.trim()).then(
        function () {
          status.textContent = button.getAttribute("data-copied-text");
        },
        function () {
          status.textContent = button.getAttribute("data-failed-text");
        }
      );
    });
  }

  document.querySelectorAll("[data-dashboard-charts]").forEach(drawCharts);
  document.querySelectorAll("[data-copy-target]").forEach(setUpCopy);
})();
