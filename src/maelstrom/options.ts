/**
 * `dslab test`'s arguments: Maelstrom's `test` flags, with its names, units
 * and defaults, read into a validated plan. A command line copied from a
 * Maelstrom page runs unchanged with `maelstrom` replaced by `dslab`.
 *
 * The argument vector is split as Maelstrom's (Jepsen's tools.cli) splits it:
 * a flag that takes a value takes the next token whatever it is; `--flag=value`
 * works; short flags clump (`-wecho`); every other token, wherever it stands,
 * is an argument of the binary, in order; after `--` everything is. Where
 * Maelstrom does the wrong thing, this does the right one and says so in a
 * warning (the plan's `warnings`; the caller prints them):
 * - a flag written with a Unicode dash (`—node-count`, as a web page's
 *   typography turns `--` into) is read as the flag; Maelstrom silently hands
 *   it and its value to the binary and runs with the defaults;
 * - `--consistency-models` is split on commas with any spacing; Maelstrom
 *   splits only on a comma with whitespace on both sides.
 * Other differences, all refusals of what would fail later or silently: a
 * known flag where a value belongs (`--bin --node-count 3`) is a missing
 * value, not the value; node names Maelstrom would take for clients or
 * services are refused; --nodes-file is not supported; counts and rates have
 * upper limits (the named constants below).
 * Pure: no I/O, nothing printed.
 */
import { nodes_max } from '../lib/protocol/messages.js';
import { workload_clients_max } from '../lib/supervisor/client-ids.js';
import { UserError } from '../lib/util/errors.js';
import { topology_kind_default, topology_kinds, type TopologyKind } from '../workloads/broadcast/topology.js';
import { closest } from '../lib/util/closest.js';

/** Maelstrom's workloads, by its names. */
export const maelstrom_workloads = ['broadcast', 'echo', 'g-counter', 'g-set', 'kafka', 'lin-kv', 'pn-counter', 'txn-list-append', 'txn-rw-register', 'unique-ids'] as const;
export type MaelstromWorkload = (typeof maelstrom_workloads)[number];

export const latency_dists = ['constant', 'uniform', 'exponential'] as const;
export type LatencyDist = (typeof latency_dists)[number];

/** `--nemesis` faults: Maelstrom's `partition`, and dslab's `kill` and `pause`. */
export const test_faults = ['partition', 'kill', 'pause'] as const;
export type TestFault = (typeof test_faults)[number];

/**
 * The names `--consistency-models` accepts: those Maelstrom's checker (Elle)
 * knows, friendly and Adya-style.
 */
export const consistency_model_names = [
  '1SR', 'PL-1', 'PL-2', 'PL-2+', 'PL-2.99', 'PL-2L', 'PL-3', 'PL-3U', 'PL-CS', 'PL-FCV', 'PL-MSR', 'PL-SI', 'PL-SS', 'PRAM',
  'causal', 'causal-cerone', 'conflict-serializable', 'consistent-view', 'cursor-stability', 'forward-consistent-view',
  'linearizable', 'monotonic-atomic-view', 'monotonic-reads', 'monotonic-snapshot-read', 'monotonic-view', 'monotonic-writes',
  'parallel-snapshot-isolation', 'prefix', 'read-atomic', 'read-committed', 'read-uncommitted', 'read-your-writes',
  'repeatable-read', 'sequential', 'serializable', 'session-serializable', 'snapshot-isolation', 'strict-serializable',
  'strong-PL-1', 'strong-PL-2', 'strong-read-committed', 'strong-read-uncommitted', 'strong-serializable',
  'strong-session-PL-1', 'strong-session-PL-2', 'strong-session-read-committed', 'strong-session-read-uncommitted',
  'strong-session-serializable', 'strong-session-snapshot-isolation', 'strong-snapshot-isolation', 'update-atomic',
  'update-serializable', 'view-serializable', 'writes-follow-reads',
] as const;

