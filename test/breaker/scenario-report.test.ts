/**
 * The metastable scenario's report in a real browser: Debian's chromium, driven headless by
 * playwright-core, opens the report of the fabricated runs (scenario-fixture.ts) from disk, and the
 * test looks at what it drew: both timelines with their series, the spike shaded where it was, the
 * figures side by side.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scenario_report_file, series_colours, writeScenarioReport } from '../../src/systems/breaker/scenario-report.js';
import type { ScenarioResult } from '../../src/systems/breaker/scenario.js';
import { tempDirs } from '../helpers/temp-dirs.js';
import { fixtureResult, seconds, spike } from './scenario-fixture.js';

const chromium_path = '/usr/bin/chromium';
/** Generous: a loaded 2-core machine starts chromium slowly. */
const browser_timeout_ms = 60_000;
/** Text a summary line could carry that would end a <script> element, if the page let it. */
const hostile_text = '</script><script>alert(1)</script>';

const scratchDir = tempDirs('dslab-scenario-report-');

let browser: Browser;
let page: Page;
const consoleErrors: string[] = [];
const pageErrors: string[] = [];
const dialogs: string[] = [];
let result: ScenarioResult;
let reportPath: string;

beforeAll(async () => {
  if (!existsSync(chromium_path)) throw new Error(`${chromium_path} is missing: install Debian's chromium (apt-get install -y chromium), as .ci/run does`);
  result = fixtureResult(scratchDir());
  result.summary.push(`a line with ${hostile_text}`);
  reportPath = writeScenarioReport(result);
  browser = await chromium.launch({ executablePath: chromium_path, headless: true, args: ['--no-sandbox'], timeout: browser_timeout_ms });
  page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  await page.goto(pathToFileURL(reportPath).href, { waitUntil: 'load', timeout: browser_timeout_ms });
  await page.waitForSelector('#timeline-b .uplot canvas', { timeout: browser_timeout_ms }).catch(() => undefined);
}, 2 * browser_timeout_ms);

afterAll(async () => {
  await browser?.close();
});

/** Pixels of a canvas within `tolerance` of a colour, counted in the page; in its top `top_share` of rows only when given (above a line's zero). */
function pixelsOfColour(selector: string, hex: string, top_share = 1, tolerance = 30): Promise<number> {
  const rgb = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return page.$eval(
    selector,
    (canvas, [r, g, b, tol, share]) => {
      const c = canvas as HTMLCanvasElement;
      const pixels = c.getContext('2d')!.getImageData(0, 0, c.width, Math.floor(c.height * share!)).data;
      let n = 0;
      for (let i = 0; i < pixels.length; i += 4) {
        if (pixels[i + 3]! > 128 && Math.abs(pixels[i]! - r!) <= tol! && Math.abs(pixels[i + 1]! - g!) <= tol! && Math.abs(pixels[i + 2]! - b!) <= tol!) n++;
      }
      return n;
    },
    [...rgb, tolerance, top_share],
  );
}

describe('the metastable scenario report in chromium', () => {
  it('is one file in the scenario folder that needs nothing else', () => {
    expect(reportPath).toBe(path.join(result.dir, scenario_report_file));
    const html = readFileSync(reportPath, 'utf8');
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=/);
  });

  it('loads with no console error, no page error and no dialog', () => {
    expect(consoleErrors).toEqual([]);
    expect(pageErrors).toEqual([]);
    expect(dialogs).toEqual([]);
  });

  it('puts the verdict first, in words, the hostile line as text', async () => {
    const first = await page.$eval('body > section', (s) => ({ id: s.id, text: s.textContent ?? '' }));
    expect(first.id).toBe('verdict');
    expect(first.text).toContain('A stayed degraded after the spike, B recovered');
    expect(first.text).toContain(hostile_text);
    expect(await page.evaluate(() => document.scripts.length)).toBe(3);
  });

  it('sets the runs side by side: A degraded, B recovered after a stated time', async () => {
    const cells = await page.$$eval('#figures tr', (rows) => rows.map((row) => [...row.children].map((cell) => cell.textContent ?? '')));
    const row = (label: string) => cells.find((c) => c[0]!.startsWith(label))!;
    expect(row('stayed degraded')).toEqual([expect.any(String), 'yes', 'no']);
    expect(row('recovered')[2]).toBe(`${result.arms[1]!.figures.recovered_after_s} s after the spike ended`);
    expect(row('calls to d1 per request')[1]).toBe('4');
  });

  it("draws each run's timeline with goodput, offered, calls to d1 and the queue", async () => {
    for (const chart of ['#timeline-a', '#timeline-b']) {
      const canvas = `${chart} .uplot canvas`;
      const size = await page.$eval(canvas, (c) => ({ width: (c as HTMLCanvasElement).width, height: (c as HTMLCanvasElement).height }));
      expect(size.width).toBeGreaterThan(0);
      expect(size.height).toBeGreaterThan(0);
      for (const colour of [series_colours.ok, series_colours.offered, series_colours.calls]) expect(await pixelsOfColour(canvas, colour), `${chart} ${colour}`).toBeGreaterThan(30);
    }
    // A's queue grows to thousands: its line is drawn. Only B short-circuits: A's short-circuited line lies flat along
    // zero, at the bottom of the plot; B's climbs to the whole load.
    expect(await pixelsOfColour('#timeline-a .uplot canvas', series_colours.queue)).toBeGreaterThan(30);
    expect(await pixelsOfColour('#timeline-b .uplot canvas', series_colours.short_circuited, 0.6)).toBeGreaterThan(30);
    expect(await pixelsOfColour('#timeline-a .uplot canvas', series_colours.short_circuited, 0.6)).toBeLessThan(5);
  });

  it('shades the spike on each timeline where it was', async () => {
    for (const chart of ['#timeline-a', '#timeline-b']) {
      const bands = await page.$$eval(`${chart} .fault-band`, (els) => els.map((el) => ({ title: el.getAttribute('title') ?? '', ...el.getBoundingClientRect().toJSON() })));
      expect(bands).toHaveLength(1);
      const over = await page.$eval(`${chart} .u-over`, (el) => el.getBoundingClientRect().toJSON() as DOMRect);
      const band = bands[0]!;
      expect(band.title).toContain('spike');
      // The x axis runs 0..seconds: the band starts near spike.from_s and is about (to - from) / seconds of the plot wide.
      expect(Math.abs(band.x - over.x - (spike.from_s / seconds) * over.width)).toBeLessThan(over.width * 0.03);
      expect(Math.abs(band.width - ((spike.to_s - spike.from_s) / seconds) * over.width)).toBeLessThan(over.width * 0.03);
    }
  });

  it('lists every second of each run in its table', async () => {
    const rows = await page.$$eval('#seconds table.seconds', (tables) => tables.map((t) => t.querySelectorAll('tbody tr').length));
    expect(rows).toEqual([seconds, seconds]);
  });
});
