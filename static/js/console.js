// Small behaviours of the console and portal; everything works without them, just less smoothly.
(function () {
  "use strict";

  // Confirmation modal for destructive POSTs: <button data-confirm="...">.
  var modalEl = document.getElementById("confirm-modal");
  var pendingForm = null;
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-confirm]");
    if (!button || !modalEl || !window.bootstrap) return;
    event.preventDefault();
    pendingForm = button.form;
    modalEl.querySelector("[data-confirm-text]").textContent = button.dataset.confirm;
    var ok = modalEl.querySelector("[data-confirm-ok]");
    if (!ok.dataset.defaultText) ok.dataset.defaultText = ok.textContent;
    ok.textContent = button.dataset.confirmButton || ok.dataset.defaultText;
    bootstrap.Modal.getOrCreateInstance(modalEl).show();
  });
  if (modalEl) {
    modalEl.querySelector("[data-confirm-ok]").addEventListener("click", function () {
      if (pendingForm) pendingForm.submit();
    });
  }

  // Copy buttons: <button data-copy-target="#id">.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target]");
    if (!button) return;
    var source = document.querySelector(button.dataset.copyTarget);
    var text = source.value !== undefined ? source.value : source.textContent;
    var done = function () {
      var label = button.textContent;
      button.textContent = button.dataset.copiedText || "Copied";
      setTimeout(function () { button.textContent = label; }, 2000);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text.trim()).then(done);
    } else {
      source.select && source.select();
      document.execCommand("copy");
      done();
    }
  });

  // Long multi-selects (regions): a search box that hides the options that do not match.
  document.addEventListener("input", function (event) {
    var box = event.target.closest("[data-filter-for]");
    if (!box) return;
    var select = document.getElementById(box.dataset.filterFor);
    var needle = box.value.trim().toLowerCase();
    Array.prototype.forEach.call(select.options, function (option) {
      option.hidden = needle !== "" && !option.selected && option.text.toLowerCase().indexOf(needle) === -1;
    });
  });
})();
