// The lottery form's prize table: add a row, show only the fields a row's kind uses, and say
// what the probabilities add up to. The server checks everything again; without this script
// the form still works (two empty rows, every field shown).
(function () {
  "use strict";

  var box = document.querySelector("[data-outcomes]");
  if (!box) return;
  var prefix = box.dataset.prefix;
  var rows = box.querySelector("[data-outcome-rows]");
  var template = box.querySelector("template[data-outcome-template]");
  var addButton = box.querySelector("[data-outcome-add]");
  var sumHint = box.querySelector("[data-outcome-sum]");
  var total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
  var max = document.getElementById("id_" + prefix + "-MAX_NUM_FORMS");

  function field(row, name) {
    return row.querySelector("[name$='-" + name + "']");
  }

  // A points row names points, a prize row a prize, a coupon row a batch; "nothing" none,
  // and no inventory either.
  function showFieldsOf(row) {
    var kind = field(row, "kind").value;
    row.querySelectorAll("[data-outcome-needs]").forEach(function (cell) {
      cell.classList.toggle("d-none", kind !== "" && cell.dataset.outcomeNeeds !== kind);
    });
    row.querySelectorAll("[data-outcome-hidden-for]").forEach(function (cell) {
      cell.classList.toggle("d-none", cell.dataset.outcomeHiddenFor === kind);
    });
  }

  function removed(row) {
    var checkbox = field(row, "DELETE");
    return checkbox && checkbox.checked;
  }

  function updateSum() {
    var sum = 0;
    rows.querySelectorAll("[data-outcome-row]").forEach(function (row) {
      var value = parseFloat(field(row, "percent").value);
      if (!removed(row) && !isNaN(value)) sum += value;
    });
    sum = Math.round(sum * 10000) / 10000; // the form takes four decimals of a percent
    var text = sumHint.dataset.text.replace("{sum}", String(sum));
    var complete = sum === 100;
    if (!complete) text += " " + sumHint.dataset.missing;
    sumHint.textContent = text;
    sumHint.classList.toggle("text-success", complete);
    sumHint.classList.toggle("text-danger", !complete);
  }

  function updateAddButton() {
    addButton.disabled = max && parseInt(total.value, 10) >= parseInt(max.value, 10);
  }

  function addRow() {
    var index = parseInt(total.value, 10);
    var html = template.innerHTML.replace(/__prefix__/g, String(index));
    var holder = document.createElement("div");
    holder.innerHTML = html.trim();
    var row = holder.firstElementChild;
    rows.appendChild(row);
    total.value = String(index + 1);
    showFieldsOf(row);
    updateAddButton();
    field(row, "kind").focus();
  }

  box.addEventListener("change", function (event) {
    var row = event.target.closest("[data-outcome-row]");
    if (row && event.target === field(row, "kind")) showFieldsOf(row);
    updateSum();
  });
  box.addEventListener("input", updateSum);
  addButton.addEventListener("click", addRow);

  rows.querySelectorAll("[data-outcome-row]").forEach(showFieldsOf);
  addButton.classList.remove("d-none"); // only useful with this script
  updateAddButton();
  updateSum();
})();
