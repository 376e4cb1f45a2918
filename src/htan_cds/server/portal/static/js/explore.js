// The Data Explorer: facet sidebar, summary, Participants/Samples/Files tabs with server-side
// sorting and paging. The URL is the state (?atlas=…&assay=…&tab=files&sort=size&order=desc&page=2),
// so any view can be shared as a link and the back button undoes a selection.

import { addFilter, addIds, refreshSummary } from "./cart-store.js";
import { copyText, el, fetchJson, formatInt, formatSize, formatTotal, toast } from "./util.js";

const FILTER_KEYS = ["atlas", "center", "organ", "diagnosis", "assay", "level", "format", "release", "access", "participant", "biospecimen", "marker", "text"];
const TABS = ["participants", "samples", "files"];
const FACET_SEARCH_MIN = 7; // facets with more values get a search box

const VIEWABLE = /\.(ome\.tiff?|tiff?|svs|png|jpe?g)$/i; // images the IIIF viewer opens

function fileNameCell(r) {
  const link = el("a", { href: `/file/${encodeId(r.drs_id)}` }, r.name);
  if (!VIEWABLE.test(r.name || "")) return link;
  const view = el("a", { href: `/view/${encodeId(r.drs_id)}`, class: "view-link", title: "Open in the deep-zoom viewer" }, "View");
  return el("span", {}, link, " · ", view);
}

const COLUMNS = {
  files: [
    { key: "name", label: "File Name", render: fileNameCell },
    { key: "HTAN_Data_File_ID", label: "HTAN Data File ID" },
    { key: "atlas_name", label: "Study / Atlas" },
    { key: "HTAN_Participant_ID", label: "Participant" },
    { key: "assay", label: "Assay" },
    { key: "level", label: "Level" },
    { key: "File_Format", label: "Format" },
    { key: "size", label: "Size", num: true, render: (r) => el("span", { title: `${formatInt(r.size)} bytes` }, formatSize(r.size)) },
    { key: "access", label: "Access", render: (r) => el("span", { class: `tag tag--${r.access}` }, r.access) },
  ],
  participants: [
    { key: "HTAN_Participant_ID", label: "Participant" },
    { key: "atlas_name", label: "Study / Atlas" },
    { key: "Tissue_or_Organ_of_Origin", label: "Organ" },
    { key: "Primary_Diagnosis", label: "Primary Diagnosis" },
    { key: "Gender", label: "Gender" },
    { key: "Age_at_Diagnosis_years", label: "Age at Diagnosis", num: true },
    { key: "files", label: "Files", num: true, render: (r) => formatInt(r.files) },
    { key: "total_size", label: "Size", num: true, render: (r) => formatSize(r.total_size) },
  ],
  samples: [
    { key: "HTAN_Biospecimen_ID", label: "Sample" },
    { key: "HTAN_Participant_ID", label: "Participant" },
    { key: "Biospecimen_Type", label: "Type" },
    { key: "Tissue_or_Organ_of_Origin", label: "Organ" },
    { key: "Preservation_Method", label: "Preservation" },
    { key: "files", label: "Files", num: true, render: (r) => formatInt(r.files) },
    { key: "total_size", label: "Size", num: true, render: (r) => formatSize(r.total_size) },
  ],
};
const ROW_ID = { files: "drs_id", participants: "HTAN_Participant_ID", samples: "HTAN_Biospecimen_ID" };
const ID_FILTER = { participants: "participant", samples: "biospecimen" };
const DEFAULT_SORT = { files: "name", participants: "HTAN_Participant_ID", samples: "HTAN_Biospecimen_ID" };

const ui = {
  facetList: document.getElementById("facet-list"),
  active: document.getElementById("active-filters"),
  unmatched: document.getElementById("unmatched"),
  table: document.getElementById("results-table"),
  caption: document.getElementById("results-caption"),
  panel: document.getElementById("table-panel"),
  pager: document.getElementById("pager"),
  addAll: document.getElementById("add-all"),
  addSelected: document.getElementById("add-selected"),
  selectedCount: document.getElementById("selected-count"),
  pageSize: document.getElementById("page-size"),
  textForm: document.getElementById("text-search"),
  textInput: document.getElementById("text-query"),
};

// Sidebar state that is not in the URL: which facets are collapsed, what is typed in their search.
const facetUi = { collapsed: new Set(), search: {} };
let state = readUrl();
let selected = new Set();
let lastPage = null;
let lastSummary = null;
let requestSeq = 0;