// Maelstrom's defaults.
export const default_workload: MaelstromWorkload = 'lin-kv';
/** Without --node-count (or --node/--nodes), Jepsen's five nodes, numbered from 1. */
export const default_nodes: readonly string[] = ['n1', 'n2', 'n3', 'n4', 'n5'];
export const default_concurrency = '1n';
export const default_time_limit_s = 60;
export const default_rate_per_s = 5;
export const default_latency_ms = 0;
export const default_latency_dist: LatencyDist = 'constant';
export const default_nemesis_interval_s = 10;
export const default_topology: TopologyKind = topology_kind_default;
export const default_consistency_models: readonly string[] = ['strict-serializable'];
export const default_max_txn_length = 4;
export const default_max_writes_per_key = 16;
export const default_test_count = 1;

// dslab's limits (Maelstrom has none beyond positivity); each keeps one run within what a laptop finishes.
export const time_limit_s_max = 24 * 3600;
export const rate_per_s_max = 100_000;
export const latency_ms_max = 60_000;
/** A partition every 10 ms would be all the supervisor does. */
export const nemesis_interval_s_min = 0.01;
export const nemesis_interval_s_max = 24 * 3600;
export const test_count_max = 1000;
export const key_count_max = 100_000;
export const txn_length_max = 10_000;
export const writes_per_key_max = 1_000_000;
/** `--consistency-models` entries. */
export const consistency_models_max = consistency_model_names.length;
export const node_name_chars_max = 64;
/** Names Maelstrom gives its services; a node may not take one. */
export const service_names: readonly string[] = ['lin-kv', 'lin-tso', 'lww-kv', 'seq-kv'];

export interface TestPlan {
  workload: MaelstromWorkload;
  /** The command that runs one node, and its arguments. */
  bin: string;
  bin_args: string[];
  /** Node ids in Maelstrom's order; topologies and `init`'s node_ids follow it. */
  nodes: string[];
  /** Clients, `Kn` already multiplied out. */
  concurrency: number;
  time_limit_s: number;
  rate_per_s: number;
  /** Mean latency of node↔node and node↔service messages (clients' messages get none). */
  latency_ms: number;
  latency_dist: LatencyDist;
  nemesis: TestFault[];
  nemesis_interval_s: number;
  topology: TopologyKind;
  /** Fraction of requests that must succeed, `total` (all), or null (not checked). */
  availability: number | 'total' | null;
  consistency_models: string[];
  /** null: the workload's own default. */
  key_count: number | null;
  max_txn_length: number;
  max_writes_per_key: number;
  log_stderr: boolean;
  log_net_send: boolean;
  log_net_recv: boolean;
  test_count: number;
}

export type ParsedTestArgs =
  | { kind: 'help' }
  | {
      kind: 'plan';
      plan: TestPlan;
      /** Where this read the arguments differently from Maelstrom, or ignored one: one line each, for the caller to print. */
      warnings: string[];
      /** The caller's own switches (`extra_switches`) that were given. */
      switches: string[];
    };

export interface ParseTestArgsOptions {
  /** Long names of the caller's own on/off flags (dslab's, like `dry-run`), accepted beside Maelstrom's. */
  extra_switches?: readonly string[];
}

/** Refused arguments: Maelstrom exits 254 for these (exit_code_bad_arguments), not 1. */
export class TestArgumentsError extends UserError {
  override name = 'TestArgumentsError';
}

interface FlagSpec {
  long: string;
  short?: string;
  /** What the value is, as Maelstrom's help names it; absent for on/off flags. */
  value?: string;
  /** Given more than once, the values add up (Jepsen's --node); otherwise the last wins. */
  repeats?: boolean;
  /** Jepsen's SSH and database flags: accepted, unused (nodes run on this machine). */
  ignored?: boolean;
  /** Refused, with this explanation. */
  unsupported?: string;
  /** What it does, for `dslab test --help`. */
  help?: string;
}

