import type { LabResult } from './grade.js';

// The HTML report lives in html.ts.
export { toHtml } from './html.js';

const escapeXml = (text: string) => text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);

export function toJson(result: LabResult): string {
  return JSON.stringify(result, null, 2) + '\n';
}

/** JUnit XML, one testcase per test run, for classroom CI. */
export function toJunit(result: LabResult): string {
  const failures = result.results.filter((r) => !r.passed).length;
  const cases = result.results.map((r) => {
    const name = escapeXml(`${r.test} (seed ${r.seed})`);
    const time = (r.elapsed_ms / 1000).toFixed(3);
    if (r.passed) return `    <testcase classname="${escapeXml(result.lab)}" name="${name}" time="${time}"/>`;
    const detail = escapeXml([r.failure ?? '', `replay: ${r.replay}`, r.kept_dir ? `kept: ${r.kept_dir}` : '', ...r.bad_ops].filter(Boolean).join('\n'));
    return `    <testcase classname="${escapeXml(result.lab)}" name="${name}" time="${time}">\n      <failure message="${escapeXml(r.failure ?? 'failed')}">${detail}</failure>\n    </testcase>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="dslab" tests="${result.results.length}" failures="${failures}" time="${(result.elapsed_ms / 1000).toFixed(3)}">`,
    `  <testsuite name="${escapeXml(result.lab)}" tests="${result.results.length}" failures="${failures}" time="${(result.elapsed_ms / 1000).toFixed(3)}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
