// The deep-zoom viewer: OpenSeadragon over the commons' IIIF Image API 3.0 service, with the
// multi-channel extension (?channels=&colors=&min=&max=, docs/viewer.md) driven by a channel
// panel. The page URL holds the view (?ch=index:rrggbb:min:max,…&v=x,y,zoom) so it can be shared.
/* global OpenSeadragon */

const root = document.getElementById("viewer");
const iiifBase = root.dataset.iiif;
const osdPrefix = root.dataset.osdPrefix;
const panel = document.getElementById("channel-panel");
const status = document.getElementById("channel-status");
const MAX_SHORTCUT = 9;
const DEBOUNCE_MS = 250;
const NICE_STEPS = [1, 2, 5];

const state = { doc: null, info: null, channels: [], viewer: null, pending: null, generation: 0 };

async function fetchJson(url) {
  const response = await fetch(url, { credentials: "same-origin" });
  if (!response.ok) {
    let message = `HTTP ${response.status}`;
    try { message = (await response.json()).msg || message; } catch { /* not JSON */ }
    throw new Error(message);
  }
  return response.json();
}

// ---- channel state ------------------------------------------------------------------------

function defaultChannels(doc) {
  const on = new Set(doc.default_channels);
  return doc.channels.map((c) => ({
    index: c.index,
    name: c.name,
    target: c.target,
    on: on.has(c.index),
    color: c.color,
    min: c.auto[0],
    max: c.auto[1],
    auto: c.auto,
  }));
}

function fromUrl(channels) {
  const params = new URLSearchParams(location.search);
  const spec = params.get("ch");
  if (spec === null) return;
  const byIndex = new Map(channels.map((c) => [c.index, c]));
  channels.forEach((c) => { c.on = false; });
  for (const item of spec.split(",").filter(Boolean)) {
    const [index, color, min, max] = item.split(":");
    const channel = byIndex.get(Number(index));
    if (!channel) continue;
    channel.on = true;
    if (/^[0-9a-fA-F]{6}$/.test(color || "")) channel.color = color.toLowerCase();
    if (min !== undefined && min !== "" && Number.isFinite(Number(min))) channel.min = Number(min);
    if (max !== undefined && max !== "" && Number.isFinite(Number(max))) channel.max = Number(max);
  }
}

function tileQuery() {
  if (!state.doc || state.doc.rgb) return "";
  const on = state.channels.filter((c) => c.on);
  const params = new URLSearchParams({
    channels: on.map((c) => c.index).join(","),
    colors: on.map((c) => c.color).join(","),
    min: on.map((c) => c.min).join(","),
    max: on.map((c) => c.max).join(","),
  });
  return params.toString();
}

function saveUrl() {
  const params = new URLSearchParams(location.search);
  params.delete("signin");
  if (state.doc && !state.doc.rgb) {
    params.set("ch", state.channels.filter((c) => c.on).map((c) => `${c.index}:${c.color}:${c.min}:${c.max}`).join(","));
  }
  const viewer = state.viewer;
  if (viewer && viewer.world.getItemCount()) {
    const center = viewer.viewport.getCenter(true);
    const zoom = viewer.viewport.getZoom(true);
    params.set("v", [center.x, center.y, zoom].map((n) => Number(n.toFixed(5))).join(","));
  }
  history.replaceState(null, "", `${location.pathname}?${params.toString()}`);
}

// ---- tiles --------------------------------------------------------------------------------

function tileSource(query) {
  const data = OpenSeadragon.IIIFTileSource.prototype.configure(structuredClone(state.info), `${iiifBase}/info.json`);
  const source = new OpenSeadragon.IIIFTileSource(data);
  const base = OpenSeadragon.IIIFTileSource.prototype.getTileUrl;
  source.getTileUrl = function getTileUrl(level, x, y) {
    const url = base.call(this, level, x, y);
    return query ? `${url}?${query}` : url;
  };
  return source;
}

function markLoading(loading) {
  document.body.dataset.tilesLoaded = loading ? "no" : "yes";
}

