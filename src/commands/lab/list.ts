import { BaseCommand } from '../../cli/base.js';
import { listLabIds, loadLab } from '../../lib/grade/spec.js';
import { lab_plugins } from '../../registry.js';

export default class LabList extends BaseCommand {
  static override summary = 'List the lab exercises.';
  static override examples = ['<%= config.bin %> lab list'];

  async run(): Promise<unknown> {
    await this.parse(LabList);
    const labs = listLabIds().map((id) => loadLab(id, lab_plugins));
    for (const lab of labs) {
      const points = lab.tests.reduce((sum, t) => sum + t.points, 0);
      this.log(`${lab.id.padEnd(18)} ${lab.title} — ${lab.tests.length} tests, ${points} points`);
    }
    return labs.map((lab) => ({ id: lab.id, title: lab.title, summary: lab.summary, tests: lab.tests.map((t) => t.name) }));
  }
}