function encodeId(id) {
  return id.split("/").map(encodeURIComponent).join("/");
}

function readUrl() {
  const params = new URLSearchParams(window.location.search);
  const filters = {};
  for (const key of FILTER_KEYS) {
    const values = [...new Set(params.getAll(key).filter((v) => v.trim() !== ""))];
    if (values.length) filters[key] = values;
  }
  const tab = TABS.includes(params.get("tab")) ? params.get("tab") : "files";
  const size = Number(params.get("size")) || 25;
  return {
    filters,
    tab,
    sort: params.get("sort") || DEFAULT_SORT[tab],
    order: params.get("order") === "desc" ? "desc" : "asc",
    page: Math.max(1, Number(params.get("page")) || 1),
    size: [10, 25, 50, 100].includes(size) ? size : 25,
  };
}

function filterParams(filters = state.filters) {
  const params = new URLSearchParams();
  for (const [key, values] of Object.entries(filters)) for (const v of values) params.append(key, v);
  return params;
}

function writeUrl(push) {
  const params = filterParams();
  if (state.tab !== "files") params.set("tab", state.tab);
  if (state.sort !== DEFAULT_SORT[state.tab]) params.set("sort", state.sort);
  if (state.order !== "asc") params.set("order", state.order);
  if (state.page > 1) params.set("page", String(state.page));
  if (state.size !== 25) params.set("size", String(state.size));
  const query = params.toString();
  const url = `${window.location.pathname}${query ? `?${query}` : ""}`;
  if (push) window.history.pushState(null, "", url);
  else window.history.replaceState(null, "", url);
}

function setFilter(key, values, push = true) {
  if (values.length) state.filters[key] = values;
  else delete state.filters[key];
  state.page = 1;
  selected.clear();
  writeUrl(push);
  refreshAll();
}

// ---- facets ---------------------------------------------------------------------------------

function facetValueId(name, index) {
  return `facet-${name}-${index}`;
}

function renderFacets(facets) {
  const focused = document.activeElement;
  const focusKey = focused && focused.dataset ? focused.dataset.focusKey : null;
  const frag = document.createDocumentFragment();
  for (const facet of facets) {
    const chosen = new Set(facet.selected);
    const collapsed = facetUi.collapsed.has(facet.name);
    const listId = `facet-list-${facet.name}`;
    const toggle = el(
      "button",
      { type: "button", class: "facet__toggle", "aria-expanded": String(!collapsed), "aria-controls": listId, dataset: { focusKey: `toggle:${facet.name}` } },
      el("span", {}, facet.label),
      chosen.size ? el("span", { class: "facet__badge" }, String(chosen.size)) : null,
    );
    toggle.addEventListener("click", () => {
      if (facetUi.collapsed.has(facet.name)) facetUi.collapsed.delete(facet.name);
      else facetUi.collapsed.add(facet.name);
      renderFacets(facets);
    });
    const group = el("fieldset", { class: "facet", "data-facet": facet.name }, el("legend", { class: "facet__legend" }, toggle));
    const body = el("div", { class: "facet__body", id: listId, hidden: collapsed });
    if (facet.values.length >= FACET_SEARCH_MIN) {
      const search = el("input", {
        type: "search",
        class: "facet__search",
        placeholder: `Search ${facet.label}`,
        "aria-label": `Search ${facet.label} values`,
        dataset: { focusKey: `search:${facet.name}` },
      });
      search.value = facetUi.search[facet.name] || "";
      search.addEventListener("input", () => {
        facetUi.search[facet.name] = search.value;
        filterFacetValues(body, search.value);
      });
      body.append(search);
    }
    const list = el("ul", { class: "facet__values" });
    facet.values.forEach((item, index) => {
      const id = facetValueId(facet.name, index);
      const box = el("input", {
        type: "checkbox",
        id,
        value: item.value,
        checked: chosen.has(item.value),
        dataset: { focusKey: `value:${facet.name}:${item.value}` },
      });
      box.addEventListener("change", () => {
        const values = new Set(state.filters[facet.name] || []);
        if (box.checked) values.add(item.value);
        else values.delete(item.value);
        setFilter(facet.name, [...values]);
      });
      list.append(
        el(
          "li",
          { class: `facet__value${item.count === 0 ? " facet__value--empty" : ""}`, "data-value": item.value.toLowerCase() },
          box,
          el("label", { for: id }, el("span", { class: "facet__name" }, item.value), el("span", { class: "facet__count" }, formatInt(item.count))),
        ),
      );
    });
    if (!facet.values.length) list.append(el("li", { class: "muted" }, "No values"));
    body.append(list);
    group.append(body);
    frag.append(group);
    if (facetUi.search[facet.name]) filterFacetValues(body, facetUi.search[facet.name]);
  }
  ui.facetList.replaceChildren(frag);
  ui.facetList.setAttribute("aria-busy", "false");
  if (focusKey) {
    const again = [...ui.facetList.querySelectorAll("[data-focus-key]")].find((n) => n.dataset.focusKey === focusKey);
    if (again) again.focus();
  }
}