const maelstrom_flags: readonly FlagSpec[] = [
  { long: 'bin', value: 'FILE', help: 'the node program: a file (its arguments are the words after it that are not flags; after -- everything)' },
  { long: 'workload', short: 'w', value: 'NAME', help: 'the workload: echo, unique-ids, lin-kv, broadcast, g-set, g-counter, pn-counter (default lin-kv)' },
  { long: 'node-count', value: 'NUM', help: 'this many nodes, named n0, n1, … (default: five nodes n1 … n5)' },
  { long: 'nodes', value: 'NODE_LIST', help: 'node names, comma-separated' },
  { long: 'node', short: 'n', value: 'HOSTNAME', repeats: true, help: 'one node name (repeatable)' },
  { long: 'nodes-file', value: 'FILENAME', unsupported: 'name the nodes with --nodes n1,n2,n3 or give --node-count', help: 'not supported: use --nodes or --node-count' },
  { long: 'time-limit', value: 'SECONDS', help: 'seconds the clients run (default 60)' },
  { long: 'rate', value: 'RATE', help: 'requests per second over all clients (default 5; 0 sends none)' },
  { long: 'concurrency', value: 'NUMBER', help: 'clients: a number, or Kn for K per node (default 1n)' },
  { long: 'latency', value: 'MILLIS', help: "mean milliseconds added to node and service messages, never to clients' (default 0)" },
  { long: 'latency-dist', value: 'TYPE', help: 'how the latency is drawn: constant, uniform or exponential (default constant)' },
  { long: 'nemesis', value: 'FAULTS', help: "faults, comma-separated: partition, and dslab's kill and pause" },
  { long: 'nemesis-interval', value: 'SECONDS', help: 'mean seconds between nemesis steps (default 10)' },
  { long: 'topology', value: 'SPEC', help: "broadcast's topology: grid, line, tree2, tree3, tree4, total (default grid)" },
  { long: 'availability', value: 'EXPECTED', help: 'fraction of requests that must succeed, or total (default: not checked)' },
  { long: 'consistency-models', value: 'MODELS', help: 'models the transactional workloads are checked against (default strict-serializable)' },
  { long: 'key-count', value: 'INT', help: 'keys the keyed workloads use at once' },
  { long: 'max-txn-length', value: 'INT', help: 'most operations in one transaction (default 4)' },
  { long: 'max-writes-per-key', value: 'INT', help: 'most writes to one key before a fresh key (default 16)' },
  { long: 'log-stderr', help: "print the nodes' stderr as it comes (the node logs keep it anyway)" },
  { long: 'log-net-send', help: "accepted; the run's trace.jsonl holds every message sent" },
  { long: 'log-net-recv', help: "accepted; the run's trace.jsonl holds every message received" },
  { long: 'test-count', value: 'NUMBER', help: 'run the test this many times, stopping at the first that is not valid (default 1)' },
  { long: 'help', short: 'h', help: 'show this help' },
  { long: 'username', value: 'USER', ignored: true },
  { long: 'password', value: 'PASS', ignored: true },
  { long: 'ssh-private-key', value: 'FILE', ignored: true },
  { long: 'strict-host-key-checking', ignored: true },
  { long: 'no-ssh', ignored: true },
  { long: 'leave-db-running', ignored: true },
  { long: 'logging-json', ignored: true },
];

/** Maelstrom's flags as `dslab test --help` lists them (the ignored SSH flags left out). */
export function maelstromFlagsHelp(): { long: string; short?: string; value?: string; help: string }[] {
  return maelstrom_flags
    .filter((flag) => !flag.ignored && flag.long !== 'help')
    .map((flag) => ({ long: flag.long, ...(flag.short ? { short: flag.short } : {}), ...(flag.value ? { value: flag.value } : {}), help: flag.help ?? '' }));
}

/** Dash-like characters a web page or word processor puts where `-` was meant: hyphen, non-breaking hyphen, figure dash, en and em dash, horizontal bar, minus sign, small and full-width hyphen-minus. */
const unicode_dash = /[\u2010-\u2015\u2212\uFE58\uFE63\uFF0D]/;
const unicode_dashes = new RegExp(unicode_dash.source, 'g');
const dash_like_start = new RegExp(`^(?:-|${unicode_dash.source})`);
const only_unicode_dashes = new RegExp(`^${unicode_dash.source}+$`);

