/**
 * dslab lab: snowflake. Starter code for one id worker, in TypeScript on dslab's node runtime.
 *
 * A worker answers {"type":"generate"} with {"type":"generate_ok","id":"<decimal>"}
 * and {"type":"generate","count":N} with {"type":"generate_ok","ids":[...]}: 64-bit
 * ids made of the time, the worker's (datacenter, worker) number and a sequence.
 * It takes its number from the coordinator (dslab's Zab servers, z1..), serves
 * only while its session is surely alive, and never issues an id older than
 * one it issued before, whatever its clock does.
 *
 * Run it from this folder (`dslab lab init` wrote in the tsx of your dslab
 * installation, so nothing else needs installing):
 *
 *   dslab up snowflake --bin "node --import __DSLAB_TSX__ node.ts" --workers 3 --detach
 *   dslab grade snowflake --bin "node --import __DSLAB_TSX__ node.ts"
 *
 * README.md next to this file has the layout, the messages, hints and tests.
 *
 * The runtime (`dslab lab init` points both imports at your dslab installation)
 * reads stdin, answers init, dispatches by body.type and exits when stdin closes:
 * node.on(type, handler), node.onInit(cb), node.reply, node.replyError, node.now()
 * (the skewable clock), node.after(ms, fn), node.every(ms, fn), node.reportState.
 * ZkClient is dslab's coordinator client: it connects, pings, fails over to
 * another server and tells when the session expired. Your part is marked TODO:
 * nextId, chooseNumber and whyNotServing.
 */
import { performance } from 'node:perf_hooks';
import { Node } from '__DSLAB_RUNTIME__';
import { nodeTransport, ZkClient } from '__DSLAB_ZKCLIENT__';

interface Message {
  src: string;
  dest: string;
  body: { type: string; msg_id?: number; in_reply_to?: number; [field: string]: unknown };
}

interface Layout {
  time_bits: number;
  datacenter_bits: number;
  worker_bits: number;
  sequence_bits: number;
  unit_ms: number;
}

// ---------------------------------------------------------------------------
// Settings: the options dslab passes (README "Options"), with their defaults.
// ---------------------------------------------------------------------------

const options = JSON.parse(process.env.DSLAB_OPTIONS || '{}') as Record<string, unknown>;
const layout = (options.layout as Layout | undefined) ?? { time_bits: 41, datacenter_bits: 5, worker_bits: 5, sequence_bits: 12, unit_ms: 1 };
const epoch_ms = (options.epoch_ms as number | undefined) ?? Date.UTC(2018, 7, 1);
const datacenters = (options.datacenters as number | undefined) ?? 1;
const max_backward_ms = (options.max_backward_ms as number | undefined) ?? 5;
const session_timeout_ms = (options.session_timeout_ms as number | undefined) ?? 2000;

const generate_count_max = 10_000;
const report_interval_ms = 500;
const retry_ms = 500;
const temporarily_unavailable = 11;
const malformed_request = 12;

/** A clock no skew moves (timers use it too): for how old the last coordinator reply is. */
const mono = (): number => performance.now();

const node = new Node();

// ---------------------------------------------------------------------------
// Your part.
// ---------------------------------------------------------------------------

type Step = { kind: 'id'; id: bigint } | { kind: 'wait'; until_ms: number } | { kind: 'refuse'; why: string };

/** Makes the ids of one (datacenter, worker) number. */
class IdMaker {
  /** The latest time unit (since epoch_ms) an id was issued in. */
  last_unit = -1;
  sequence = 0;

  constructor(
    readonly datacenter: number,
    readonly worker: number,
  ) {}

  /**
   * One id at now_ms (node.now(): the worker's skewable clock, ms since 1970): an
   * id to hand out; a time to try again at (a full sequence, or a small step
   * back); or a refusal (the clock is too far back: say by how many ms).
   */
  nextId(now_ms: number): Step {
    // TODO: the layout's bits, from the top: time since epoch_ms (in
    // layout.unit_ms units), datacenter, worker, sequence; build the id as a
    // BigInt. Handle a new time unit, the same one (next sequence, or wait when
    // it is used up), and a clock behind last_unit (wait when it is at most
    // max_backward_ms behind, refuse when more).
    void now_ms;
    return { kind: 'refuse', why: 'nextId is not implemented yet' };
  }
}

/** The worker number to take, given the numbers other workers of this datacenter hold now; null when none is free. */
function chooseNumber(taken: readonly number[]): number | null {
  // TODO: the lowest free number, if it fits in layout.worker_bits bits.
  void taken;
  return null;
}

/** Why this worker may not issue ids now, or null when it may. last_ok_mono: when the coordinator last answered (mono()); timeout_ms: the session timeout it granted. */
function whyNotServing(last_ok_mono: number, timeout_ms: number): string | null {
  // TODO: serve only while the session is surely alive (README "The number").
  void last_ok_mono;
  void timeout_ms;
  return null;
}

// ---------------------------------------------------------------------------
// The worker: its session and number, its queue of requests, its reports.
// ---------------------------------------------------------------------------

interface Pending {
  request: Message;
  count: number | null;
  ids: bigint[];
}

