// Drives the real Home Assistant frontend in headless Chromium (playwright-core).
//
// Usage: node drive.mjs <job.json>
// job: { ha_url, domain, shots_dir, chromium, ev_switch_name, reserve_name, timeout_ms }
// Prints one JSON line with what it did; exits non-zero with a message on failure
// (a failure screenshot is written next to the log when possible).
import { readFileSync } from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";

const job = JSON.parse(readFileSync(process.argv[2], "utf8"));
const TIMEOUT = job.timeout_ms ?? 60000;
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
  "--disable-dev-shm-usage",
];

const result = { steps: [], screenshots: [] };
const log = (msg) => {
  result.steps.push(msg);
  process.stderr.write(`[e2e] ${msg}\n`);
};

async function shot(page, name) {
  const file = path.join(job.shots_dir, name);
  // Let lazy cards and icons finish rendering.
  await page.waitForTimeout(800);
  await page.screenshot({ path: file });
  result.screenshots.push(file);
  log(`screenshot ${name}`);
}

// Wait until the frontend is connected and has states.
async function waitForHass(page) {
  await page.waitForFunction(
    () => {
      const ha = document.querySelector("home-assistant");
      return Boolean(ha?.hass?.connected && ha.hass.states && Object.keys(ha.hass.states).length);
    },
    null,
    { timeout: TIMEOUT },
  );
}

async function callWS(page, message) {
  return page.evaluate((msg) => document.querySelector("home-assistant").hass.callWS(msg), message);
}

async function stateOf(page, entityId) {
  return page.evaluate(
    (eid) => document.querySelector("home-assistant").hass.states[eid]?.state ?? null,
    entityId,
  );
}

// Our entity on `platform` whose translated name is one of `names` (case-insensitive).
function findEntity(registry, states, domain, platform, names) {
  const wanted = [names].flat().map((n) => n.toLowerCase());
  const ours = registry.filter((e) => e.platform === domain && e.entity_id.startsWith(`${platform}.`));
  const nameOf = (e) => (e.name ?? e.original_name ?? "").toLowerCase();
  const friendly = (e) => (states[e.entity_id]?.attributes?.friendly_name ?? "").toLowerCase();
  for (const name of wanted) {
    const found = ours.find((e) => nameOf(e) === name || friendly(e).endsWith(` ${name}`));
    if (found) return found;
  }
  const have = ours.map((e) => `${e.entity_id} (${e.original_name})`).join(", ");
  throw new Error(`no ${platform} entity named ${wanted.join(" / ")} from ${domain}; have: ${have || "none"}`);
}

// Mark the device page's row for `entityId` (rows live deep in shadow roots).
async function markRow(page, entityId, mark) {
  await page.waitForFunction(
    ({ eid, tag }) => {
      const walk = (root) => {
        for (const el of root.querySelectorAll("*")) {
          if (el.localName.endsWith("-entity-row") && el.config?.entity === eid) {
            el.setAttribute("data-e2e", tag);
            return true;
          }
          if (el.shadowRoot && walk(el.shadowRoot)) return true;
        }
        return false;
      };
      return walk(document);
    },
    { eid: entityId, tag: mark },
    { timeout: TIMEOUT },
  );
  return page.locator(`[data-e2e="${mark}"]`);
}

async function openDevice(page, deviceId, title) {
  await page.goto(`${job.ha_url}/config/devices/device/${deviceId}`);
  await waitForHass(page);
  await page.getByText(title, { exact: true }).first().waitFor({ timeout: TIMEOUT });
}

async function toggleCharging(page, entity, deviceName) {
  await openDevice(page, entity.device_id, deviceName);
  const row = await markRow(page, entity.entity_id, "ev-charging");
  await row.scrollIntoViewIfNeeded();
  await shot(page, "ev-charger-device.png");
  const before = await stateOf(page, entity.entity_id);
  log(`${entity.entity_id} is ${before}; clicking its switch`);
  await row.locator("ha-switch").first().click();
  await page.waitForFunction(
    ({ eid, old }) => {
      const s = document.querySelector("home-assistant").hass.states[eid]?.state;
      return s && s !== old && s !== "unavailable";
    },
    { eid: entity.entity_id, old: before },
    { timeout: TIMEOUT },
  );
  const after = await stateOf(page, entity.entity_id);
  log(`${entity.entity_id} is now ${after}`);
  await shot(page, "ev-charger-toggled.png");
  return { entity_id: entity.entity_id, device_id: entity.device_id, before, after };
}

