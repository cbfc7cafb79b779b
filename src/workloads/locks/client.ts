/**
 * The CLI's lock operations over a running locks cluster, through the control
 * API's `send` (so every request is a client message on the router): fetch
 * what the resource observed, start rounds on every contender, and gather
 * the lock's own state for `dslab lock status`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { ClusterStatus, NodeStatus } from '../../lib/control/api.js';
import type { ControlClient } from '../../lib/control/client.js';
import { describeServerState } from '../../lib/cluster/members.js';
import { UserError } from '../../lib/util/errors.js';
import { checkLocks, type LockCheck } from '../../systems/locks/checker.js';
import type { LockReport, Observation } from '../../systems/locks/observations.js';

/** How long the resource and contenders have to answer one request. */
export const lock_request_timeout_ms = 10_000;
/** Between looks at the contenders while `lock run` waits for its rounds. */
export const run_poll_ms = 200;
/** Pages of observations one report may have (report_page_max each): a bound on what a check reads. */
export const report_pages_max = 200;

type Reply = { type?: unknown; code?: unknown; text?: unknown } & Record<string, unknown>;

/** One request to a node of the cluster and its answer; an error answer throws. */
export type LockAsk = (dest: string, body: Record<string, unknown> & { type: string }) => Promise<Reply>;

/** The answer, or a UserError naming the request an error answered. */
export function answerOf(dest: string, request: string, reply: Reply): Reply {
  if (reply.type === 'error') throw new UserError(`${dest} answered ${request} with error ${String(reply.code)}: ${String(reply.text ?? '')}`);
  return reply;
}

async function send(client: ControlClient, dest: string, body: Record<string, unknown> & { type: string }, timeout_ms = lock_request_timeout_ms): Promise<Reply> {
  const result = await client.act({ type: 'send', dest, body, timeout_ms });
  return answerOf(dest, body.type, result.reply as Reply);
}

/** Whether the cluster runs the locks groups (a resource and contenders). */
export function isLocksCluster(status: Pick<ClusterStatus, 'nodes'>): boolean {
  return status.nodes.some((n) => n.group === 'resource') && status.nodes.some((n) => n.group === 'contenders');
}

/** The locks groups of a cluster, or a UserError when it is no locks cluster. */
export function lockMembers(status: ClusterStatus): { resource: string; contenders: NodeStatus[] } {
  const contenders = status.nodes.filter((n) => n.group === 'contenders');
  const resource = status.nodes.find((n) => n.group === 'resource');
  if (!resource || contenders.length === 0) throw new UserError(`cluster ${status.name} runs ${status.system}, not locks: start one with dslab up locks`);
  return { resource: resource.id, contenders };
}

/** Every observation the resource has, page by page, and the counter as it stands. */
export function fetchReport(client: ControlClient, status: ClusterStatus): Promise<LockReport> {
  return fetchReportWith((dest, body) => send(client, dest, body), status);
}

/** fetchReport over any way of asking the nodes (the CLI's control client, a workload's transport in the supervisor). */
export async function fetchReportWith(ask: LockAsk, status: ClusterStatus): Promise<LockReport> {
  const { resource, contenders } = lockMembers(status);
  const { first, observations } = await readReportPages(async (from) => (await ask(resource, { type: 'lock_report', from })) as unknown as LockReport);
  let counter = first.counter;
  if (first.counter_place === 'backend') {
    // The backend's counter, read by a contender that is up (a paused one would not answer).
    const asker = contenders.find((c) => c.status === 'up');
    counter = asker ? Number((await ask(asker.id, { type: 'lock_counter' })).value) : null;
  }
  return { ...first, observations, counter, next: null, ...lockBackendOf(status) };
}

/** A resource's lock_report pages, from the first, joined (at most report_pages_max of them): the first page and every observation. */
export async function readReportPages(page: (from: number) => Promise<LockReport>): Promise<{ first: LockReport; observations: Observation[] }> {
  const first = await page(0);
  const observations: Observation[] = [...first.observations];
  let next = typeof first.next === 'number' ? first.next : null;
  for (let count = 1; next !== null && count < report_pages_max; count++) {
    const more = await page(next);
    observations.push(...more.observations);
    next = typeof more.next === 'number' ? more.next : null;
  }
  return { first, observations };
}

/** Which backend holds the lock: a real redis or etcd server beside the contenders, else dslab's coordinator. */
export function lockBackendOf(status: ClusterStatus): { lock_backend?: LockReport['lock_backend'] } {
  const kinds = new Set((status.servers ?? []).map((s) => s.kind));
  if (kinds.has('redis')) return { lock_backend: 'redis' };
  if (kinds.has('etcd')) return { lock_backend: 'etcd' };
  if (status.nodes.some((n) => n.group === 'coordinator')) return { lock_backend: 'zk' };
  return {};
}

export interface ContenderRow {
  id: string;
  /** waiting, holding, writing, releasing, idle; paused or down when the process is. */
  state: string;
  token: number | null;
  rounds_left: number;
  acked: number;
  rejected: number;
  failed: number;
  lock_lost: number;
  last_error: string | null;
}

export function contenderRows(status: ClusterStatus): ContenderRow[] {
  return lockMembers(status).contenders.map((n) => {
    const s = n.state;
    const number = (v: unknown) => (typeof v === 'number' ? v : 0);
    return {
      id: n.id,
      state: n.status === 'up' ? String(s.lock_state ?? 'starting') : n.status,
      token: typeof s.token === 'number' ? s.token : null,
      rounds_left: number(s.rounds_left),
      acked: number(s.acked),
      rejected: number(s.rejected),
      failed: number(s.failed),
      lock_lost: number(s.lock_lost),
      last_error: typeof s.last_error === 'string' ? s.last_error : null,
    };
  });
}

