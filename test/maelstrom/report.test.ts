/**
 * The report in a real browser: Debian's chromium, driven headless by
 * playwright-core, opens the report of a fabricated invalid broadcast run from
 * disk and the test looks at what it drew.
 */
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diagram_arrows_max, failure_window_ms } from '../../src/maelstrom/report/messages.js';
import { writeRunReport } from '../../src/maelstrom/report/report.js';
import { run_files } from '../../src/maelstrom/run/result.js';
import { tempDirs } from '../helpers/temp-dirs.js';
import { hostile_text, t0, writeFixtureRun } from './report-fixture.js';

const chromium_path = '/usr/bin/chromium';
/** Generous: a loaded 2-core machine starts chromium slowly. */
const browser_timeout_ms = 60_000;
/** How long the zoom may take to redraw: within vitest's own 60 s per test, so a failure reads as the wait's, not a timeout's. */
const zoom_wait_ms = 30_000;

const scratchDir = tempDirs('dslab-run-report-');

let browser: Browser;
let page: Page;
const consoleErrors: string[] = [];
const pageErrors: string[] = [];
const dialogs: string[] = [];
let fixture: ReturnType<typeof writeFixtureRun>;
let reportPath: string;

beforeAll(async () => {
  if (!existsSync(chromium_path)) throw new Error(`${chromium_path} is missing: install Debian's chromium (apt-get install -y chromium), as .ci/run does`);
  const dir = scratchDir();
  fixture = writeFixtureRun(dir);
  reportPath = writeRunReport(dir);
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
  // The charts are drawn by the page's last script; if it broke, the tests below say how (errors, a dialog, no canvas).
  await page.waitForSelector('#throughput-chart .uplot canvas', { timeout: browser_timeout_ms }).catch(() => undefined);
}, 2 * browser_timeout_ms);

afterAll(async () => {
  await browser?.close();
});

/** Pixels of a canvas within `tolerance` of an RGB colour, counted in the page. */
function pixelsOfColour(selector: string, rgb: [number, number, number], tolerance = 40): Promise<number> {
  return page.$eval(
    selector,
    (canvas, [r, g, b, tol]) => {
      const c = canvas as HTMLCanvasElement;
      const pixels = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < pixels.length; i += 4) {
        if (pixels[i + 3]! > 128 && Math.abs(pixels[i]! - r) <= tol && Math.abs(pixels[i + 1]! - g) <= tol && Math.abs(pixels[i + 2]! - b) <= tol) n++;
      }
      return n;
    },
    [...rgb, tolerance] as const,
  );
}

const ok_green: [number, number, number] = [0x2e, 0x7d, 0x32];
const fail_red: [number, number, number] = [0xc6, 0x28, 0x28];