/** What the tokens said, before any value is checked. */
interface RawArgs {
  /** Long name → its value (the last given) or, for repeating flags, every value. */
  values: Map<string, string[]>;
  switches: Set<string>;
  bin_args: string[];
  warnings: string[];
  errors: string[];
  /** Flags given without their value (already an error): not reported again as missing. */
  valueless: Set<string>;
}

/**
 * Reads Maelstrom's `test` arguments (everything after `test`). Throws
 * TestArgumentsError, one line naming the first problem (and how many more),
 * when they are refused; `-h`/`--help` anywhere wins over any problem, as in
 * Maelstrom.
 */
export function parseTestArgs(argv: readonly string[], options: ParseTestArgsOptions = {}): ParsedTestArgs {
  const flags = [...maelstrom_flags, ...(options.extra_switches ?? []).map((long) => ({ long }))];
  const raw = tokenize(argv, flags);
  if (raw.switches.has('help')) return { kind: 'help' };
  // Every value is checked even after a bad flag, so the message can count all the problems.
  const plan = resolvePlan(raw);
  if (!plan) {
    const [first, ...rest] = raw.errors;
    throw new TestArgumentsError(rest.length > 0 ? `${first} (and ${rest.length} more ${rest.length === 1 ? 'problem' : 'problems'})` : first!);
  }
  const extra = new Set(options.extra_switches ?? []);
  return { kind: 'plan', plan, warnings: raw.warnings, switches: [...raw.switches].filter((name) => extra.has(name)) };
}

function tokenize(argv: readonly string[], flags: readonly FlagSpec[]): RawArgs {
  const raw: RawArgs = { values: new Map(), switches: new Set(), bin_args: [], warnings: [], errors: [], valueless: new Set() };
  const byLong = new Map(flags.map((flag) => [flag.long, flag]));
  const byShort = new Map(flags.filter((flag) => flag.short).map((flag) => [flag.short!, flag]));
  const before_bin: string[] = [];
  let index = 0;
  const nextToken = (): string | undefined => argv[index++];

  const take = (flag: FlagSpec, written: string, inline: string | undefined): void => {
    if (flag.ignored) raw.warnings.push(`--${flag.long} is ignored: dslab runs every node on this machine`);
    if (flag.value === undefined) {
      if (inline !== undefined) raw.errors.push(`${written} takes no value, got "${written}=${inline}"`);
      else raw.switches.add(flag.long);
      return;
    }
    let value = inline;
    if (value === undefined) {
      value = nextToken();
      if (value === undefined) {
        raw.errors.push(`${written} needs a value (${flag.value})`);
        raw.valueless.add(flag.long);
        return;
      }
      // A flag where the value should be is a forgotten value, not a value (tools.cli's strict mode).
      const next = readFlag(value, byLong, byShort);
      if (next && next.kind === 'flag') {
        raw.errors.push(`${written} needs a value (${flag.value}), but the next argument is the flag ${value}`);
        raw.valueless.add(flag.long);
        return;
      }
    }
    if (flag.unsupported) {
      raw.errors.push(`--${flag.long} is not supported by dslab test: ${flag.unsupported}`);
      return;
    }
    const values = flag.repeats ? [...(raw.values.get(flag.long) ?? []), value] : [value];
    raw.values.set(flag.long, values);
    if (flag.long === 'bin' && before_bin.length > 0) {
      raw.warnings.push(`${describeList(before_bin.map((arg) => `"${arg}"`))} ${before_bin.length === 1 ? 'comes' : 'come'} before --bin; passed to the binary as ${before_bin.length === 1 ? 'its argument' : 'its arguments'}, as Maelstrom does`);
      before_bin.length = 0;
    }
  };

  while (index < argv.length) {
    const token = nextToken()!;
    if (token === '--') {
      raw.bin_args.push(...argv.slice(index));
      break;
    }
    if (only_unicode_dashes.test(token)) {
      // A copied "--" that typography turned into a dash: guessing either way would misplace arguments.
      raw.errors.push(`"${token}" is a Unicode dash (${describeDashes(token)}); write "--" to end dslab's flags, or quote it after "--" for the binary`);
      continue;
    }
    const read = readFlag(token, byLong, byShort);
    if (!read) {
      raw.bin_args.push(token);
      if (!raw.values.has('bin')) before_bin.push(token);
      continue;
    }
    if (read.kind === 'unknown') {
      raw.errors.push(read.message);
      continue;
    }
    if (read.unicode) {
      raw.warnings.push(
        `"${read.unicode}" is written with a Unicode dash (${describeDashes(read.unicode)}); read as ${read.written}. Maelstrom would have passed it to the binary as an argument`,
      );
    }
    // In a clump (-hw echo) only the last letter can be missing its value, so only it takes the next token.
    for (const use of read.uses) take(use.flag, use.written, use.inline);
  }
  return raw;
}

