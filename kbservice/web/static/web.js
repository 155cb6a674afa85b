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

document.addEventListener("DOMContentLoaded", () => {
  const product = document.querySelector("select#product");
  if (product && product.form) {
    filterByProduct(product);
    product.addEventListener("change", () => filterByProduct(product));
  }
  for (const form of document.querySelectorAll("form.edit-form")) {
    guardUnsaved(form);
  }
  const summary = document.getElementById("error-summary");
  if (summary) {
    summary.focus();
  }
});