function filterFacetValues(body, text) {
  const needle = text.trim().toLowerCase();
  for (const item of body.querySelectorAll(".facet__value")) {
    item.hidden = needle !== "" && !item.dataset.value.includes(needle);
  }
}

function renderActiveFilters() {
  const chips = [];
  for (const [key, values] of Object.entries(state.filters)) {
    for (const value of values) {
      const label = key === "text" ? `“${value}”` : value;
      chips.push(
        el(
          "button",
          {
            type: "button",
            class: "chip",
            "aria-label": `Remove filter ${key}: ${value}`,
            onclick: () => setFilter(key, (state.filters[key] || []).filter((v) => v !== value)),
          },
          el("span", { class: "chip__key" }, key),
          label,
          el("span", { class: "chip__x", "aria-hidden": "true" }, "×"),
        ),
      );
    }
  }
  ui.active.replaceChildren(...chips);
  ui.active.hidden = chips.length === 0;
  ui.textInput.value = (state.filters.text || []).join(" ");
}

// ---- summary and tables ---------------------------------------------------------------------

// A typed value nothing matches (e.g. ?assay=cycf): say so and offer the closest values.
function renderUnmatched(items) {
  const lines = items.map((item) => {
    const what = item.facet === "marker" ? "No image has a channel for marker" : `No ${item.facet} matches`;
    const swap = (value) => () => {
      const values = (state.filters[item.facet] || []).map((v) => (v === item.value ? value : v));
      setFilter(item.facet, [...new Set(values)]);
    };
    return el(
      "p",
      {},
      `${what} “${item.value}”.`,
      item.closest.length ? " Closest: " : null,
      ...item.closest.map((value) => el("button", { type: "button", class: "chip chip--suggest", onclick: swap(value) }, value)),
    );
  });
  ui.unmatched.replaceChildren(...lines);
  ui.unmatched.hidden = lines.length === 0;
}

function renderSummary(summary) {
  lastSummary = summary;
  renderUnmatched(summary.unmatched || []);
  document.getElementById("summary-participants").textContent = formatInt(summary.participants);
  document.getElementById("summary-samples").textContent = formatInt(summary.samples);
  document.getElementById("summary-files").textContent = formatInt(summary.files);
  const size = document.getElementById("summary-size");
  size.textContent = formatTotal(summary);
  size.title = `${formatInt(summary.total_size)} bytes`;
  document.getElementById("count-participants").textContent = formatInt(summary.participants);
  document.getElementById("count-samples").textContent = formatInt(summary.samples);
  // Controlled files without a covering grant are counted but not listed (docs/security.md).
  const listed = summary.listed_files ?? summary.files;
  const filesEl = document.getElementById("summary-files");
  filesEl.title = summary.hidden_files
    ? `${formatInt(summary.hidden_files)} controlled files are counted but listed only for holders of a grant`
    : "";
  document.getElementById("count-files").textContent = formatInt(listed);
  ui.addAll.disabled = listed === 0;
  ui.addAll.textContent = listed ? `Add All Files (${formatInt(listed)})` : "Add All Files";
}

function renderTabs() {
  for (const button of document.querySelectorAll("[role=tab]")) {
    const active = button.dataset.tab === state.tab;
    button.setAttribute("aria-selected", String(active));
    button.tabIndex = active ? 0 : -1;
  }
  ui.panel.setAttribute("aria-labelledby", `tab-${state.tab}`);
  ui.caption.textContent = state.tab[0].toUpperCase() + state.tab.slice(1);
}

