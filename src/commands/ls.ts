import { BaseCommand } from '../cli/base.js';
import { summarizeClusters, type ClusterSummary } from '../lib/cluster/list.js';
import { dslabHome } from '../lib/cluster/paths.js';
import { formatDurationMs } from '../lib/util/units.js';

export default class Ls extends BaseCommand {
  static override summary = 'List every cluster in .dslab/ (or $DSLAB_HOME): name, system, running or why not, age, node count.';
  static override description = 'A cluster is running, stopped (by dslab down or Ctrl-C), a failed start (the reason follows; dslab logs supervisor --cluster NAME has the rest) or one whose supervisor died without stopping it. dslab down --cluster NAME --clean removes one.';
  static override aliases = ['clusters'];
  static override examples = ['<%= config.bin %> ls', '<%= config.bin %> ls --json'];

  async run(): Promise<unknown> {
    await this.parse(Ls);
    const home = dslabHome();
    const clusters = summarizeClusters(home);
    if (clusters.length === 0) this.log(`no clusters in ${home} (start one with: dslab up echo --detach)`);
    else for (const line of formatClusterTable(clusters)) this.log(line);
    return clusters;
  }
}

/** One header line and one line per cluster, in aligned columns; a failed start's reason closes its line. */
function formatClusterTable(clusters: readonly ClusterSummary[]): string[] {
  const rows = [['NAME', 'SYSTEM', 'STATE', 'AGE', 'NODES'], ...clusters.map((c) => [c.name, c.system, c.state, formatDurationMs(c.age_ms), String(c.nodes)])];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row, index) => {
    const line = row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ');
    const error = index > 0 ? clusters[index - 1]!.start_error : null;
    return (error ? `${line}  ${error}` : line).trimEnd();
  });
}
