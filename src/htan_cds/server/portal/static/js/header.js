// Every page: keep the header's cart badge right, also when another tab changes the cart.

import { STORAGE_KEY, refreshSummary, showCachedCount } from "./cart-store.js";

showCachedCount();
refreshSummary().catch(() => showCachedCount());
window.addEventListener("storage", (event) => {
  if (event.key === STORAGE_KEY) refreshSummary().catch(() => showCachedCount());
});
