// The cart page: what is in the cart (resolved by the server), remove/clear, and the export
// options, which post the cart document in a hidden field (plain forms: downloads and the CGC
// redirect are ordinary browser navigation).

import { clearCart, isEmpty, loadCart, onCartChange, refreshSummary, removeId } from "./cart-store.js";
import { copyText, el, fetchJson, formatInt, formatSize, formatTotal, toast } from "./util.js";

const PAGE_SIZE = 25;
const table = document.getElementById("cart-table");
const pager = document.getElementById("cart-pager");
const sources = document.getElementById("cart-sources");
const view = { offset: 0, sort: "name", order: "asc" };

const COLUMNS = [
  { key: "name", label: "File Name" },
  { key: "atlas_name", label: "Study / Atlas" },
  { key: "HTAN_Participant_ID", label: "Participant" },
  { key: "assay", label: "Assay" },
  { key: "File_Format", label: "Format" },
  { key: "size", label: "Size", num: true },
];

function encodeId(id) {
  return id.split("/").map(encodeURIComponent).join("/");
}

function describeFilter(filter) {
  const parts = Object.entries(filter).map(([k, v]) => `${k}: ${v.join(", ")}`);
  return parts.length ? parts.join(" · ") : "every file in the commons";
}

function renderSources(cart) {
  const items = cart.filters.map((f) => el("li", {}, el("span", { class: "tag" }, "filter"), " ", describeFilter(f)));
  if (cart.ids.length) items.push(el("li", {}, el("span", { class: "tag" }, "files"), ` ${formatInt(cart.ids.length)} added one by one`));
  if (cart.removed.length) items.push(el("li", {}, el("span", { class: "tag tag--controlled" }, "removed"), ` ${formatInt(cart.removed.length)} files taken out`));
  sources.replaceChildren(items.length ? el("ul", {}, ...items) : "");
}

function setActionsEnabled(enabled) {
  for (const button of document.querySelectorAll(".cart-action, #clear-cart")) button.disabled = !enabled;
}

// Each refresh gets a number; an answer to an older one (e.g. the first load, still in flight
// when the user clears the cart) must not overwrite a newer one.
let refreshSeq = 0;

async function renderSummary(cart, seq) {
  const summary = await refreshSummary(cart);
  if (seq !== refreshSeq) return summary;
  document.getElementById("cart-files").textContent = formatInt(summary.files);
  const size = document.getElementById("cart-size");
  size.textContent = formatTotal(summary);
  size.title = `${formatInt(summary.total_size)} bytes`;
  document.getElementById("cart-participants").textContent = formatInt(summary.participants);
  document.getElementById("cart-samples").textContent = formatInt(summary.samples);
  setActionsEnabled(summary.files > 0);
  return summary;
}

function header() {
  return el(
    "tr",
    {},
    ...COLUMNS.map((c) => {
      const active = view.sort === c.key;
      const button = el(
        "button",
        { type: "button", class: "sort-button" },
        c.label,
        el("span", { class: `sort-indicator${active ? " sort-indicator--active" : ""}`, "aria-hidden": "true" }, active ? (view.order === "desc" ? "▼" : "▲") : "↕"),
      );
      button.addEventListener("click", () => {
        view.order = view.sort === c.key && view.order === "asc" ? "desc" : "asc";
        view.sort = c.key;
        view.offset = 0;
        loadPage();
      });
      return el("th", { scope: "col", class: c.num ? "num" : null, "aria-sort": active ? (view.order === "desc" ? "descending" : "ascending") : null }, button);
    }),
    el("th", { scope: "col" }, el("span", { class: "visually-hidden" }, "Remove")),
  );
}