let session: ZkClient | null = null;
let maker: IdMaker | null = null;
let problem: string | null = 'no worker number yet';
let datacenter = 0;
const queue: Pending[] = [];
let waiting = false;
let stepped_back = false;
/** Why the last request was refused for the clock, until one is served again. */
let clock_refusal: string | null = null;

function unavailable(): string | null {
  if (!maker) return problem ?? 'no worker number yet';
  if (session) return whyNotServing(session.last_ok_ms, session.timeout_ms);
  return null;
}

function report(): void {
  const why = unavailable() ?? clock_refusal;
  node.reportState({ role: why !== null ? 'refusing' : waiting && stepped_back ? 'waiting' : 'serving', datacenter: maker ? datacenter : null, worker: maker ? maker.worker : null, refusal: why });
}

function hold(worker: number): void {
  node.log(`holding datacenter ${datacenter} worker ${worker}`);
  maker = new IdMaker(datacenter, worker);
  problem = null;
  clock_refusal = null;
  // A batch begun under an earlier number starts again: one batch, one number.
  for (const pending of queue) pending.ids = [];
  report();
  drain();
}

async function ensure(client: ZkClient, path: string): Promise<void> {
  try {
    await client.create(path, '');
  } catch (error) {
    if ((error as { name_zk?: string }).name_zk !== 'NodeExists') throw error;
  }
}

/** Opens a session and takes a number; on any failure, tries again a moment later. */
async function takeNumber(servers: readonly string[]): Promise<void> {
  const root = `/snowflake/dc${datacenter}`;
  try {
    // The session's age is read on the monotonic clock, which no skew moves.
    const client = await ZkClient.connect({ ...nodeTransport(node), now: mono }, servers, { timeout_ms: session_timeout_ms });
    session = client;
    client.on('state', (state) => {
      if ((state === 'expired' || state === 'closed') && session === client) {
        node.log(`the coordinator session ${client.session} ${state}; taking a number again`);
        session = null;
        maker = null;
        problem = `the coordinator session ${state}`;
        report();
        node.after(retry_ms, () => void takeNumber(servers));
      }
    });
    for (const path of ['/snowflake', root, `${root}/workers`]) await ensure(client, path);
    for (;;) {
      const taken = (await client.getChildren(`${root}/workers`)).map(Number);
      const number = chooseNumber(taken);
      if (number === null) throw new Error(`all ${2 ** layout.worker_bits} worker numbers of datacenter ${datacenter} are held`);
      try {
        await client.create(`${root}/workers/${number}`, node.id, { ephemeral: true });
        if (session === client) hold(number);
        return;
      } catch (error) {
        // Another worker took it first: look again.
        if ((error as { name_zk?: string }).name_zk !== 'NodeExists') throw error;
      }
    }
  } catch (error) {
    problem = `no worker number: ${error instanceof Error ? error.message : String(error)}`;
    node.log(problem);
    const client = session;
    session = null;
    await client?.close().catch(() => undefined);
    report();
    node.after(retry_ms, () => void takeNumber(servers));
  }
}

/** Serves waiting requests in order until one must wait. */
function drain(): void {
  waiting = false;
  while (queue.length > 0) {
    const head = queue[0]!;
    const why = unavailable();
    if (why !== null) {
      queue.shift();
      node.replyError(head.request, temporarily_unavailable, why);
      continue;
    }
    const now = node.now();
    let stop: Step | null = null;
    while (head.ids.length < (head.count ?? 1)) {
      const step = maker!.nextId(now);
      if (step.kind !== 'id') {
        stop = step;
        break;
      }
      head.ids.push(step.id);
    }
    if (stop === null) {
      queue.shift();
      clock_refusal = null;
      if (head.count === null) node.reply(head.request, { type: 'generate_ok', id: head.ids[0]!.toString() });
      else node.reply(head.request, { type: 'generate_ok', ids: head.ids.map((id) => id.toString()) });
      continue;
    }
    if (stop.kind === 'refuse') {
      queue.shift();
      clock_refusal = stop.why;
      node.replyError(head.request, temporarily_unavailable, stop.why);
      continue;
    }
    // Waiting out a step back is "waiting"; the next time unit after a full sequence is not worth a word.
    stepped_back = stop.until_ms - now > layout.unit_ms;
    waiting = true;
    node.after(Math.max(1, stop.until_ms - now), drain);
    report();
    return;
  }
  report();
}

node.onInit(() => {
  const servers = node.groups['coordinator'] ?? [];
  const workers = node.groups['workers'] ?? node.nodeIds;
  const position = Math.max(0, workers.indexOf(node.id));
  datacenter = position % datacenters;
  // Alone (under Maelstrom) the number is the position; in dslab, the coordinator's.
  if (servers.length === 0) hold(Math.floor(position / datacenters));
  else void takeNumber(servers);
  node.every(report_interval_ms, report);
  report();
});

node.on('generate', (message: Message) => {
  const count = message.body.count;
  if (count !== undefined && (!Number.isSafeInteger(count) || (count as number) < 1 || (count as number) > generate_count_max)) {
    node.replyError(message, malformed_request, `count must be a whole number from 1 to ${generate_count_max}`);
    return;
  }
  queue.push({ request: message, count: (count as number | undefined) ?? null, ids: [] });
  if (!waiting) drain();
});

node.run();