interface FlagUse {
  flag: FlagSpec;
  /** How to name it in messages: --name or -x. */
  written: string;
  inline: string | undefined;
}

type ReadFlag = { kind: 'flag'; uses: FlagUse[]; unicode: string | null; written: string } | { kind: 'unknown'; message: string };

/** A token read as flags, or null when it is a positional argument (an argument of the binary). */
function readFlag(token: string, byLong: ReadonlyMap<string, FlagSpec>, byShort: ReadonlyMap<string, FlagSpec>): ReadFlag | null {
  if (token.length < 2 || !dash_like_start.test(token)) return null;
  const equals = token.indexOf('=');
  const head = equals >= 0 ? token.slice(0, equals) : token;
  const inline = equals >= 0 ? token.slice(equals + 1) : undefined;

  if (unicode_dash.test(head)) {
    const name = head.replace(unicode_dashes, '-').replace(/^-+/, '');
    const long = byLong.get(name);
    if (long) return { kind: 'flag', uses: [{ flag: long, written: `--${name}`, inline }], unicode: head, written: `--${name}` };
    const short = name.length === 1 ? byShort.get(name) : undefined;
    if (short) return { kind: 'flag', uses: [{ flag: short, written: `-${name}`, inline }], unicode: head, written: `-${name}` };
    return { kind: 'unknown', message: `unknown flag "${token}", written with a Unicode dash (${describeDashes(head)})${suggestion(name, byLong)}` };
  }

  if (head.startsWith('--')) {
    const name = head.slice(2);
    const flag = byLong.get(name);
    if (flag) return { kind: 'flag', uses: [{ flag, written: head, inline }], unicode: null, written: head };
    return { kind: 'unknown', message: `unknown flag ${head}${suggestion(name, byLong)}${binaryHint(token)}` };
  }

  // One dash. A whole long name after it is a missing dash, not a clump of short flags.
  const letters = token.slice(1);
  const long_name = head.slice(1);
  if (long_name.length > 1 && byLong.has(long_name)) return { kind: 'unknown', message: `${head} has one dash; write --${long_name}` };
  const uses: FlagUse[] = [];
  for (let at = 0; at < letters.length; at++) {
    const letter = letters[at]!;
    const flag = byShort.get(letter);
    if (!flag) {
      return { kind: 'unknown', message: `unknown flag -${letter}${letters.length > 1 ? ` (in ${token})` : ''}${binaryHint(token)}` };
    }
    if (flag.value !== undefined && at < letters.length - 1) {
      // -wecho: the rest of the token is the value.
      uses.push({ flag, written: `-${letter}`, inline: letters.slice(at + 1) });
      return { kind: 'flag', uses, unicode: null, written: token };
    }
    uses.push({ flag, written: `-${letter}`, inline: undefined });
  }
  return { kind: 'flag', uses, unicode: null, written: token };
}

function binaryHint(token: string): string {
  return `; to pass it to the binary, put it after "--" (… --bin ./node -- ${token})`;
}