// Swap in tiles of the new composition on top of the old ones, and drop the old image once
// the new one is fully drawn, so a change never blanks the view.
function recomposite() {
  const viewer = state.viewer;
  if (!viewer) return;
  const generation = ++state.generation;
  markLoading(true);
  viewer.addTiledImage({
    tileSource: tileSource(tileQuery()),
    index: viewer.world.getItemCount(),
    success: (event) => {
      const item = event.item;
      const done = () => {
        if (generation !== state.generation) return;
        while (viewer.world.getItemCount() > 1) viewer.world.removeItem(viewer.world.getItemAt(0));
        markLoading(false);
      };
      if (item.getFullyLoaded()) done();
      else item.addOnceHandler("fully-loaded-change", done);
    },
    error: (event) => {
      status.textContent = `Tiles could not be loaded: ${event.message || "error"}`;
      markLoading(false);
    },
  });
  saveUrl();
}

function scheduleRecomposite() {
  clearTimeout(state.pending);
  state.pending = setTimeout(recomposite, DEBOUNCE_MS);
}

// ---- channel panel ------------------------------------------------------------------------

function sliderDomain(channel) {
  const [low, high] = state.doc.limits;
  const top = Math.min(high, Math.max(channel.auto[1] * 2, channel.max, channel.auto[0] + 1));
  const float = state.doc.pixel_type.startsWith("float");
  return { min: Math.min(low, channel.min), max: top, step: float ? (top - low) / 1000 : 1 };
}

function rangeRow(channel, which, label) {
  const domain = sliderDomain(channel);
  const slider = Object.assign(document.createElement("input"), {
    type: "range", min: domain.min, max: domain.max, step: domain.step, value: channel[which],
  });
  slider.setAttribute("aria-label", `${label} of ${channel.name}`);
  slider.dataset.testid = `${which}-${channel.index}`;
  const number = Object.assign(document.createElement("input"), { type: "number", value: channel[which], step: domain.step });
  number.setAttribute("aria-label", `${label} value of ${channel.name}`);
  const apply = (value) => {
    if (!Number.isFinite(value)) return;
    channel[which] = value;
    slider.value = value;
    number.value = value;
    if (channel.on) scheduleRecomposite(); else saveUrl();
  };
  slider.addEventListener("input", () => apply(Number(slider.value)));
  number.addEventListener("change", () => apply(Number(number.value)));
  const name = document.createElement("span");
  name.textContent = label;
  return [name, slider, number];
}

function channelCard(channel, position) {
  const card = document.createElement("div");
  card.className = `channel${channel.on ? "" : " channel--off"}`;
  card.dataset.index = channel.index;
  const row = document.createElement("div");
  row.className = "channel__row";
  const key = document.createElement("span");
  key.className = "channel__key";
  key.textContent = position < MAX_SHORTCUT ? String(position + 1) : "";
  const toggle = Object.assign(document.createElement("input"), { type: "checkbox", checked: channel.on });
  toggle.setAttribute("aria-label", `Show ${channel.name}`);
  toggle.dataset.testid = `toggle-${channel.index}`;
  toggle.addEventListener("change", () => setOn(channel, toggle.checked));
  const color = Object.assign(document.createElement("input"), { type: "color", value: `#${channel.color}`, className: "channel__color" });
  color.setAttribute("aria-label", `Colour of ${channel.name}`);
  color.addEventListener("input", () => {
    channel.color = color.value.slice(1).toLowerCase();
    if (channel.on) scheduleRecomposite(); else saveUrl();
  });
  const name = document.createElement("span");
  name.className = "channel__name";
  name.textContent = channel.name;
  name.title = channel.target && channel.target !== channel.name ? `${channel.name} (${channel.target})` : channel.name;
  const auto = Object.assign(document.createElement("button"), { type: "button", className: "button channel__auto", textContent: "Auto" });
  auto.title = "Automatic range (1st–99.5th percentile)";
  auto.addEventListener("click", () => autoContrast([channel]));
  row.append(key, toggle, color, name, auto);
  const ranges = document.createElement("div");
  ranges.className = "channel__ranges";
  ranges.append(...rangeRow(channel, "min", "Min"), ...rangeRow(channel, "max", "Max"));
  card.append(row, ranges);
  return card;
}

