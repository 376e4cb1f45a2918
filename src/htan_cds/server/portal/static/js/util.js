// Small helpers shared by the portal's pages: formatting, fetch, DOM building, toasts, copying.

// One unit system everywhere (htan_cds/units.py is the Python twin; tests/test_units.py holds
// them to the same answers): IEC binary units, 1 KiB = 1024 bytes; unknown sizes say so.
const SIZE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

/** A whole number of bytes, or null when missing or not a number. */
function knownSize(bytes) {
  if (bytes === null || bytes === undefined || bytes === "" || typeof bytes === "boolean") return null;
  const value = Number(bytes);
  return Number.isFinite(value) ? Math.trunc(value) : null;
}

/** Bytes as a short IEC figure ("512 B", "1.5 KiB", "133.1 MiB"); "unknown" when not known. */
export function formatSize(bytes) {
  const size = knownSize(bytes);
  if (size === null) return "unknown";
  let value = size;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < SIZE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${size} B` : `${value.toFixed(1)} ${SIZE_UNITS[unit]}`;
}

/** The size of a summary's files: "1.2 GiB", "at least 1.2 GiB (3 files of unknown size)",
 * or "unknown" (summary: total_size, files, files_without_size). */
export function formatTotal(summary) {
  const files = summary.files || 0;
  const without = summary.files_without_size || 0;
  if (knownSize(summary.total_size) === null || (files && without >= files)) return "unknown";
  const shown = formatSize(summary.total_size);
  if (!without) return shown;
  return `at least ${shown} (${NUMBER.format(without)} file${without === 1 ? "" : "s"} of unknown size)`;
}

const NUMBER = new Intl.NumberFormat("en-US");

/** An integer with thousands separators. */
export function formatInt(n) {
  return n === null || n === undefined ? "—" : NUMBER.format(n);
}

/** Fetch JSON; throw an Error carrying the server's one-line message on failure. */
export async function fetchJson(url, options = {}) {
  const response = await fetch(url, {
    headers: { Accept: "application/json", ...(options.body ? { "Content-Type": "application/json" } : {}) },
    ...options,
  });
  let payload = null;
  try {
    payload = await response.json();
  } catch {
    payload = null;
  }
  if (!response.ok) {
    const message = payload && payload.msg ? payload.msg : `${response.status} ${response.statusText}`;
    throw new Error(message);
  }
  return payload;
}

/** Build an element: el("a", {href: "/x", class: "y"}, "text", child). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

let toastTimer = null;

/** Show a short status message (announced to screen readers). */
export function toast(message, kind = "info") {
  const box = document.getElementById("toast");
  if (!box) return;
  box.textContent = message;
  box.dataset.kind = kind;
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    box.hidden = true;
  }, 4000);
}

/** Copy text to the clipboard, falling back to a hidden textarea where the API is missing. */
export async function copyText(text) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // fall through to the textarea method
  }
  const area = el("textarea", { class: "visually-hidden", "aria-hidden": "true" });
  area.value = text;
  document.body.append(area);
  area.select();
  let ok = false;
  try {
    ok = document.execCommand("copy");
  } catch {
    ok = false;
  }
  area.remove();
  return ok;
}

/** Wire every `[data-copy-target]` button to copy its target element's text. */
export function wireCopyButtons(root = document) {
  for (const button of root.querySelectorAll("[data-copy-target]")) {
    button.addEventListener("click", async () => {
      const target = document.getElementById(button.dataset.copyTarget);
      if (!target) return;
      const ok = await copyText(target.textContent.trim());
      toast(ok ? "Copied to the clipboard" : "Copy failed: select the text and copy it", ok ? "info" : "error");
    });
  }
}