// Set a number row: a text box gets typed into, a slider gets one click on its track.
async function setReserve(page, entity, deviceName) {
  await openDevice(page, entity.device_id, deviceName);
  const row = await markRow(page, entity.entity_id, "battery-reserve");
  await row.scrollIntoViewIfNeeded();
  const attrs = await page.evaluate(
    (eid) => document.querySelector("home-assistant").hass.states[eid]?.attributes ?? {},
    entity.entity_id,
  );
  const before = Number(await stateOf(page, entity.entity_id));
  const min = Number(attrs.min ?? 0);
  const max = Number(attrs.max ?? 100);
  // Move a clear distance away from the current value, staying inside the range.
  const target = before + 20 <= max ? before + 20 : Math.max(min, before - 20);
  log(`${entity.entity_id} is ${before} (range ${min}..${max}); setting about ${target}`);

  const box = row.locator("input[type=number]");
  if (await box.count()) {
    await box.first().fill(String(target));
    await box.first().press("Enter");
  } else {
    const slider = row.locator("ha-slider").first();
    const bounds = await slider.boundingBox();
    if (!bounds) throw new Error("the reserve slider is not visible");
    // The track has a small inset at both ends; aim inside it.
    const inset = Math.min(12, bounds.width / 10);
    const fraction = (target - min) / (max - min);
    await page.mouse.click(
      bounds.x + inset + fraction * (bounds.width - 2 * inset),
      bounds.y + bounds.height / 2,
    );
  }
  await page.waitForFunction(
    ({ eid, old }) => {
      const s = document.querySelector("home-assistant").hass.states[eid]?.state;
      return s && s !== "unavailable" && Number(s) !== old;
    },
    { eid: entity.entity_id, old: before },
    { timeout: TIMEOUT },
  );
  const after = Number(await stateOf(page, entity.entity_id));
  log(`${entity.entity_id} is now ${after}`);
  await shot(page, "battery-device.png");
  return { entity_id: entity.entity_id, device_id: entity.device_id, before, after };
}

const browser = await chromium.launch({
  executablePath: job.chromium,
  headless: true,
  args: FLAGS,
  timeout: TIMEOUT,
});
let page;
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);

  // Trusted network + a single user: the login page lets us straight in.
  await page.goto(`${job.ha_url}/`);
  await waitForHass(page);
  log(`logged in, at ${page.url()}`);

  const registry = await callWS(page, { type: "config/entity_registry/list" });
  const devices = await callWS(page, { type: "config/device_registry/list" });
  const states = await page.evaluate(() => document.querySelector("home-assistant").hass.states);
  const deviceName = (id) => {
    const d = devices.find((x) => x.id === id);
    return d?.name_by_user ?? d?.name ?? "";
  };
  const ours = registry.filter((e) => e.platform === job.domain);
  result.entities = ours.length;
  // An entity with a translation key but no name lost its translation.
  result.untranslated = ours
    .filter((e) => e.translation_key && !e.original_name)
    .map((e) => `${e.entity_id} (${e.translation_key})`);
  log(`${result.entities} entities from ${job.domain}`);

  await page.goto(`${job.ha_url}/config/integrations/integration/${job.domain}`);
  await waitForHass(page);
  await page.locator("ha-config-entry-row, ha-integration-card, ha-config-integration-page").first().waitFor();
  await shot(page, "integration.png");

  const ev = findEntity(registry, states, job.domain, "switch", job.ev_switch_name);
  result.ev = await toggleCharging(page, ev, deviceName(ev.device_id));

  const reserve = findEntity(registry, states, job.domain, "number", job.reserve_name);
  result.reserve = await setReserve(page, reserve, deviceName(reserve.device_id));

  process.stdout.write(`${JSON.stringify(result)}\n`);
} catch (err) {
  if (page) {
    try {
      await page.screenshot({ path: path.join(job.fail_dir ?? job.shots_dir, "e2e-failure.png") });
    } catch {}
  }
  process.stderr.write(`[e2e] FAILED: ${err?.stack ?? err}\n`);
  process.stdout.write(`${JSON.stringify({ ...result, error: String(err?.message ?? err) })}\n`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