function suggestion(name: string, byLong: ReadonlyMap<string, FlagSpec>): string {
  const guess = closest(name.toLowerCase().replace(/_/g, '-'), [...byLong.keys()]);
  return guess ? ` (did you mean --${guess}?)` : '';
}

function describeDashes(text: string): string {
  const found = [...new Set(text.match(unicode_dashes) ?? [])];
  return found.map((dash) => `U+${dash.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`).join(', ');
}

function describeList(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

// ---- values ----

/** Reads each flag's value into the plan, collecting every problem into raw.errors; null when there was one. */
function resolvePlan(raw: RawArgs): TestPlan | null {
  const errors = raw.errors;
  const value = (long: string): string | undefined => raw.values.get(long)?.at(-1);
  const check = <T>(read: () => T): T | undefined => {
    try {
      return read();
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      errors.push(error.message);
      return undefined;
    }
  };
  const wholeOr = (long: string, fallback: number, range: WholeRange): number | undefined => {
    const text = value(long);
    return text === undefined ? fallback : check(() => parseWhole(`--${long}`, text, range));
  };

  const bin = value('bin');
  if (bin === undefined && !raw.valueless.has('bin')) errors.push('--bin is required: the command that runs one node, as in --bin ./node.py');
  else if (bin !== undefined && bin.trim() === '') errors.push('--bin is empty: give the command that runs one node, as in --bin ./node.py');

  const workload = check(() => parseChoice('--workload', value('workload') ?? default_workload, maelstrom_workloads));
  const nodes = check(() => resolveNodes(raw));
  const time_limit_s = wholeOr('time-limit', default_time_limit_s, { min: 1, max: time_limit_s_max, unit: 'seconds' });
  const rate_text = value('rate');
  const rate_per_s = rate_text === undefined ? default_rate_per_s : check(() => parseDecimal('--rate', rate_text, { min: 0, max: rate_per_s_max, unit: 'requests per second' }));
  const latency_ms = wholeOr('latency', default_latency_ms, { min: 0, max: latency_ms_max, unit: 'ms' });
  const latency_dist = check(() => parseChoice('--latency-dist', value('latency-dist') ?? default_latency_dist, latency_dists));
  const nemesis_text = value('nemesis');
  const nemesis = nemesis_text === undefined ? [] : check(() => parseFaults(nemesis_text));
  const interval_text = value('nemesis-interval');
  const nemesis_interval_s =
    interval_text === undefined
      ? default_nemesis_interval_s
      : check(() => parseDecimal('--nemesis-interval', interval_text, { min: nemesis_interval_s_min, max: nemesis_interval_s_max, unit: 'seconds' }));
  const topology = check(() => parseChoice('--topology', value('topology') ?? default_topology, topology_kinds));
  const availability_text = value('availability');
  const availability = availability_text === undefined ? null : check(() => parseAvailability(availability_text));
  const models_text = value('consistency-models');
  const consistency_models = models_text === undefined ? [...default_consistency_models] : check(() => parseConsistencyModels(models_text, raw.warnings));
  const key_count_text = value('key-count');
  const key_count = key_count_text === undefined ? null : check(() => parseWhole('--key-count', key_count_text, { min: 1, max: key_count_max, unit: 'keys' }));
  const max_txn_length = wholeOr('max-txn-length', default_max_txn_length, { min: 1, max: txn_length_max, unit: 'operations' });
  const max_writes_per_key = wholeOr('max-writes-per-key', default_max_writes_per_key, { min: 1, max: writes_per_key_max, unit: 'writes' });
  const test_count = wholeOr('test-count', default_test_count, { min: 1, max: test_count_max, unit: 'runs' });
  const concurrency = nodes ? check(() => parseConcurrency(value('concurrency') ?? default_concurrency, nodes.length)) : undefined;

  if (errors.length > 0) return null;
  return {
    workload: workload!,
    bin: bin!,
    bin_args: raw.bin_args,
    nodes: nodes!,
    concurrency: concurrency!,
    time_limit_s: time_limit_s!,
    rate_per_s: rate_per_s!,
    latency_ms: latency_ms!,
    latency_dist: latency_dist!,
    nemesis: nemesis!,
    nemesis_interval_s: nemesis_interval_s!,
    topology: topology!,
    availability: availability!,
    consistency_models: consistency_models!,
    key_count: key_count!,
    max_txn_length: max_txn_length!,
    max_writes_per_key: max_writes_per_key!,
    log_stderr: raw.switches.has('log-stderr'),
    log_net_send: raw.switches.has('log-net-send'),
    log_net_recv: raw.switches.has('log-net-recv'),
    test_count: test_count!,
  };
}

interface WholeRange {
  min: number;
  max: number;
  /** What the number counts, for messages. */
  unit: string;
}

/** A whole number, as Maelstrom's integer flags read them (no fraction, no exponent). */
export function parseWhole(flag: string, text: string, range: WholeRange): number {
  if (!/^\+?\d+$/.test(text.trim())) throw new TestArgumentsError(`${flag} must be a whole number (${range.unit}), got "${text}"`);
  return inRange(flag, Number(text.trim()), text, range);
}

/** A decimal number ("5", "0.5", ".5", "1e3"), as Maelstrom's --rate and --nemesis-interval read them. */
export function parseDecimal(flag: string, text: string, range: WholeRange): number {
  if (!/^\+?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text.trim())) throw new TestArgumentsError(`${flag} must be a number (${range.unit}), got "${text}"`);
  return inRange(flag, Number(text.trim()), text, range);
}