function renderPanel() {
  panel.replaceChildren();
  if (state.doc.rgb) {
    const note = document.createElement("p");
    note.className = "muted";
    note.textContent = "RGB image (brightfield): shown in its own colours.";
    panel.append(note);
    return;
  }
  if (state.channels.length > 8) {
    const filter = Object.assign(document.createElement("input"), {
      type: "search", className: "viewer__filter", placeholder: `Filter ${state.channels.length} channels…`,
    });
    filter.setAttribute("aria-label", "Filter channels by name");
    filter.addEventListener("input", () => {
      const needle = filter.value.trim().toLowerCase();
      for (const card of panel.querySelectorAll(".channel")) {
        const channel = state.channels[Number(card.dataset.index)];
        const text = `${channel.name} ${channel.target || ""}`.toLowerCase();
        card.hidden = Boolean(needle) && !text.includes(needle);
      }
    });
    panel.append(filter);
  }
  state.channels.forEach((channel, position) => panel.append(channelCard(channel, position)));
}

function setOn(channel, on) {
  channel.on = on;
  const card = panel.querySelector(`.channel[data-index="${channel.index}"]`);
  if (card) {
    card.classList.toggle("channel--off", !on);
    card.querySelector('input[type="checkbox"]').checked = on;
  }
  scheduleRecomposite();
}

function autoContrast(channels) {
  for (const channel of channels) {
    channel.min = channel.auto[0];
    channel.max = channel.auto[1];
  }
  renderPanel();
  scheduleRecomposite();
}

// ---- readouts: zoom, cursor, scale bar ---------------------------------------------------

function formatLength(um) {
  if (um >= 1000) return `${Number((um / 1000).toPrecision(3))} mm`;
  if (um >= 1) return `${Number(um.toPrecision(3))} µm`;
  return `${Number((um * 1000).toPrecision(3))} nm`;
}

function imageZoom() {
  const viewer = state.viewer;
  const item = viewer.world.getItemAt(0);
  return item ? item.viewportToImageZoom(viewer.viewport.getZoom(true)) : 1;
}

function updateReadouts() {
  const zoom = imageZoom(); // screen pixels per image pixel
  const zoomText = document.getElementById("zoom-readout");
  zoomText.textContent = `zoom ${(zoom * 100).toPrecision(3)} %`;
  const bar = document.getElementById("scalebar");
  const umPerPixel = state.doc.um_per_pixel_x;
  const perScreenPx = umPerPixel ? umPerPixel / zoom : 1 / zoom;
  // The largest 1-2-5 length that fits in ~150 screen pixels.
  const target = perScreenPx * 150;
  const exponent = Math.floor(Math.log10(target));
  let length = 10 ** exponent;
  for (const step of NICE_STEPS) if (step * 10 ** exponent <= target) length = step * 10 ** exponent;
  bar.querySelector(".viewer__scalebar-bar").style.width = `${length / perScreenPx}px`;
  bar.querySelector("span").textContent = umPerPixel ? formatLength(length) : `${Number(length.toPrecision(3))} px`;
}

function showCursor(position) {
  const viewer = state.viewer;
  const item = viewer.world.getItemAt(0);
  const out = document.getElementById("cursor-readout");
  if (!item || !position) { out.textContent = ""; return; }
  const point = item.viewerElementToImageCoordinates(position);
  if (point.x < 0 || point.y < 0 || point.x > state.doc.width || point.y > state.doc.height) {
    out.textContent = "";
    return;
  }
  const um = state.doc.um_per_pixel_x;
  const px = `px ${Math.floor(point.x)}, ${Math.floor(point.y)}`;
  out.textContent = um
    ? `x ${(point.x * um).toFixed(1)} µm, y ${(point.y * (state.doc.um_per_pixel_y || um)).toFixed(1)} µm (${px})`
    : px;
}

