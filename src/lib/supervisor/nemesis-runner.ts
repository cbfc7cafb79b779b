import type { ActionResult, ControlAction, NewClusterEvent } from '../control/api.js';
import { nemesisSchedule, undoOnce, type NemesisStep } from '../faults/nemesis.js';
import { errorMessage, UserError } from '../util/errors.js';
import { formatDurationMs } from '../util/units.js';

/** What the nemesis needs of the supervisor: a way to act, and the event stream. */
export interface NemesisHost {
  apply(action: ControlAction, source: 'nemesis'): Promise<ActionResult>;
  emit(event: NewClusterEvent): void;
}

interface NemesisRun {
  seed: number;
  timers: NodeJS.Timeout[];
  /** The actions that undo the fault in force (at most one step's). */
  undo: ControlAction[];
  running: boolean;
}

/**
 * Runs a seeded fault schedule (faults/nemesis.ts) against the cluster, one
 * step after another, undoing each fault before the next. One run at a time;
 * its timers are bounded by the schedule's nemesis_steps_max.
 */
export class NemesisRunner {
  private run: NemesisRun | null = null;

  constructor(private readonly host: NemesisHost) {}

  /** The last run's seed and whether it is still going, or null before the first. */
  state(): { seed: number; running: boolean } | null {
    return this.run ? { seed: this.run.seed, running: this.run.running } : null;
  }

  start(seed: number, nodeIds: readonly string[], interval_ms: number, duration_ms: number): ActionResult {
    if (this.run?.running) throw new UserError('a nemesis is already running (stop it with: dslab nemesis --stop)');
    const steps: NemesisStep[] = nemesisSchedule(seed, [...nodeIds], interval_ms, duration_ms);
    const run: NemesisRun = { seed, timers: [], undo: [], running: true };
    this.run = run;
    let chain = Promise.resolve();
    for (const [index, step] of steps.entries()) {
      const timer = setTimeout(() => {
        // Steps run one after another, even if one (a restart) takes longer than the interval.
        chain = chain.then(async () => {
          if (!run.running) return;
          if (step.apply) {
            await this.runActions(run.undo.splice(0));
            await this.runActions([step.apply]);
            run.undo = [...step.undo];
          } else {
            await this.runActions(undoOnce([...run.undo.splice(0), ...step.undo]));
          }
          if (index === steps.length - 1 && run.running) {
            run.running = false;
            this.host.emit({ type: 'nemesis', phase: 'done', seed });
          }
        });
      }, step.at_ms);
      run.timers.push(timer);
    }
    this.host.emit({ type: 'nemesis', phase: 'start', seed });
    return { description: `nemesis started: seed ${seed}, a fault every ${formatDurationMs(interval_ms)} for ${formatDurationMs(duration_ms)}`, steps: steps.length };
  }

  /** Stops the running schedule, undoes its last fault and heals the links. */
  async stop(): Promise<ActionResult> {
    const run = this.run;
    if (!run?.running) throw new UserError('no nemesis is running');
    this.halt();
    await this.runActions(undoOnce([...run.undo.splice(0), { type: 'heal' }]));
    this.host.emit({ type: 'nemesis', phase: 'stopped', seed: run.seed });
    return { description: 'nemesis stopped; its last fault was undone and links healed' };
  }

  /** Stops the schedule without undoing anything (the cluster is going down). */
  halt(): void {
    if (!this.run) return;
    this.run.running = false;
    for (const timer of this.run.timers) clearTimeout(timer);
  }

  private async runActions(actions: ControlAction[]): Promise<void> {
    for (const action of actions) {
      try {
        await this.host.apply(action, 'nemesis');
      } catch (error) {
        this.host.emit({ type: 'notice', text: `nemesis could not ${action.type}: ${errorMessage(error)}` });
      }
    }
  }
}
