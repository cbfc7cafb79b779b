// Summarizes .cpuprofile files: the share of sampled time per function (self
// time), busiest first, with the idle share, so a benchmark can say where a
// process's time goes.  node bench/profile-top.mjs FILE... [--top 25]
import { readFileSync } from 'node:fs';
import path from 'node:path';

const args = process.argv.slice(2);
const topIndex = args.indexOf('--top');
const top = topIndex >= 0 ? Number(args[topIndex + 1]) : 25;
const files = args.filter((a, i) => a.endsWith('.cpuprofile') && i !== topIndex + 1);

for (const file of files) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map();
  const deltas = profile.timeDeltas;
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (deltas[i + 1] ?? 0)));
  const totals = new Map();
  let all = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    const f = node.callFrame;
    const where = f.url ? `${path.basename(f.url)}:${f.lineNumber + 1}` : '';
    const name = `${f.functionName || '(anonymous)'} ${where}`.trim();
    totals.set(name, (totals.get(name) ?? 0) + us);
    all += us;
  }
  const idle = totals.get('(idle)') ?? 0;
  console.log(`${path.basename(file)}: ${(all / 1e6).toFixed(1)} s sampled, ${((1 - idle / all) * 100).toFixed(1)}% busy`);
  for (const [name, us] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`  ${((us / all) * 100).toFixed(1).padStart(5)}%  ${name}`);
  }
}