// ---- keyboard ----------------------------------------------------------------------------

function onKey(event) {
  const target = event.target;
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return;
  const viewer = state.viewer;
  const visible = state.channels;
  if (/^[1-9]$/.test(event.key) && !state.doc.rgb) {
    const channel = visible[Number(event.key) - 1];
    if (channel) setOn(channel, !channel.on);
  } else if (event.key === "c") {
    autoContrast(state.channels);
  } else if (event.key === "h" || (event.key === "0" && target === document.body)) {
    viewer.viewport.goHome();
  } else if ((event.key === "+" || event.key === "=") && target === document.body) {
    viewer.viewport.zoomBy(1.5);
  } else if (event.key === "-" && target === document.body) {
    viewer.viewport.zoomBy(1 / 1.5);
  } else if (event.key === "?") {
    toggleHelp();
  } else {
    return;
  }
  event.preventDefault();
}

function toggleHelp() {
  const help = document.getElementById("viewer-help");
  const button = document.getElementById("help-toggle");
  help.hidden = !help.hidden;
  button.setAttribute("aria-expanded", String(!help.hidden));
}

// ---- start -------------------------------------------------------------------------------

async function start() {
  markLoading(true);
  const [info, doc] = await Promise.all([fetchJson(`${iiifBase}/info.json`), fetchJson(`${iiifBase}/channels.json`)]);
  state.info = info;
  state.doc = doc;
  state.channels = defaultChannels(doc);
  fromUrl(state.channels);
  status.textContent = doc.rgb ? "" : `${doc.channels.length} channels`;
  document.getElementById("auto-all").hidden = doc.rgb;
  renderPanel();
  const viewer = OpenSeadragon({
    element: document.getElementById("osd"),
    prefixUrl: osdPrefix + "images/",
    tileSources: tileSource(tileQuery()),
    showNavigator: true,
    navigatorPosition: "BOTTOM_RIGHT",
    showRotationControl: false,
    maxZoomPixelRatio: 4,
    visibilityRatio: 0.4,
    gestureSettingsMouse: { clickToZoom: false },
    imageLoaderLimit: 6,
  });
  state.viewer = viewer;
  window.htanViewer = state; // for scripts and tests
  viewer.addHandler("open", () => {
    const view = new URLSearchParams(location.search).get("v");
    if (view) {
      const [x, y, zoom] = view.split(",").map(Number);
      if ([x, y, zoom].every(Number.isFinite) && zoom > 0) {
        viewer.viewport.zoomTo(zoom, null, true);
        viewer.viewport.panTo(new OpenSeadragon.Point(x, y), true);
      }
    }
    const item = viewer.world.getItemAt(0);
    if (item.getFullyLoaded()) markLoading(false);
    item.addHandler("fully-loaded-change", (event) => {
      if (viewer.world.getItemCount() === 1) markLoading(!event.fullyLoaded);
    });
    updateReadouts();
  });
  viewer.addHandler("open-failed", (event) => { status.textContent = `The image could not be opened: ${event.message}`; });
  viewer.addHandler("animation", updateReadouts);
  viewer.addHandler("resize", updateReadouts);
  viewer.addHandler("animation-finish", () => {
    updateReadouts();
    saveUrl();
    const item = viewer.world.getItemAt(viewer.world.getItemCount() - 1);
    if (item && viewer.world.getItemCount() === 1) markLoading(!item.getFullyLoaded());
  });
  new OpenSeadragon.MouseTracker({
    element: viewer.element,
    moveHandler: (event) => showCursor(event.position),
    leaveHandler: () => showCursor(null),
  });
  document.getElementById("auto-all").addEventListener("click", () => autoContrast(state.channels));
  document.getElementById("home-view").addEventListener("click", () => viewer.viewport.goHome());
  document.getElementById("help-toggle").addEventListener("click", toggleHelp);
  document.addEventListener("keydown", onKey);
}

start().catch((error) => {
  status.textContent = `The viewer could not start: ${error.message}`;
  markLoading(false);
});
