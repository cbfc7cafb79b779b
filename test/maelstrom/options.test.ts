import { describe, expect, it } from 'vitest';
import { parseTestArgs, TestArgumentsError, type ParsedTestArgs, type TestPlan } from '../../src/maelstrom/options.js';

/** Splits a command line on spaces (the tests need no quoting) and parses it. */
function parse(line: string, extra_switches?: string[]): Extract<ParsedTestArgs, { kind: 'plan' }> {
  const parsed = parseTestArgs(line.split(' ').filter(Boolean), { extra_switches });
  if (parsed.kind !== 'plan') throw new Error('expected a plan, got help');
  return parsed;
}
const plan = (line: string): TestPlan => parse(line).plan;

/** The one-line message a refused command line gets. */
function refusal(argv: string | string[]): string {
  try {
    parseTestArgs(typeof argv === 'string' ? argv.split(' ').filter(Boolean) : argv);
  } catch (error) {
    expect(error).toBeInstanceOf(TestArgumentsError);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('expected the arguments to be refused');
}

describe("Maelstrom's defaults", () => {
  it('with only --bin: lin-kv on Jepsen\'s five nodes n1…n5, one client per node, 60 s at 5 requests/s', () => {
    const parsed = parse('--bin ./node.py');
    expect(parsed.warnings).toEqual([]);
    expect(parsed.plan).toEqual({
      workload: 'lin-kv',
      bin: './node.py',
      bin_args: [],
      nodes: ['n1', 'n2', 'n3', 'n4', 'n5'],
      concurrency: 5,
      time_limit_s: 60,
      rate_per_s: 5,
      latency_ms: 0,
      latency_dist: 'constant',
      nemesis: [],
      nemesis_interval_s: 10,
      topology: 'grid',
      availability: null,
      consistency_models: ['strict-serializable'],
      key_count: null,
      max_txn_length: 4,
      max_writes_per_key: 16,
      log_stderr: false,
      log_net_send: false,
      log_net_recv: false,
      test_count: 1,
    } satisfies TestPlan);
  });
});

describe('command lines from the challenges', () => {
  it('broadcast efficiency: 25 nodes n0…n24, 100 ms latency, rate 100', () => {
    const p = plan('-w broadcast --bin ~/go/bin/maelstrom-broadcast --node-count 25 --time-limit 20 --rate 100 --latency 100');
    expect(p.workload).toBe('broadcast');
    expect(p.bin).toBe('~/go/bin/maelstrom-broadcast');
    expect(p.nodes).toEqual(Array.from({ length: 25 }, (_, i) => `n${i}`));
    expect(p.concurrency).toBe(25);
    expect([p.time_limit_s, p.rate_per_s, p.latency_ms]).toEqual([20, 100, 100]);
  });

  it('g-counter with partitions', () => {
    const p = plan('-w g-counter --bin ./counter --node-count 3 --rate 100 --time-limit 20 --nemesis partition');
    expect(p.nemesis).toEqual(['partition']);
    expect(p.nodes).toEqual(['n0', 'n1', 'n2']);
  });

  it('unique ids, totally available', () => {
    const p = plan('-w unique-ids --bin ./ids --time-limit 30 --rate 1000 --node-count 3 --availability total --nemesis partition');
    expect(p.availability).toBe('total');
    expect(p.rate_per_s).toBe(1000);
  });

  it('the guide\'s single named node, and a Raft run repeated ten times', () => {
    expect(plan('-w echo --bin echo.rb --nodes n1 --time-limit 10').nodes).toEqual(['n1']);
    const raft = plan('-w lin-kv --bin raft.rb --node-count 3 --concurrency 4n --rate 30 --time-limit 60 --nemesis partition --nemesis-interval 10 --test-count 10');
    expect([raft.concurrency, raft.test_count, raft.nemesis_interval_s]).toEqual([12, 10, 10]);
  });

  it('java -jar style: the binary is a wrapper script taking its own arguments', () => {
    const p = plan('-w echo --bin python3 echo.py --node-count 1 --time-limit 10');
    expect(p.bin).toBe('python3');
    expect(p.bin_args).toEqual(['echo.py']);
    expect(p.nodes).toEqual(['n0']);
  });
});

describe('splitting the argument vector as Maelstrom does', () => {
  it('every positional argument, wherever it stands, is the binary\'s, in order', () => {
    const p = plan('--bin ./node a --node-count 3 b');
    expect(p.bin_args).toEqual(['a', 'b']);
    expect(p.nodes).toHaveLength(3);
  });

  it('after -- everything is the binary\'s, flags included', () => {
    const p = plan('--bin ./node --node-count 2 -- --verbose -x --rate 9');
    expect(p.bin_args).toEqual(['--verbose', '-x', '--rate', '9']);
    expect(p.rate_per_s).toBe(5);
  });

  it('a binary argument that looks like a flag, before --, is refused with the way out', () => {
    expect(refusal('--bin ./node --verbose')).toBe('unknown flag --verbose; to pass it to the binary, put it after "--" (… --bin ./node -- --verbose)');
    expect(refusal('--bin ./node -1')).toMatch(/^unknown flag -1; to pass it to the binary, put it after "--"/);
  });

  it('--flag=value, clumped short flags, and the last of a repeated flag', () => {
    expect(plan('--bin=./node --rate=7').rate_per_s).toBe(7);
    expect(plan('-wecho --bin ./node').workload).toBe('echo');
    expect(plan('--bin ./node --rate 1 --rate 2').rate_per_s).toBe(2);
  });

  it('a positional argument before --bin still goes to the binary, with a warning', () => {
    const parsed = parse('echo --bin ./node');
    expect(parsed.plan.bin_args).toEqual(['echo']);
    expect(parsed.plan.workload).toBe('lin-kv');
    expect(parsed.warnings).toEqual(['"echo" comes before --bin; passed to the binary as its argument, as Maelstrom does']);
    expect(parse('a b --bin ./node --bin ./other').warnings).toEqual(['"a" and "b" come before --bin; passed to the binary as its arguments, as Maelstrom does']);
  });

  it('a flag missing its value is refused, also when the next token is another flag', () => {
    expect(refusal('--bin')).toBe('--bin needs a value (FILE)');
    expect(refusal('--bin ./node -w')).toBe('-w needs a value (NAME)');
    expect(refusal('--bin --node-count 3')).toBe('--bin needs a value (FILE), but the next argument is the flag --node-count');
  });

  it('--bin is required and may not be empty', () => {
    expect(refusal('-w echo')).toMatch(/^--bin is required/);
    expect(refusal(['--bin', ' '])).toMatch(/^--bin is empty/);
  });
});

describe('flags written with a Unicode dash', () => {
  it('are read as the flag, never handed to the binary, and each is warned about', () => {
    const parsed = parse('-w broadcast --bin ./node —node-count 3 –rate 10 −−latency 100 --time‑limit 20 –w echo');
    expect(parsed.plan.nodes).toEqual(['n0', 'n1', 'n2']);
    expect([parsed.plan.rate_per_s, parsed.plan.latency_ms, parsed.plan.time_limit_s]).toEqual([10, 100, 20]);
    expect(parsed.plan.workload).toBe('echo');
    expect(parsed.plan.bin_args).toEqual([]);
    expect(parsed.warnings).toHaveLength(5);
    expect(parsed.warnings[0]).toBe(
      '"—node-count" is written with a Unicode dash (U+2014); read as --node-count. Maelstrom would have passed it to the binary as an argument',
    );
    expect(parsed.warnings[1]).toContain('U+2013');
    expect(parsed.warnings[2]).toContain('U+2212');
    expect(parsed.warnings[3]).toContain('U+2011');
    expect(parsed.warnings[4]).toContain('read as -w');
  });

  it('with =value too', () => {
    expect(plan('--bin ./node —rate=3').rate_per_s).toBe(3);
  });

  it('a lone Unicode dash (a copied "--") is refused, not passed on', () => {
    expect(refusal('--bin ./node — --verbose')).toMatch(/^"—" is a Unicode dash \(U\+2014\); write "--" to end dslab's flags/);
  });

  it('an unknown one is refused, not passed on', () => {
    expect(refusal('--bin ./node —node-cont 3')).toBe('unknown flag "—node-cont", written with a Unicode dash (U+2014) (did you mean --node-count?)');
  });

  it('after -- they are the binary\'s, untouched', () => {
    const parsed = parse('--bin ./node -- —verbose');
    expect(parsed.plan.bin_args).toEqual(['—verbose']);
    expect(parsed.warnings).toEqual([]);
  });
});

describe('unknown flags', () => {
  it('name the flag and suggest the likely one', () => {
    expect(refusal('--bin ./node --node-cont 3')).toMatch(/^unknown flag --node-cont \(did you mean --node-count\?\);/);
    expect(refusal('--bin ./node --node_count 3')).toMatch(/^unknown flag --node_count \(did you mean --node-count\?\);/);
    expect(refusal('--bin ./node --time-limt 3')).toMatch(/did you mean --time-limit\?/);
  });

  it('a long name with one dash is a missing dash, not clumped short flags', () => {
    expect(refusal('--bin ./node -node-count 3')).toBe('-node-count has one dash; write --node-count');
  });

  it('several problems: the first, and how many more', () => {
    expect(refusal('--bin ./node --foo --rate x')).toMatch(/^unknown flag --foo; .* \(and 1 more problem\)$/);
  });

  it("the caller's own switches are recognised only when declared", () => {
    expect(parse('--bin ./node --dry-run', ['dry-run', 'watch']).switches).toEqual(['dry-run']);
    expect(refusal('--bin ./node --dry-run')).toMatch(/^unknown flag --dry-run/);
  });
});

describe('help', () => {
  it('-h or --help anywhere wins over any problem, as in Maelstrom', () => {
    expect(parseTestArgs(['--help'])).toEqual({ kind: 'help' });
    expect(parseTestArgs(['--rate', 'x', '-h', '--frob'])).toEqual({ kind: 'help' });
  });
});

describe('concurrency', () => {
  it('Kn is K clients per node, counted after the node list is known', () => {
    expect(plan('--bin ./n --node-count 3 --concurrency 2n').concurrency).toBe(6);
    expect(plan('--bin ./n --concurrency 2n --node-count 3').concurrency).toBe(6);
    expect(plan('--bin ./n --node-count 3 --concurrency 10').concurrency).toBe(10);
    expect(plan('--bin ./n --node-count 4').concurrency).toBe(4);
  });

  it('refuses fractions, zero and more clients than a run holds', () => {
    expect(refusal('--bin ./n --concurrency 2.5')).toMatch(/^--concurrency must be a whole number, optionally followed by n/);
    expect(refusal('--bin ./n --concurrency 0')).toBe('--concurrency must come to between 1 and 200 clients, got 0');
    expect(refusal('--bin ./n --node-count 25 --concurrency 10n')).toBe('--concurrency must come to between 1 and 200 clients, got 250 (10n of 25 nodes)');
  });
});

describe('numbers in Maelstrom\'s units', () => {
  it('--time-limit is whole seconds, positive', () => {
    expect(plan('--bin ./n --time-limit 5').time_limit_s).toBe(5);
    expect(refusal('--bin ./n --time-limit 1.5')).toBe('--time-limit must be a whole number (seconds), got "1.5"');
    expect(refusal('--bin ./n --time-limit 0')).toMatch(/^--time-limit must be between 1 and \d+ seconds, got 0$/);
  });

  it('--rate is requests per second, fractional, zero allowed', () => {
    expect(plan('--bin ./n --rate 0').rate_per_s).toBe(0);
    expect(plan('--bin ./n --rate 12.5').rate_per_s).toBe(12.5);
    expect(refusal('--bin ./n --rate -1')).toBe('--rate must be a number (requests per second), got "-1"');
  });

  it('--latency is whole ms, with constant, uniform or exponential distribution', () => {
    const p = plan('--bin ./n --latency 100 --latency-dist exponential');
    expect([p.latency_ms, p.latency_dist]).toEqual([100, 'exponential']);
    expect(refusal('--bin ./n --latency 0.5')).toMatch(/^--latency must be a whole number \(ms\)/);
    expect(refusal('--bin ./n --latency-dist normal')).toBe('--latency-dist must be one of constant, uniform, exponential; got "normal"');
  });

  it('--nemesis-interval is seconds, fractions allowed, positive', () => {
    expect(plan('--bin ./n --nemesis-interval 0.5').nemesis_interval_s).toBe(0.5);
    expect(refusal('--bin ./n --nemesis-interval 0')).toMatch(/^--nemesis-interval must be between 0.01 and \d+ seconds, got 0$/);
  });

  it('transaction knobs and the test count are positive whole numbers', () => {
    const p = plan('--bin ./n --key-count 3 --max-txn-length 2 --max-writes-per-key 4 --test-count 3');
    expect([p.key_count, p.max_txn_length, p.max_writes_per_key, p.test_count]).toEqual([3, 2, 4, 3]);
    expect(refusal('--bin ./n --key-count 0')).toMatch(/^--key-count must be between 1/);
    expect(refusal('--bin ./n --test-count many')).toMatch(/^--test-count must be a whole number/);
  });
});

describe('choices', () => {
  it('--workload: Maelstrom\'s ten, with a suggestion for a typo', () => {
    expect(plan('--workload pn-counter --bin ./n').workload).toBe('pn-counter');
    expect(refusal('-w brodcast --bin ./n')).toMatch(/^--workload must be one of broadcast, .*; got "brodcast" \(did you mean broadcast\?\)$/);
  });

  it('--nemesis: comma-separated with any spacing, each once; kill and pause are dslab\'s', () => {
    expect(plan('--bin ./n --nemesis pause,partition').nemesis).toEqual(['partition', 'pause']);
    expect(parseTestArgs(['--bin', './n', '--nemesis', 'kill , partition,kill'])).toMatchObject({ plan: { nemesis: ['partition', 'kill'] } });
    expect(refusal('--bin ./n --nemesis partiton')).toMatch(/^--nemesis must be one of partition, kill, pause; got "partiton" \(did you mean partition\?\)$/);
  });

  it('--topology: line, grid, tree, tree2…4, total', () => {
    expect(plan('--bin ./n --topology tree4').topology).toBe('tree4');
    expect(plan('--bin ./n --topology tree').topology).toBe('tree');
    expect(refusal('--bin ./n --topology ring')).toMatch(/^--topology must be one of line, grid, tree, tree2, tree3, tree4, total; got "ring"/);
  });

  it('--availability: total or a fraction', () => {
    expect(plan('--bin ./n --availability 0.99').availability).toBe(0.99);
    expect(plan('--bin ./n --availability total').availability).toBe('total');
    expect(refusal('--bin ./n --availability 1.5')).toMatch(/^--availability must be total or a fraction from 0 to 1/);
  });
});

describe('--consistency-models', () => {
  it('splits on commas with any spacing, and says where Maelstrom would not have', () => {
    const parsed = parse('-w txn-rw-register --bin ./n --consistency-models read-committed,serializable');
    expect(parsed.plan.consistency_models).toEqual(['read-committed', 'serializable']);
    expect(parsed.warnings).toEqual([
      '--consistency-models "read-committed,serializable" read as read-committed, serializable; Maelstrom splits only on " , " (spaces around the comma) and would have read "read-committed,serializable"',
    ]);
  });

  it('no warning where both read it alike', () => {
    const parsed = parseTestArgs(['--bin', './n', '--consistency-models', 'read-committed , PL-2']);
    expect(parsed).toMatchObject({ plan: { consistency_models: ['read-committed', 'PL-2'] }, warnings: [] });
  });

  it('refuses unknown models with a suggestion', () => {
    expect(refusal('--bin ./n --consistency-models read-commited')).toMatch(/^--consistency-models: unknown model "read-commited" \(did you mean read-committed\?\)/);
  });
});

describe('nodes', () => {
  it('--nodes and --node name them, --node adding up', () => {
    expect(plan('--bin ./n --nodes a1,a2').nodes).toEqual(['a1', 'a2']);
    expect(plan('--bin ./n --node x --node y').nodes).toEqual(['x', 'y']);
    expect(plan('--bin ./n --node-count 2 -n x').nodes).toEqual(['n0', 'n1', 'x']);
  });

  it('--node-count replaces --nodes, as in Maelstrom, with a warning', () => {
    const parsed = parse('--bin ./n --nodes a,b --node-count 3');
    expect(parsed.plan.nodes).toEqual(['n0', 'n1', 'n2']);
    expect(parsed.warnings).toEqual(['--nodes a,b is replaced by --node-count 3 (nodes n0…n2), as in Maelstrom']);
  });

  it('a count given where names go is refused, pointing to --node-count', () => {
    expect(refusal('--bin ./n --nodes 5')).toBe('--nodes takes node names, as in --nodes n1,n2,n3; for 5 nodes write --node-count 5');
    expect(refusal('--bin ./n -n 3')).toBe('-n/--node names one node; for 3 nodes write --node-count 3');
  });

  it('refuses names Maelstrom reads as clients or services, duplicates, and too many nodes', () => {
    expect(refusal('--bin ./n --nodes n1,c1')).toMatch(/^bad node name "c1": ids starting with c are clients'/);
    expect(refusal('--bin ./n --node seq-kv')).toMatch(/^bad node name "seq-kv": that is a service's name$/);
    expect(refusal('--bin ./n --nodes n1,n1')).toBe('node n1 is listed twice');
    expect(refusal('--bin ./n --node-count 26')).toBe('--node-count must be between 1 and 25 nodes, got 26');
    expect(refusal('--bin ./n --node-count 0')).toMatch(/^--node-count must be between 1/);
  });
});

describe("Jepsen's flags that mean nothing here", () => {
  it('SSH and database flags are accepted with a warning', () => {
    const parsed = parse('--bin ./n --username admin --no-ssh');
    expect(parsed.warnings).toEqual(['--username is ignored: dslab runs every node on this machine', '--no-ssh is ignored: dslab runs every node on this machine']);
  });

  it('--nodes-file is refused with what to use instead', () => {
    expect(refusal('--bin ./n --nodes-file hosts')).toBe('--nodes-file is not supported by dslab test: name the nodes with --nodes n1,n2,n3 or give --node-count');
  });

  it('the log switches are on/off and take no value', () => {
    const p = plan('--bin ./n --log-stderr --log-net-send');
    expect([p.log_stderr, p.log_net_send, p.log_net_recv]).toEqual([true, true, false]);
    expect(refusal('--bin ./n --log-stderr=true')).toBe('--log-stderr takes no value, got "--log-stderr=true"');
  });
});

describe('clumped short flags', () => {
  it('a switch then a flag taking the next token', () => {
    expect(parseTestArgs(['--bin', './n', '-hw', 'echo'])).toEqual({ kind: 'help' });
    // -n takes the rest of the clump as its value, as in tools.cli.
    expect(plan('--bin ./n -nx1').nodes).toEqual(['x1']);
  });
});
