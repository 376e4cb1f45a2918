// File detail page: copy buttons, "Add to cart", and a placeholder when no thumbnail exists.

import { addIds, refreshSummary } from "./cart-store.js";
import { toast, wireCopyButtons } from "./util.js";

wireCopyButtons();

const addButton = document.getElementById("add-file");
if (addButton) {
  addButton.addEventListener("click", async () => {
    addIds([addButton.dataset.drsId]);
    await refreshSummary().catch(() => null);
    toast("Added the file to the cart");
  });
}

const img = document.getElementById("thumbnail");
const placeholder = document.getElementById("thumb-placeholder");
function showPlaceholder() {
  if (img) img.hidden = true;
  if (placeholder) placeholder.hidden = false;
}
if (img) {
  img.addEventListener("error", showPlaceholder);
  if (img.complete && img.naturalWidth === 0) showPlaceholder();
}