export interface LockInfoView {
  holder: string | null;
  token: number | null;
  ttl_left_ms: number | null;
  waiters: string[];
}

export interface LockStatus {
  cluster: string;
  /** The lock as the backend tells it; null when no contender could ask (all paused or down, backend unreachable). */
  lock: LockInfoView | null;
  lock_error: string | null;
  contenders: ContenderRow[];
  check: LockCheck;
}

export async function lockStatus(client: ControlClient): Promise<LockStatus> {
  const status = await client.status();
  const contenders = contenderRows(status);
  const asker = contenders.find((c) => c.state !== 'paused' && c.state !== 'down');
  let lock: LockInfoView | null = null;
  let lock_error: string | null = asker ? null : 'no contender is up to ask the backend';
  if (asker) {
    try {
      const info = await send(client, asker.id, { type: 'lock_info' });
      // A contender command's lock lives in its own client: the contender says so instead of a holder.
      if (typeof info.unseen === 'string') lock_error = info.unseen;
      else lock = { holder: (info.holder as string | null) ?? null, token: (info.token as number | null) ?? null, ttl_left_ms: (info.ttl_left_ms as number | null) ?? null, waiters: (info.waiters as string[] | undefined) ?? [] };
    } catch (error) {
      // The backend client's own words ("Reached the max retries per request limit") mean little; a server that is not running says why.
      lock_error = serverNotRunning(status) ?? (error instanceof Error ? error.message : String(error));
    }
  }
  const check = checkLocks(await fetchReport(client, status));
  return { cluster: status.name, lock, lock_error, contenders, check };
}

/** "redis1 is down (SIGKILL)" for the first real server of the cluster that is not running, or null. */
export function serverNotRunning(status: Pick<ClusterStatus, 'servers'>): string | null {
  const server = (status.servers ?? []).find((s) => s.state !== 'running');
  return server ? `${server.id} is ${describeServerState(server)}` : null;
}

/** Starts `rounds` critical sections on every contender; resolves once each accepted. */
export async function startRounds(client: ControlClient, rounds: number): Promise<string[]> {
  const status = await client.status();
  const { contenders } = lockMembers(status);
  const idle = contenders.filter((c) => c.status === 'up');
  if (idle.length === 0) throw new UserError('no contender is up');
  await Promise.all(idle.map((c) => send(client, c.id, { type: 'lock_run', rounds })));
  return idle.map((c) => c.id);
}

/** Waits until no contender has rounds left (a paused one holds the run up until resumed), or the deadline. */
export async function waitForRounds(client: ControlClient, timeout_ms: number): Promise<boolean> {
  const deadline = Date.now() + timeout_ms;
  for (;;) {
    const rows = contenderRows(await client.status());
    if (rows.every((r) => r.rounds_left === 0 && (r.state === 'idle' || r.state === 'down'))) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, run_poll_ms));
  }
}

export function saveReport(path: string, report: LockReport): void {
  writeFileSync(path, JSON.stringify(report) + '\n');
}

/** A report `dslab lock run --history` saved; UserError when the file is not one. */
export function loadReport(path: string): LockReport {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new UserError(`${path}: not a lock history (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`);
  }
  const report = parsed as Partial<LockReport>;
  if (!report || !Array.isArray(report.observations) || typeof report.fencing !== 'boolean') throw new UserError(`${path}: not a lock history (it needs observations and fencing)`);
  return { counter_place: report.counter_place ?? 'resource', fencing: report.fencing, counter: report.counter ?? null, max_token: report.max_token ?? null, observations: report.observations, dropped: report.dropped ?? 0, total: report.observations.length, next: null };
}

function ms(v: number | null): string {
  return v === null ? '-' : `${(v / 1000).toFixed(1)} s`;
}

export function formatLockCheck(check: LockCheck): string {
  const lines = [`${check.ok ? 'ok' : 'VIOLATED'}: ${check.summary}`];
  for (const v of check.violations) lines.push(`  - ${v}`);
  return lines.join('\n');
}

export function formatLockStatus(status: LockStatus): string {
  const lines: string[] = [];
  if (status.lock) {
    const l = status.lock;
    lines.push(`lock: ${l.holder ? `held by ${l.holder}, token ${l.token ?? '-'}, ${ms(l.ttl_left_ms)} left` : 'free'}${l.waiters.length ? `; waiting: ${l.waiters.join(', ')}` : ''}`);
  } else lines.push(`lock: unknown (${status.lock_error ?? '?'})`);
  lines.push('CONTENDER  STATE      TOKEN   LEFT  ACKED  REJECTED  FAILED  LOST-LOCK');
  for (const c of status.contenders) {
    lines.push(`${c.id.padEnd(10)} ${c.state.padEnd(10)} ${String(c.token ?? '-').padEnd(7)} ${String(c.rounds_left).padStart(4)}  ${String(c.acked).padStart(5)}  ${String(c.rejected).padStart(8)}  ${String(c.failed).padStart(6)}  ${String(c.lock_lost).padStart(9)}${c.last_error ? `  (${c.last_error})` : ''}`);
  }
  lines.push(formatLockCheck(status.check));
  return lines.join('\n');
}