function inRange(flag: string, number: number, text: string, range: WholeRange): number {
  if (number < range.min || number > range.max) throw new TestArgumentsError(`${flag} must be between ${range.min} and ${range.max} ${range.unit}, got ${text.trim()}`);
  return number;
}

function parseChoice<T extends string>(flag: string, text: string, choices: readonly T[]): T {
  const found = choices.find((choice) => choice === text);
  if (found) return found;
  const guess = closest(text.toLowerCase(), choices);
  throw new TestArgumentsError(`${flag} must be one of ${choices.join(', ')}; got "${text}"${guess ? ` (did you mean ${guess}?)` : ''}`);
}

/** Kn is K clients per node; a bare K is K clients. */
export function parseConcurrency(text: string, node_count: number): number {
  const match = /^(\d+)(n?)$/.exec(text.trim());
  if (!match) throw new TestArgumentsError(`--concurrency must be a whole number, optionally followed by n (per node), as in 10 or 2n; got "${text}"`);
  const clients = Number(match[1]) * (match[2] === 'n' ? node_count : 1);
  if (clients < 1 || clients > workload_clients_max) {
    const of = match[2] === 'n' ? ` (${text.trim()} of ${node_count} nodes)` : '';
    throw new TestArgumentsError(`--concurrency must come to between 1 and ${workload_clients_max} clients, got ${clients}${of}`);
  }
  return clients;
}

/** Comma-separated faults with any spacing, as Maelstrom splits --nemesis; each once, in test_faults' order. */
export function parseFaults(text: string): TestFault[] {
  const names = text.split(/\s*,\s*/).map((name) => name.trim());
  const chosen = new Set<TestFault>();
  for (const name of names) chosen.add(parseChoice('--nemesis', name, test_faults));
  return test_faults.filter((fault) => chosen.has(fault));
}

/** `total`, or the fraction (0 to 1) of requests that must succeed. */
export function parseAvailability(text: string): number | 'total' {
  if (text.trim() === 'total') return 'total';
  if (!/^\+?(\d+\.?\d*|\.\d+)$/.test(text.trim()) || Number(text) > 1) {
    throw new TestArgumentsError(`--availability must be total or a fraction from 0 to 1, as in 0.99; got "${text}"`);
  }
  return Number(text);
}

/**
 * Split on commas whatever the spacing. Maelstrom splits only on a comma
 * with whitespace on both sides, so "serializable,linearizable" reaches its
 * checker as one unknown model; when the two readings differ, `warnings`
 * gets a line saying so.
 */
