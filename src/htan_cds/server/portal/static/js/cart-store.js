// The cart, kept in localStorage: whole filters ("Add All Files"), explicit file ids ("Add
// Selected") and removed ids. It stays a few hundred bytes whatever the number of files, and
// the server resolves it with one query (POST /api/cart/...).

import { fetchJson } from "./util.js";

const KEY = "htan-cds.cart.v1";
const COUNT_KEY = "htan-cds.cart.count.v1";
const listeners = new Set();

function empty() {
  return { filters: [], ids: [], removed: [] };
}

function canonicalFilter(filter) {
  const out = {};
  for (const key of Object.keys(filter).sort()) {
    const values = filter[key];
    if (Array.isArray(values) && values.length) out[key] = [...new Set(values)].sort();
  }
  return out;
}

/** The cart document as stored. */
export function loadCart() {
  try {
    const data = JSON.parse(localStorage.getItem(KEY) || "null");
    if (data && Array.isArray(data.filters) && Array.isArray(data.ids) && Array.isArray(data.removed)) {
      return data;
    }
  } catch {
    // a corrupt cart is treated as empty rather than breaking every page
  }
  return empty();
}

function save(cart) {
  localStorage.setItem(KEY, JSON.stringify(cart));
  for (const fn of listeners) fn(cart);
}

/** True when nothing has been added. */
export function isEmpty(cart = loadCart()) {
  return cart.filters.length === 0 && cart.ids.length === 0;
}

/** Add every file under `filter` (an object of facet -> values). */
export function addFilter(filter) {
  const cart = loadCart();
  const canon = canonicalFilter(filter);
  const key = JSON.stringify(canon);
  if (!cart.filters.some((f) => JSON.stringify(canonicalFilter(f)) === key)) cart.filters.push(canon);
  // Re-adding files brings back ones removed earlier.
  cart.removed = [];
  save(cart);
}

/** Add single files by DRS id. */
export function addIds(ids) {
  const cart = loadCart();
  const have = new Set(cart.ids);
  const back = new Set(ids);
  for (const id of ids) if (!have.has(id)) cart.ids.push(id);
  cart.removed = cart.removed.filter((id) => !back.has(id));
  save(cart);
}

/** Take one file out (works whether it came in by filter or by id). */
export function removeId(id) {
  const cart = loadCart();
  cart.ids = cart.ids.filter((x) => x !== id);
  if (!cart.removed.includes(id)) cart.removed.push(id);
  save(cart);
}

/** Empty the cart. */
export function clearCart() {
  save(empty());
  setCachedCount(0);
}

/** Called with the new cart after every change in this tab. */
export function onCartChange(fn) {
  listeners.add(fn);
}

export function cachedCount() {
  const n = Number(localStorage.getItem(COUNT_KEY));
  return Number.isFinite(n) ? n : 0;
}

function setCachedCount(n) {
  localStorage.setItem(COUNT_KEY, String(n));
  for (const badge of document.querySelectorAll("#cart-count")) {
    badge.textContent = new Intl.NumberFormat("en-US").format(n);
    badge.dataset.count = String(n);
  }
}

// Only the newest summary request may set the badge: an older answer (sent before a change)
// arriving late would otherwise show a stale count.
let badgeSeq = 0;

/** Ask the server what the cart holds; update the header badge. */
export async function refreshSummary(cart = loadCart()) {
  const seq = ++badgeSeq;
  if (isEmpty(cart)) {
    setCachedCount(0);
    return { files: 0, total_size: 0, participants: 0, samples: 0 };
  }
  const summary = await fetchJson("/api/cart/summary", { method: "POST", body: JSON.stringify({ cart }) });
  if (seq === badgeSeq) setCachedCount(summary.files);
  return summary;
}

export function showCachedCount() {
  setCachedCount(cachedCount());
}

export const STORAGE_KEY = KEY;