async function loadPage(seq = refreshSeq) {
  const cart = loadCart();
  table.tHead.replaceChildren(header());
  if (isEmpty(cart)) {
    table.tBodies[0].replaceChildren(
      el("tr", {}, el("td", { colspan: String(COLUMNS.length + 1), class: "empty" }, "The cart is empty. ", el("a", { href: "/explore" }, "Explore data"), " and add files.")),
    );
    pager.replaceChildren();
    return;
  }
  const page = await fetchJson("/api/cart/files", {
    method: "POST",
    body: JSON.stringify({ cart, sort: view.sort, order: view.order, offset: view.offset, limit: PAGE_SIZE }),
  });
  if (seq !== refreshSeq) return;
  if (page.total > 0 && page.offset >= page.total) {
    view.offset = Math.max(0, (Math.ceil(page.total / PAGE_SIZE) - 1) * PAGE_SIZE);
    return loadPage(seq);
  }
  const rows = page.items.map((r) =>
    el(
      "tr",
      {},
      el("td", {}, el("a", { href: `/file/${encodeId(r.drs_id)}` }, r.name)),
      el("td", {}, r.atlas_name ?? "—"),
      el("td", {}, r.HTAN_Participant_ID ?? "—"),
      el("td", {}, r.assay ?? "—"),
      el("td", {}, r.File_Format ?? "—"),
      el("td", { class: "num", title: `${formatInt(r.size)} bytes` }, formatSize(r.size)),
      el(
        "td",
        {},
        el(
          "button",
          {
            type: "button",
            class: "button button--small button--link",
            "aria-label": `Remove ${r.name} from the cart`,
            onclick: () => {
              removeId(r.drs_id);
              toast(`Removed ${r.name}`);
            },
          },
          "Remove",
        ),
      ),
    ),
  );
  if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: String(COLUMNS.length + 1), class: "empty" }, "No files are left in the cart.")));
  table.tBodies[0].replaceChildren(...rows);
  const pages = Math.max(1, Math.ceil(page.total / PAGE_SIZE));
  const current = Math.floor(page.offset / PAGE_SIZE) + 1;
  const go = (n) => () => {
    view.offset = (n - 1) * PAGE_SIZE;
    loadPage();
  };
  pager.replaceChildren(
    el("span", { class: "pager__status" }, `Showing ${formatInt(page.total ? page.offset + 1 : 0)}–${formatInt(Math.min(page.offset + PAGE_SIZE, page.total))} of ${formatInt(page.total)}`),
    el(
      "span",
      { class: "pager__buttons" },
      el("button", { type: "button", class: "button button--small", disabled: current <= 1, onclick: go(current - 1), "aria-label": "Previous page" }, "‹ Prev"),
      el("span", { class: "pager__page" }, `Page ${formatInt(current)} of ${formatInt(pages)}`),
      el("button", { type: "button", class: "button button--small", disabled: current >= pages, onclick: go(current + 1), "aria-label": "Next page" }, "Next ›"),
    ),
  );
}

// Citations of the collections behind the cart (IDC series carry a DOI each collection).
async function renderCitations(cart, seq) {
  const box = document.getElementById("cart-citations");
  if (!box) return;
  const result = isEmpty(cart)
    ? { collections: [] }
    : await fetchJson("/api/cart/citations", { method: "POST", body: JSON.stringify({ cart }) });
  if (seq !== refreshSeq) return;
  box.replaceChildren(
    ...result.collections.map((c) =>
      el(
        "li",
        { class: "citation", dataset: { doi: c.doi || "" } },
        c.citation || c.title || c.collection_id,
        " ",
        c.doi ? el("a", { href: `https://doi.org/${c.doi}`, rel: "noopener noreferrer" }, `doi:${c.doi}`) : "",
        c.license ? ` (${c.license})` : "",
      ),
    ),
  );
  document.getElementById("cart-citations-empty").hidden = result.collections.length > 0;
}

async function refresh() {
  const seq = ++refreshSeq;
  const cart = loadCart();
  renderSources(cart);
  try {
    await Promise.all([renderSummary(cart, seq), loadPage(seq), renderCitations(cart, seq)]);
  } catch (error) {
    toast(`Could not load the cart: ${error.message}`, "error");
  }
}

// The forms carry the cart document; filling it at submit time sends the current cart.
for (const form of document.querySelectorAll("#export-form, #manifest-form")) {
  form.addEventListener("submit", (event) => {
    const cart = loadCart();
    if (isEmpty(cart)) {
      event.preventDefault();
      toast("The cart is empty", "error");
      return;
    }
    form.querySelector(".cart-field").value = JSON.stringify(cart);
  });
}

document.getElementById("clear-cart").addEventListener("click", () => {
  if (window.confirm("Remove every file from the cart?")) {
    clearCart();
    toast("The cart is empty now");
  }
});

document.getElementById("cli-button").addEventListener("click", async () => {
  try {
    const result = await fetchJson("/api/cart/cli", { method: "POST", body: JSON.stringify({ cart: loadCart() }) });
    const box = document.getElementById("cli-output");
    document.getElementById("cli-text").textContent = result.command;
    box.hidden = false;
    const ok = await copyText(result.command);
    toast(ok ? "CLI command copied to the clipboard" : "Select the command below and copy it", ok ? "info" : "error");
  } catch (error) {
    toast(`Could not make the command: ${error.message}`, "error");
  }
});

onCartChange(() => refresh());
window.addEventListener("storage", () => refresh());
refresh();