export function parseConsistencyModels(text: string, warnings: string[]): string[] {
  const names = text.trim().split(/\s*,\s*/);
  if (names.length > consistency_models_max) throw new TestArgumentsError(`--consistency-models names at most ${consistency_models_max} models, got ${names.length}`);
  const models: string[] = [];
  for (const name of names) {
    if (name === '') throw new TestArgumentsError(`--consistency-models has an empty name in "${text}"`);
    const model = knownModel(name);
    if (!models.includes(model)) models.push(model);
  }
  const maelstrom_reading = text.split(/\s+,\s+/);
  if (maelstrom_reading.length !== names.length) {
    warnings.push(`--consistency-models "${text}" read as ${models.join(', ')}; Maelstrom splits only on " , " (spaces around the comma) and would have read ${maelstrom_reading.map((name) => `"${name}"`).join(', ')}`);
  }
  return models;
}

function knownModel(name: string): string {
  if ((consistency_model_names as readonly string[]).includes(name)) return name;
  const guess = closest(name, consistency_model_names);
  throw new TestArgumentsError(`--consistency-models: unknown model "${name}"${guess ? ` (did you mean ${guess}?)` : ''}; known: serializable, strict-serializable, snapshot-isolation, read-committed, linearizable and others Elle knows`);
}

/**
 * The node list as Maelstrom builds it: --node-count N gives n0…n(N-1) and
 * replaces --nodes; explicit --node names follow; with none of these, Jepsen's
 * default n1…n5.
 */
function resolveNodes(raw: RawArgs): string[] {
  const count_text = raw.values.get('node-count')?.at(-1);
  const list_text = raw.values.get('nodes')?.at(-1);
  const named = raw.values.get('node') ?? [];
  let listed: string[] = [];
  if (count_text !== undefined) {
    const count = parseWhole('--node-count', count_text, { min: 1, max: nodes_max, unit: 'nodes' });
    listed = Array.from({ length: count }, (_, i) => `n${i}`);
    if (list_text !== undefined) raw.warnings.push(`--nodes ${list_text} is replaced by --node-count ${count_text} (nodes n0…n${count - 1}), as in Maelstrom`);
  } else if (list_text !== undefined) {
    listed = list_text.split(/,\s*/);
    if (listed.length === 1 && /^\d+$/.test(listed[0]!.trim())) {
      throw new TestArgumentsError(`--nodes takes node names, as in --nodes n1,n2,n3; for ${listed[0]} nodes write --node-count ${listed[0]}`);
    }
  }
  const counted = named.find((node) => /^\d+$/.test(node));
  if (counted !== undefined) throw new TestArgumentsError(`-n/--node names one node; for ${counted} nodes write --node-count ${counted}`);
  const nodes = count_text === undefined && list_text === undefined && named.length === 0 ? [...default_nodes] : [...listed, ...named];
  for (const node of nodes) checkNodeName(node);
  const seen = new Set<string>();
  for (const node of nodes) {
    if (seen.has(node)) throw new TestArgumentsError(`node ${node} is listed twice`);
    seen.add(node);
  }
  if (nodes.length > nodes_max) throw new TestArgumentsError(`at most ${nodes_max} nodes, got ${nodes.length}`);
  return nodes;
}

function checkNodeName(node: string): void {
  if (!/^[A-Za-z][A-Za-z0-9_.-]*$/.test(node) || node.length > node_name_chars_max) {
    throw new TestArgumentsError(`bad node name "${node}": a letter, then letters, digits, "_", "." or "-" (at most ${node_name_chars_max} characters)`);
  }
  // Maelstrom takes any id that starts with c for a client, and gives clients' messages no latency.
  if (node.startsWith('c')) throw new TestArgumentsError(`bad node name "${node}": ids starting with c are clients' in Maelstrom's protocol`);
  if (service_names.includes(node)) throw new TestArgumentsError(`bad node name "${node}": that is a service's name`);
}