function sortHeader(column) {
  const active = state.sort === column.key;
  const ariaSort = active ? (state.order === "desc" ? "descending" : "ascending") : null;
  const arrow = active ? (state.order === "desc" ? "▼" : "▲") : "↕";
  const button = el(
    "button",
    { type: "button", class: "sort-button", title: `Sort by ${column.label}` },
    column.label,
    el("span", { class: `sort-indicator${active ? " sort-indicator--active" : ""}`, "aria-hidden": "true" }, arrow),
  );
  button.addEventListener("click", () => {
    if (state.sort === column.key) state.order = state.order === "asc" ? "desc" : "asc";
    else {
      state.sort = column.key;
      state.order = column.num ? "desc" : "asc";
    }
    state.page = 1;
    writeUrl(false);
    loadTable({ focusSort: column.key });
  });
  return el("th", { scope: "col", class: column.num ? "num" : null, "aria-sort": ariaSort, dataset: { key: column.key } }, button);
}

function renderTable(page, options = {}) {
  lastPage = page;
  const columns = COLUMNS[state.tab];
  const idKey = ROW_ID[state.tab];
  const allBox = el("input", { type: "checkbox", "aria-label": "Select all rows on this page", id: "select-page" });
  const ids = page.items.map((r) => r[idKey]);
  allBox.checked = ids.length > 0 && ids.every((id) => selected.has(id));
  allBox.addEventListener("change", () => {
    for (const id of ids) (allBox.checked ? selected.add(id) : selected.delete(id));
    renderTable(page);
  });
  const head = el("tr", {}, el("th", { scope: "col", class: "select-col" }, allBox), ...columns.map(sortHeader));
  const rows = page.items.map((row) => {
    const id = row[idKey];
    const box = el("input", { type: "checkbox", "aria-label": `Select ${id}`, checked: selected.has(id), dataset: { id } });
    box.addEventListener("change", () => {
      if (box.checked) selected.add(id);
      else selected.delete(id);
      updateSelected();
      allBox.checked = ids.every((x) => selected.has(x));
    });
    const cells = columns.map((col) => {
      const value = col.render ? col.render(row) : row[col.key] ?? "—";
      return el("td", { class: col.num ? "num" : null, dataset: { col: col.key } }, value);
    });
    return el("tr", { class: selected.has(id) ? "is-selected" : null }, el("td", { class: "select-col" }, box), ...cells);
  });
  if (!rows.length) {
    rows.push(el("tr", {}, el("td", { colspan: String(columns.length + 1), class: "empty" }, "Nothing matches this selection.")));
  }
  ui.table.tHead.replaceChildren(head);
  ui.table.tBodies[0].replaceChildren(...rows);
  ui.panel.setAttribute("aria-busy", "false");
  renderPager(page);
  updateSelected();
  if (options.focusSort) {
    const th = ui.table.querySelector(`th[data-key="${CSS.escape(options.focusSort)}"] button`);
    if (th) th.focus();
  }
}

function renderPager(page) {
  const pages = Math.max(1, Math.ceil(page.total / page.limit));
  const current = Math.floor(page.offset / page.limit) + 1;
  const first = page.total ? page.offset + 1 : 0;
  const last = Math.min(page.offset + page.limit, page.total);
  const go = (n) => () => {
    state.page = n;
    writeUrl(false);
    loadTable();
  };
  const button = (label, n, disabled, aria) =>
    el("button", { type: "button", class: "button button--small", disabled, "aria-label": aria, onclick: go(n) }, label);
  ui.pager.replaceChildren(
    el("span", { class: "pager__status", "aria-live": "polite" }, `Showing ${formatInt(first)}–${formatInt(last)} of ${formatInt(page.total)}`),
    el(
      "span",
      { class: "pager__buttons" },
      button("«", 1, current <= 1, "First page"),
      button("‹ Prev", current - 1, current <= 1, "Previous page"),
      el("span", { class: "pager__page" }, `Page ${formatInt(current)} of ${formatInt(pages)}`),
      button("Next ›", current + 1, current >= pages, "Next page"),
      button("»", pages, current >= pages, "Last page"),
    ),
  );
}

function updateSelected() {
  ui.selectedCount.textContent = `(${formatInt(selected.size)})`;
  ui.addSelected.disabled = selected.size === 0;
  for (const box of ui.table.querySelectorAll("tbody input[type=checkbox]")) {
    box.closest("tr").classList.toggle("is-selected", box.checked);
  }
}

// ---- loading --------------------------------------------------------------------------------

