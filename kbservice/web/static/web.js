// Progressive enhancement only: every page works without this file.
"use strict";

// Once a product is chosen, the edition, architecture and service pack lists
// show only that product's choices.
function filterByProduct(product) {
  const chosen = product.value;
  for (const select of product.form.querySelectorAll("select[data-filter-by='product']")) {
    for (const group of select.querySelectorAll("optgroup[data-product]")) {
      const other = chosen !== "" && group.dataset.product !== chosen;
      group.hidden = other;
      group.disabled = other;
    }
    const selected = select.selectedOptions[0];
    if (selected && selected.parentElement.disabled) {
      select.value = "";
    }
  }
}

// Typed text is never lost by a stray click: leaving an edit form with unsaved
// changes asks first (the browser words the question).
function guardUnsaved(form) {
  let unsaved = form.dataset.unsaved === "true";
  form.addEventListener("input", () => { unsaved = true; });
  form.addEventListener("submit", () => { unsaved = false; });
  window.addEventListener("beforeunload", (event) => {
    if (unsaved) {
      event.preventDefault();
      event.returnValue = "";
    }
  });
}

// The rule builder: a changed rule kind, shape or test shows its own controls at once,
// and the examples' verdicts follow the typing (the server judges, as "Check" does).
function enhanceBuilder(form) {
  const check = form.querySelector("button[name='action'][value='check']:not(.visually-hidden)");
  for (const select of form.querySelectorAll("select[data-autosubmit]")) {
    select.addEventListener("change", () => form.requestSubmit(check));
  }
  let timer = null;
  const recheck = () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const response = await fetch(form.dataset.check, { method: "POST", body: new FormData(form) });
      if (!response.ok) {
        return;
      }
      const answer = await response.json();
      for (const output of form.querySelectorAll("output[data-verdict-for]")) {
        const result = answer.examples[Number(output.dataset.verdictFor)];
        output.textContent = result ? result.text : "—";
        output.className = result ? (result.ok ? "ok" : "fails") : "";
        output.closest("fieldset").classList.toggle("fails", Boolean(result && !result.ok));
      }
    }, 400);
  };
  // A choice in a list is a "change"; typing is an "input".
  form.addEventListener("input", recheck);
  form.addEventListener("change", recheck);
}

document.addEventListener("DOMContentLoaded", () => {
  const product = document.querySelector("select#product");
  if (product && product.form) {
    filterByProduct(product);
    product.addEventListener("change", () => filterByProduct(product));
  }
  for (const form of document.querySelectorAll("form.edit-form")) {
    guardUnsaved(form);
  }
  for (const form of document.querySelectorAll("form.rule-builder")) {
    enhanceBuilder(form);
  }
  const summary = document.getElementById("error-summary");
  if (summary) {
    summary.focus();
  }
});
