import { chmodSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { ActionResult, ClusterEvent, ClusterStatus, ControlAction } from './api.js';
import type { ClosingCheck } from '../plugin.js';
import { NodeStateCoalescer, state_coalesce_ms_max } from './state-coalescer.js';
import { errorMessage, UserError } from '../util/errors.js';

/** Largest control request body accepted. */
export const control_body_bytes_max = 1024 * 1024;
/** An event subscriber further behind than this loses events (and is told how many) instead of slowing the cluster. */
export const subscriber_buffer_bytes_max = 1024 * 1024;

/**
 * What the control server needs of a cluster, and all it may use: the
 * supervisor implements it, and the server never imports the supervisor.
 */
export interface ControlTarget {
  apply(action: ControlAction): Promise<ActionResult>;
  status(): ClusterStatus;
  readonly events: {
    history(): readonly ClusterEvent[];
    /** Returns an unsubscribe function; throws when too many listeners are attached. */
    subscribe(listener: (event: ClusterEvent) => void): () => void;
  };
  readonly log: { note(text: string): void };
  /** What the workloads say of the run (WorkloadPlugin.closingCheck), asked just before `down` stops the cluster. */
  closingChecks(): Promise<ClosingCheck[]>;
  /** Stops the cluster (`dslab down`); idempotent. */
  shutdown(): Promise<void>;
}

/** The schema module, loaded by the first action. */
let apiModule: Promise<typeof import('./api.js')> | null = null;

/** Serves the control API over HTTP on a Unix socket only its owner may use. */
export async function serveControl(supervisor: ControlTarget, socketPath: string): Promise<Server> {
  const server = createServer((req, res) => {
    handle(supervisor, req, res).catch((error: unknown) => reply(res, 500, { ok: false, error: errorMessage(error) }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // umask-independent: the socket is created, then restricted before anyone is told it exists.
    server.listen(socketPath, () => resolve());
  });
  chmodSync(socketPath, 0o600);
  return server;
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return void res.end();
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > control_body_bytes_max) throw new UserError(`request body over ${control_body_bytes_max} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function handle(supervisor: ControlTarget, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://dslab');
  if (req.method === 'GET' && url.pathname === '/v1/status') return reply(res, 200, { ok: true, result: supervisor.status() });
  if (req.method === 'GET' && url.pathname === '/v1/events') {
    const exclude = new Set((url.searchParams.get('exclude') ?? '').split(',').filter(Boolean));
    const coalesceText = url.searchParams.get('coalesce_state_ms');
    const coalesce_ms = coalesceText === null ? null : Number(coalesceText);
    if (coalesce_ms !== null && !(Number.isInteger(coalesce_ms) && coalesce_ms > 0 && coalesce_ms <= state_coalesce_ms_max)) {
      return refuse(supervisor, res, 400, 'an event stream', `coalesce_state_ms must be a whole number of milliseconds from 1 to ${state_coalesce_ms_max}`);
    }
    return streamEvents(supervisor, res, { history: url.searchParams.get('history') === '1', exclude, coalesce_ms });
  }
  if (req.method !== 'POST' || url.pathname !== '/v1/action') return refuse(supervisor, res, 404, 'a request', `no such endpoint: ${req.method} ${url.pathname}`);

  let action;
  try {
    // The schema (and zod) load on the first action, not before the cluster is up; once, not per request
    // (a dynamic import resolves the module again each time it runs).
    const { controlActionSchema } = await (apiModule ??= import('./api.js'));
    const parsed = controlActionSchema.safeParse(JSON.parse(await readBody(req)));
    if (!parsed.success) throw new UserError(`malformed control request: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    action = parsed.data;
  } catch (error) {
    return refuse(supervisor, res, 400, 'a control request', errorMessage(error));
  }
  if (action.type === 'down') {
    supervisor.log.note('stopping: asked to by a control request (dslab down)');
    // The verdicts are taken while the nodes still run; the answer carries them to `down`.
    const checks = await supervisor.closingChecks();
    reply(res, 200, { ok: true, result: { description: 'stopping the cluster', checks } });
    void supervisor.shutdown();
    return;
  }
  try {
    const result = await supervisor.apply(action);
    reply(res, 200, { ok: true, result });
  } catch (error) {
    refuse(supervisor, res, error instanceof UserError ? 400 : 500, describeAction(action), errorMessage(error));
  }
}

/** Answers with an error, and says in the supervisor's log what was refused and why. */
function refuse(supervisor: ControlTarget, res: ServerResponse, status: number, what: string, error: string): void {
  supervisor.log.note(`refused ${what}: ${error}`);
  reply(res, status, { ok: false, error });
}

/** A control action in a few words for the log ("kill n9", "workload lin-kv kv"): never its payload, which may be large. */
function describeAction(action: ControlAction): string {
  const target = 'node' in action ? ` ${action.node}` : 'dest' in action ? ` to ${action.dest}` : action.type === 'workload' ? ` ${action.workload} ${action.op}` : '';
  return `${action.type}${target}`;
}

interface StreamOptions {
  history: boolean;
  /** Event types never encoded or sent (a dashboard has no use for client results). */
  exclude: ReadonlySet<string>;
  /** Merge each node's progress-only state reports to one per this many ms (see NodeStateCoalescer), or null for every report. */
  coalesce_ms: number | null;
}

/** Streams events as NDJSON. */
function streamEvents(supervisor: ControlTarget, res: ServerResponse, { history, exclude, coalesce_ms }: StreamOptions): void {
  res.writeHead(200, { 'content-type': 'application/x-ndjson' });
  let skipped = 0;
  const write = (line: string) => {
    if (res.writableEnded) return;
    if (res.writableLength > subscriber_buffer_bytes_max) {
      skipped++;
      return;
    }
    if (skipped > 0) {
      res.write(JSON.stringify({ t: Date.now(), seq: 0, type: 'notice', text: `${skipped} events were skipped because this reader fell behind` }) + '\n');
      skipped = 0;
    }
    res.write(line + '\n');
  };
  const encode = (event: ClusterEvent) => write(JSON.stringify(event));
  const coalescer = coalesce_ms === null ? null : new NodeStateCoalescer(coalesce_ms, encode);
  const pass = coalescer ? (event: ClusterEvent) => coalescer.push(event) : encode;
  if (history) for (const event of supervisor.events.history()) if (!exclude.has(event.type)) pass(event);
  let unsubscribe: () => void;
  try {
    unsubscribe = supervisor.events.subscribe((event) => {
      if (!exclude.has(event.type)) pass(event);
      if (event.type === 'cluster_down') res.end();
    });
  } catch (error) {
    coalescer?.close();
    res.end(JSON.stringify({ t: Date.now(), seq: 0, type: 'notice', text: errorMessage(error) }) + '\n');
    return;
  }
  // The headers tell the client it is subscribed (ControlClient's `ready`), even before the first event.
  res.flushHeaders();
  res.on('close', () => {
    coalescer?.close();
    unsubscribe();
  });
}
