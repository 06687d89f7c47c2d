/*
 * Unit lines on the application form: add and remove rows, and show units and amounts adding up.
 * The page works without this script; the server computes and checks every amount again.
 */
(function () {
  "use strict";

  var form = document.querySelector("[data-unit-lines-form]");
  if (!form) {
    return;
  }
  var container = form.querySelector("[data-unit-lines]");
  var template = document.getElementById("unit-line-template");
  var rules = JSON.parse(document.getElementById("unit-line-rules").textContent);
  var totalForms = form.querySelector('input[name="lines-TOTAL_FORMS"]');
  var addButton = form.querySelector("[data-add-line]");
  var totals = form.querySelector("[data-totals]");
  var windowSelect = form.querySelector('select[name="window"]');
  var euro = new Intl.NumberFormat("nl-NL", { style: "currency", currency: "EUR" });

  function field(row, name) {
    return row.querySelector('[name$="-' + name + '"]');
  }

  function rows() {
    return Array.prototype.filter.call(container.querySelectorAll("[data-unit-line]"), function (row) {
      return !row.hidden;
    });
  }

  // Reads an amount the way the server does (applications/forms.py, EURO_FORMATS); NaN when it would refuse it.
  var euroFormats = [
    [/^\d{1,3}(\.\d{3})+(,\d{1,2})?$/, function (v) { return v.replace(/\./g, "").replace(",", "."); }],
    [/^\d+(,\d{1,2})?$/, function (v) { return v.replace(",", "."); }],
    [/^\d+(\.\d{1,2})?$/, function (v) { return v; }],
    [/^\d{1,3}(,\d{3})+(\.\d{1,2})?$/, function (v) { return v.replace(/,/g, ""); }],
  ];

  function toCents(text) {
    var value = String(text).replace(/[\s\u00a0€]/g, "");
    if (value === "") {
      return null;
    }
    var sign = value.charAt(0) === "-" ? -1 : 1;
    value = value.replace(/^-/, "");
    for (var i = 0; i < euroFormats.length; i++) {
      if (euroFormats[i][0].test(value)) {
        return sign * Math.round(Number(euroFormats[i][1](value)) * 100);
      }
    }
    return NaN;
  }

  function formatCents(cents) {
    return euro.format(cents / 100);
  }

  // Maximum of one line in cents; null while incomplete, undefined when the kind is not eligible.
  function lineMaximum(row) {
    var units = Number(field(row, "units").value);
    var housingType = field(row, "housing_type").value;
    var permanence = field(row, "permanence").value;
    if (!Number.isInteger(units) || units <= 0 || !housingType || !permanence) {
      return null;
    }
    var perUnit = (rules.maxima[housingType] || {})[permanence];
    if (perUnit === null || perUnit === undefined) {
      return undefined;
    }
    return units * toCents(perUnit);
  }

  // Shows why a line is not in the total, or nothing when it is: "incomplete", "not-eligible" or "unreadable".
  function showUncounted(row, reason) {
    var notice = row.querySelector("[data-line-uncounted]");
    notice.hidden = !reason;
    Array.prototype.forEach.call(notice.querySelectorAll("[data-reason]"), function (span) {
      span.hidden = span.dataset.reason !== reason;
    });
  }

  // A line nobody has started on is no line (the server ignores it too); any other line is either in the total
  // or says on the line why it is not, so the total never looks complete when it is not.
  function isUntouched(row, requestedText) {
    return !field(row, "units").value && !requestedText.trim() && !field(row, "housing_type").value &&
      !field(row, "permanence").value && !field(row, "target_group").value;
  }

  function update() {
    var unitsTotal = 0;
    var amountTotal = 0;
    var unreadable = false;
    rows().forEach(function (row) {
      var units = Number(field(row, "units").value);
      var maximum = lineMaximum(row);
      var requestedInput = field(row, "requested_amount");
      var requested = toCents(requestedInput.value);
      var summary = row.querySelector("[data-line-summary]");
      var output = row.querySelector("[data-line-maximum]");
      var reason = "";
      if (Number.isInteger(units) && units > 0) {
        unitsTotal += units;
      }
      summary.hidden = maximum === null;
      requestedInput.placeholder = typeof maximum === "number" ? formatCents(maximum) : "";
      if (maximum === undefined) {
        output.textContent = form.dataset.notEligible || "–";
        reason = "not-eligible";
      } else {
        if (maximum !== null) {
          output.textContent = formatCents(maximum);
        }
        if (Number.isNaN(requested)) {
          unreadable = true;
          reason = "unreadable";
        } else if (requested !== null) {
          amountTotal += requested;
        } else if (maximum !== null) {
          amountTotal += maximum;
        } else if (!isUntouched(row, requestedInput.value)) {
          reason = "incomplete";
        }
      }
      showUncounted(row, reason);
    });
    totals.querySelector("[data-total-units]").textContent = String(unitsTotal);
    totals.querySelector("[data-total-amount]").textContent = formatCents(amountTotal);
    totals.querySelector("[data-total-unreadable]").hidden = !unreadable;
  }

  function renumber() {
    rows().forEach(function (row, index) {
      row.querySelector("[data-line-number]").textContent = String(index + 1);
    });
  }

  // Removing marks the row for deletion and hides it, so the indexes the server expects stay intact.
  function enableRemoval(row) {
    var deleteField = row.querySelector("[data-delete-field]");
    var checkbox = deleteField.querySelector('input[type="checkbox"]');
    var button = document.createElement("button");
    button.type = "button";
    button.className = "utrecht-button utrecht-button--subtle";
    button.textContent = deleteField.querySelector("label").textContent;
    button.addEventListener("click", function () {
      checkbox.checked = true;
      row.hidden = true;
      renumber();
      update();
      addButton.focus();
    });
    deleteField.hidden = true;
    deleteField.parentNode.appendChild(button);
  }

  function limitTargetGroups(row) {
    if (!windowSelect || !rules.windows[windowSelect.value]) {
      return;
    }
    var select = field(row, "target_group");
    var current = select.value;
    var blank = select.querySelector('option[value=""]');
    select.replaceChildren(blank || new Option("---------", ""));
    rules.windows[windowSelect.value].forEach(function (group) {
      select.appendChild(new Option(group[1], String(group[0]), false, String(group[0]) === current));
    });
  }

  function addLine() {
    var index = Number(totalForms.value);
    var html = template.innerHTML.replace(/__prefix__/g, String(index));
    var wrapper = document.createElement("div");
    wrapper.innerHTML = html;
    var row = wrapper.querySelector("[data-unit-line]");
    container.appendChild(row);
    totalForms.value = String(index + 1);
    enableRemoval(row);
    limitTargetGroups(row);
    renumber();
    update();
    field(row, "target_group").focus();
  }

  Array.prototype.forEach.call(container.querySelectorAll("[data-unit-line]"), function (row) {
    var checkbox = row.querySelector('[data-delete-field] input[type="checkbox"]');
    if (checkbox.checked) {
      row.hidden = true;
    }
    enableRemoval(row);
  });
  if (windowSelect) {
    windowSelect.addEventListener("change", function () {
      rows().forEach(limitTargetGroups);
    });
  }
  container.addEventListener("input", update);
  container.addEventListener("change", update);
  addButton.addEventListener("click", addLine);
  addButton.hidden = false;
  totals.hidden = false;
  renumber();
  update();
})();