describe('the run report in chromium', () => {
  it('is written into the run folder', () => {
    expect(reportPath.endsWith(run_files.report)).toBe(true);
    expect(existsSync(reportPath)).toBe(true);
  });

  it('loads with no console error and no page error', () => {
    expect(consoleErrors).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it('puts the verdict first', async () => {
    const first = await page.$eval('body > section', (s) => ({ id: s.id, text: s.textContent ?? '' }));
    expect(first.id).toBe('verdict');
    expect(first.text).toContain('invalid');
    expect(first.text).toContain(fixture.result.headline);
    expect(first.text).toContain('msgs-per-op 41.2 (servers)');
  });

  it('draws both charts on canvases of non-zero size, with the operations plotted', async () => {
    for (const chart of ['#latency-chart', '#throughput-chart']) {
      const size = await page.$eval(`${chart} .uplot canvas`, (c) => ({ width: (c as HTMLCanvasElement).width, height: (c as HTMLCanvasElement).height }));
      expect(size.width).toBeGreaterThan(0);
      expect(size.height).toBeGreaterThan(0);
      // The ok series' green is nowhere in the chart's frame (axes, grid), so green pixels are plotted data.
      expect(await pixelsOfColour(`${chart} .uplot canvas`, ok_green)).toBeGreaterThan(50);
    }
    // The partition's failed operations are drawn in red.
    expect(await pixelsOfColour('#latency-chart .uplot canvas', fail_red)).toBeGreaterThan(5);
  });

  it('shades every fault on both charts, where it lasted, and marks the main phase end', async () => {
    for (const chart of ['#latency-chart', '#throughput-chart']) {
      const bands = await page.$$eval(`${chart} .fault-band`, (els) => els.map((el) => ({ cls: el.className, title: el.getAttribute('title') ?? '', ...el.getBoundingClientRect().toJSON() })));
      expect(bands).toHaveLength(fixture.result.faults.length);
      for (const band of bands) {
        expect(band.width).toBeGreaterThan(0);
        expect(band.height).toBeGreaterThan(0);
      }
      const partition = bands.find((b) => b.cls.includes('fault-partition'))!;
      const kill = bands.find((b) => b.cls.includes('fault-kill'))!;
      // The partition (4 s) is drawn wider than the kill (1 s), and before it.
      expect(partition.width).toBeGreaterThan(2 * kill.width);
      expect(partition.x).toBeLessThan(kill.x);
      expect(await page.$$(`${chart} .phase-mark`)).toHaveLength(1);
    }
  });

  it('draws a message diagram per failure point with every message of its window', async () => {
    const diagrams = await page.$$eval('#failures svg.messages', (svgs) =>
      svgs.map((svg) => ({
        arrows: svg.querySelectorAll('line.msg').length,
        dropped: svg.querySelectorAll('line.msg-dropped').length,
        columns: [...svg.querySelectorAll('text[y="16"]')].map((t) => t.textContent),
        marks: svg.querySelectorAll('.diagram-mark').length,
      })),
    );
    expect(diagrams).toHaveLength(fixture.result.failures.length);
    fixture.result.failures.forEach((failure, i) => {
      const at = t0 + failure.at_ms;
      const inWindow = fixture.trace.filter((r) => Math.abs(r.t - at) <= failure_window_ms).length;
      expect(inWindow).toBeLessThanOrEqual(diagram_arrows_max); // the fixture's windows fit: every message is drawn
      expect(diagrams[i]!.arrows).toBe(inWindow);
      expect(diagrams[i]!.columns.slice(0, failure.endpoints.length)).toEqual(failure.endpoints);
      expect(diagrams[i]!.marks).toBe(1);
    });
    // Gossip across the partition was dropped in the first window, and to the killed n3 in the second.
    expect(diagrams[0]!.dropped).toBeGreaterThan(0);
    expect(diagrams[1]!.dropped).toBeGreaterThan(0);
  });

  it('shows a node message holding </script><script>… as text, without running it', async () => {
    expect(dialogs).toEqual([]);
    expect(await page.evaluate(() => document.scripts.length)).toBe(3);
    // Through the JSON block (a fault band's tooltip), the markup (a check's text) and the diagram (a message's tooltip).
    const titles = await page.$$eval('#latency-chart .fault-band', (els) => els.map((el) => el.getAttribute('title') ?? ''));
    expect(titles.some((t) => t.includes(hostile_text))).toBe(true);
    expect(await page.$eval('#checks', (el) => el.textContent)).toContain(hostile_text);
    const messageTitles = await page.$$eval('#failures svg.messages title', (els) => els.map((el) => el.textContent ?? ''));
    expect(messageTitles.some((t) => t.includes(hostile_text))).toBe(true);
    expect(await page.$eval('#failure-2', (el) => el.textContent)).toContain(hostile_text);
  });

  // Last: it zooms the latency chart.
  it('keeps the fault bands on their times when a chart is zoomed by dragging across it', async () => {
    const widths = () => page.$$eval('#latency-chart .fault-band', (els) => els.map((el) => el.getBoundingClientRect().width));
    const before = await widths();
    await page.$eval('#latency-chart', (el) => el.scrollIntoView());
    const over = await page.$eval('#latency-chart .u-over', (el) => el.getBoundingClientRect().toJSON() as DOMRect);
    // From about 3 s to about 15.5 s of the 31 s run: the partition and kill bands grow by about 31/12.5.
    await page.mouse.move(over.x + over.width * 0.1, over.y + over.height / 2);
    await page.mouse.down();
    await page.mouse.move(over.x + over.width * 0.5, over.y + over.height / 2, { steps: 5 });
    await page.mouse.up();
    await page.waitForFunction((w) => document.querySelector('#latency-chart .fault-band')!.getBoundingClientRect().width > 2 * w, before[0]!, { timeout: zoom_wait_ms });
    const after = await widths();
    expect(after[0]!).toBeGreaterThan(2 * before[0]!);
    expect(after[1]!).toBeGreaterThan(2 * before[1]!);
  });
});
