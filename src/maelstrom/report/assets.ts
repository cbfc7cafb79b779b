/**
 * uPlot's script and stylesheet, read from the installed package when a
 * report is written and put inside the page, so the report works opened from
 * disk with no network. Resolved from this module, so it works from dist/ and
 * from an installed dslab alike.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export interface ChartAssets {
  script: string;
  style: string;
}

let cached: ChartAssets | null = null;

export function chartAssets(): ChartAssets {
  cached ??= {
    script: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
    style: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
  };
  return cached;
}

/**
 * Text put inside a <script> or <style> element: an end tag inside it
 * (`</script`, `</style`) would end the element early, so `</` is written
 * `<\/`, which means the same inside the JavaScript strings and regular
 * expressions and CSS strings where it can occur.
 */
export function inlineElementText(text: string): string {
  return text.replace(/<\/(script|style)/gi, '<\\/$1');
}