async function loadTable(options = {}) {
  const seq = ++requestSeq;
  ui.panel.setAttribute("aria-busy", "true");
  const params = filterParams();
  params.set("sort", state.sort);
  params.set("order", state.order);
  params.set("limit", String(state.size));
  params.set("offset", String((state.page - 1) * state.size));
  try {
    const page = await fetchJson(`/api/${state.tab}?${params}`);
    if (seq !== requestSeq) return; // a newer request is on its way
    if (page.total > 0 && page.offset >= page.total) {
      state.page = Math.max(1, Math.ceil(page.total / state.size));
      writeUrl(false);
      loadTable(options);
      return;
    }
    renderTable(page, options);
  } catch (error) {
    if (seq === requestSeq) toast(`Could not load the table: ${error.message}`, "error");
  }
}

let facetSeq = 0;

async function refreshAll() {
  renderActiveFilters();
  renderTabs();
  const seq = ++facetSeq;
  const query = filterParams().toString();
  const facetsP = fetchJson(`/api/facets?${query}`);
  const summaryP = fetchJson(`/api/summary?${query}`);
  loadTable();
  try {
    const [facets, summary] = await Promise.all([facetsP, summaryP]);
    if (seq !== facetSeq) return;
    renderFacets(facets.facets);
    renderSummary(summary);
  } catch (error) {
    if (seq === facetSeq) toast(`Could not load the explorer: ${error.message}`, "error");
  }
}

// ---- actions --------------------------------------------------------------------------------

function currentFilter() {
  return JSON.parse(JSON.stringify(state.filters));
}

ui.addAll.addEventListener("click", async () => {
  addFilter(currentFilter());
  const n = lastSummary ? lastSummary.files : 0;
  const cart = await refreshSummary().catch(() => null);
  toast(`Added ${formatInt(n)} files to the cart${cart ? ` (${formatInt(cart.files)} in the cart)` : ""}`);
});

ui.addSelected.addEventListener("click", async () => {
  const ids = [...selected];
  if (state.tab === "files") addIds(ids);
  else addFilter({ ...currentFilter(), [ID_FILTER[state.tab]]: ids });
  selected.clear();
  if (lastPage) renderTable(lastPage);
  const cart = await refreshSummary().catch(() => null);
  const what = state.tab === "files" ? `${formatInt(ids.length)} selected files` : `the files of ${formatInt(ids.length)} selected ${state.tab}`;
  toast(`Added ${what} to the cart${cart ? ` (${formatInt(cart.files)} in the cart)` : ""}`);
});

for (const button of document.querySelectorAll("[role=tab]")) {
  button.addEventListener("click", () => selectTab(button.dataset.tab));
  button.addEventListener("keydown", (event) => {
    const index = TABS.indexOf(button.dataset.tab);
    let next = null;
    if (event.key === "ArrowRight") next = TABS[(index + 1) % TABS.length];
    if (event.key === "ArrowLeft") next = TABS[(index + TABS.length - 1) % TABS.length];
    if (event.key === "Home") next = TABS[0];
    if (event.key === "End") next = TABS[TABS.length - 1];
    if (next) {
      event.preventDefault();
      selectTab(next);
      document.getElementById(`tab-${next}`).focus();
    }
  });
}

function selectTab(tab) {
  if (tab === state.tab) return;
  state.tab = tab;
  state.sort = DEFAULT_SORT[tab];
  state.order = "asc";
  state.page = 1;
  selected.clear();
  writeUrl(true);
  renderTabs();
  loadTable();
}

ui.pageSize.value = String(state.size);
ui.pageSize.addEventListener("change", () => {
  state.size = Number(ui.pageSize.value);
  state.page = 1;
  writeUrl(false);
  loadTable();
});

ui.textForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const terms = ui.textInput.value.trim();
  setFilter("text", terms ? [terms] : []);
});

document.getElementById("clear-filters").addEventListener("click", () => {
  state.filters = {};
  state.page = 1;
  selected.clear();
  writeUrl(true);
  refreshAll();
});

document.getElementById("copy-link").addEventListener("click", async () => {
  const ok = await copyText(window.location.href);
  toast(ok ? "Link to this view copied" : "Copy failed: copy the address bar instead", ok ? "info" : "error");
});

window.addEventListener("popstate", () => {
  state = readUrl();
  selected.clear();
  ui.pageSize.value = String(state.size);
  refreshAll();
});

refreshAll();
