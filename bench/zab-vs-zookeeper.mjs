// dslab zab (3 servers) against Apache ZooKeeper 3.8 (3 servers) on this
// machine, in the same run, at the same tick (100 ms), initLimit/syncLimit (10/5
// ticks) and session timeout, fsync on in both: writes/s (set_data, create),
// reads/s (get_data), failover (leader SIGKILLed -> first successful write)
// and election time from start (processes spawned -> first successful write).
// Installs Debian's `zookeeper` package if it is missing (needs root and apt).
//
// By default both sides are driven by the same client, node-zookeeper-client:
// ZooKeeper's on its client ports, dslab's on the ZooKeeper client ports of its
// Zab servers (the wire protocol, src/lib/zk-wire/). With --driver client or
// raw, dslab is driven through the control API's `send` (the same path `dslab send`
// and the supervisor's clients use: an HTTP request to the supervisor, which
// routes the body to the server as a client message). Which requests it sends
// is `dslabOps` below: dslab's own ZkClient (src/lib/zk/client.ts) over a
// transport on that path; with --driver raw the protocol's bodies (connect,
// set_data, create, get_data) sent directly; on a build whose servers predate
// the protocol, the zab_write/zab_read debugging pair. ZooKeeper is driven
// through node-zookeeper-client.
//
//   node bench/zab-vs-zookeeper.mjs [--only dslab|zookeeper] [--driver wire|client|raw] [--phase-ms 10000] [--clients 16] [--failovers 5] [--cpu-prof DIR] [--strace]
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { cleanup, cpuSeconds, dslab, median, onPath, onStop, scratch } from './lib.mjs';

export const tick_ms = 100;
export const init_limit_ticks = 10;
export const sync_limit_ticks = 5;
/** Both clients ask for this; ZooKeeper grants 2..20 ticks, so with a 100 ms tick 2000 ms is its longest. */
export const session_timeout_ms = 2000;
/** A failover attempt that gets no answer within this is abandoned (others were sent meanwhile). */
const attempt_timeout_ms = 2000;
/** During a failover a client sends a new attempt this often until one succeeds (dslab's own clients retry every 50 ms). */
const retry_interval_ms = 50;
const failover_deadline_ms = 30_000;
const keys = 100;
const zk_client_port_base = 22181;
const zk_quorum_port_base = 22888;
const zk_election_port_base = 23888;
const zk_heap = '-Xmx512m';

/** The run's settings (the command line's when run directly); compareWithZooKeeper sets them. */
export const settings_default = { phase_ms: 10_000, clients: 16, failover_runs: 5, only: null, cpu_prof_dir: null, use_strace: false, driver_choice: 'wire' };
/** Quick mode (bench/run-all.js --quick): every phase and one failover, too briefly to mean anything. */
export const settings_quick = { phase_ms: 200, clients: 4, failover_runs: 1 };
/** `driver_choice` 'raw' sends the protocol's bodies directly instead of through dslab's ZkClient. */
let phase_ms, clients, failover_runs, only, cpu_prof_dir, use_strace, driver_choice;
function configure(options) {
  ({ phase_ms, clients, failover_runs, only, cpu_prof_dir, use_strace, driver_choice } = { ...settings_default, ...options });
}
configure({});
/** dslab's own ZooKeeper client, in the build. */
const zk_client_module = new URL('../dist/lib/zk/client.js', import.meta.url);
/** Debian's zookeeper package puts the server here; with java, it is all benchZooKeeper needs. */
export const zookeeper_jar = '/usr/share/java/zookeeper.jar';

/** Why Apache ZooKeeper cannot run here (so its side is skipped), or null when it can. */
export function zookeeperMissing() {
  if (!existsSync(zookeeper_jar)) return `ZooKeeper is not installed (${zookeeper_jar}; Debian package zookeeper)`;
  if (!onPath('java')) return 'java is not installed';
  return null;
}

const progress = (text) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${text}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const percentile = (sorted, q) => (sorted.length ? Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] * 10) / 10 : null);

/**
 * Sequential creates go under one parent per client (/create<c>/n-…): dslab
 * caps a znode's children (znode_children_max, 10,000), and one parent per
 * client keeps both systems' creates the same shape.
 *
 * Closed loop: `clients` clients issue one operation after another for
 * phase_ms; client c talks to server c % 3. `op(c, n)` performs one.
 */
async function closedLoop(op) {
  const latencies = [];
  let ok = 0;
  let failed = 0;
  let firstError = null;
  let n = 0;
  const start = performance.now();
  const deadline = start + phase_ms;
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        try {
          await op(c, n++);
          latencies.push(performance.now() - t0);
          ok++;
        } catch (error) {
          failed++;
          firstError ??= String(error?.message ?? error);
        }
      }
    }),
  );
  const elapsed_s = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return { ok, failed, first_error: firstError, per_s: Math.round(ok / elapsed_s), p50_ms: percentile(latencies, 0.5), p99_ms: percentile(latencies, 0.99) };
}

/**
 * Failover: the caller killed the leader at t0; every retry_interval_ms each
 * live server gets a write attempt until one succeeds. Returns ms from t0.
 */
async function firstWriteAfter(t0, servers, attempt) {
  return new Promise((resolve, reject) => {
    let done = false;
    let round = 0;
    const fire = () => {
      if (done) return;
      if (performance.now() - t0 > failover_deadline_ms) {
        done = true;
        reject(new Error(`no write succeeded within ${failover_deadline_ms} ms`));
        return;
      }
      for (const server of servers) {
        attempt(server, round).then(
          () => {
            if (done) return;
            done = true;
            resolve(performance.now() - t0);
          },
          () => {},
        );
      }
      round++;
      setTimeout(fire, retry_interval_ms);
    };
    fire();
  });
}

/** CPU seconds of each pid over `run()`. */
async function cpuOver(pids, run) {
  const before = pids.map((p) => safeCpu(p));
  const ownBefore = process.cpuUsage();
  const started = performance.now();
  const result = await run();
  const wall_s = (performance.now() - started) / 1000;
  const cores = pids.map((p, i) => Math.round(((safeCpu(p) - before[i]) / wall_s) * 100) / 100);
  const own = process.cpuUsage(ownBefore);
  // The benchmark's own process runs every client (dslab's HTTP requests, ZooKeeper's client library).
  const clients_cores = Math.round(((own.user + own.system) / 1e6 / wall_s) * 100) / 100;
  return { result, cores, clients_cores };
}
function safeCpu(pid) {
  try {
    return cpuSeconds(pid);
  } catch {
    return 0;
  }
}

// ---- dslab -------------------------------------------------------------------------------------

/**
 * How the benchmark talks to dslab's servers. `zk`: the coordinator's client
 * protocol (docs/zab.md), one session per benchmark client.
 * `debug`: the zab_write/zab_read pair of the first Zab host (one register, so
 * set_data and create are the same write).
 */
async function dslabOps(rpc, servers, wire_ports) {
  if (driver_choice === 'wire') {
    if (!wire_ports) throw new Error('this build of dslab has no ZooKeeper client ports: pass --driver client or raw');
    return wireOps(servers, wire_ports);
  }
  const probe = await rpc(servers[0], { type: 'connect', timeout_ms: session_timeout_ms }, 5000).catch(() => null);
  const speaksZk = probe && probe.type === 'connect_ok';
  if (speaksZk && driver_choice !== 'raw') {
    // Not found is an error, not a reason to fall back: the figures would be another driver's without saying so.
    if (!existsSync(zk_client_module)) throw new Error(`dslab's ZkClient is not at ${zk_client_module.pathname} (build first, or pass --driver raw)`);
    return clientOps(rpc, servers, await import(zk_client_module.href));
  }
  if (speaksZk) {
    const sessions = [];
    const sessionOf = async (c) => {
      if (!sessions[c]) {
        const reply = await rpc(servers[c % servers.length], { type: 'connect', timeout_ms: session_timeout_ms }, 5000);
        if (reply.type !== 'connect_ok') throw new Error(`connect: ${JSON.stringify(reply)}`);
        sessions[c] = reply.session;
      }
      return sessions[c];
    };
    const call = async (c, body) => {
      const reply = await rpc(servers[c % servers.length], { ...body, session: await sessionOf(c) }, 5000);
      if (reply.type === 'error') throw new Error(`${body.type}: ${reply.zk_error ?? reply.code} ${reply.text ?? ''}`);
      return reply;
    };
    return {
      kind: 'raw protocol',
      setup: async () => {
        await call(0, { type: 'create', path: '/bench', data: '' }).catch(() => {});
        for (let k = 0; k < keys; k++) await call(0, { type: 'create', path: `/bench/k${k}`, data: '' }).catch(() => {});
        for (let c = 0; c < clients; c++) await call(0, { type: 'create', path: `/create${c}`, data: '' }).catch(() => {});
      },
      setData: (c, n) => call(c, { type: 'set_data', path: `/bench/k${n % keys}`, data: `v${n}` }),
      create: (c, n) => call(c, { type: 'create', path: `/create${c}/n-`, data: `v${n}`, sequential: true }),
      getData: (c, n) => call(c, { type: 'get_data', path: `/bench/k${n % keys}` }),
      /** A session on each of `survivors` opened before the kill, as a running client has; returns one write attempt. */
      prepareFailover: async (survivors) => {
        const sessions = new Map();
        for (const server of survivors) {
          const reply = await rpc(server, { type: 'connect', timeout_ms: session_timeout_ms }, 5000);
          if (reply.type !== 'connect_ok') throw new Error(`connect: ${JSON.stringify(reply)}`);
          sessions.set(server, reply.session);
        }
        return async (server, tag) => {
          const w = await rpc(server, { type: 'set_data', session: sessions.get(server), path: '/bench/k0', data: `f${tag}` }, attempt_timeout_ms);
          if (w.type !== 'error') return;
          // An election longer than the session timeout (a loaded machine) expires the session: a client opens a
          // new one, as a ZooKeeper application does, rather than retry a dead session until the deadline.
          if (w.zk_error === 'SessionExpired') {
            const fresh = await rpc(server, { type: 'connect', timeout_ms: session_timeout_ms }, attempt_timeout_ms);
            if (fresh.type === 'connect_ok') sessions.set(server, fresh.session);
          }
          throw new Error(String(w.text));
        };
      },
      /** From start: a fresh session and a write (both go through the leader). */
      firstWrite: async (server, tag) => {
        const reply = await rpc(server, { type: 'connect', timeout_ms: session_timeout_ms }, attempt_timeout_ms);
        if (reply.type !== 'connect_ok') throw new Error('connect refused');
        const w = await rpc(server, { type: 'create', session: reply.session, path: `/start-${tag}`, data: '' }, attempt_timeout_ms);
        if (w.type === 'error') throw new Error(String(w.text));
      },
    };
  }
  const debugWrite = async (server, tag) => {
    const reply = await rpc(server, { type: 'zab_write', value: `f${tag}` }, attempt_timeout_ms);
    if (reply.type === 'error') throw new Error(String(reply.text));
  };
  const write = async (c, n) => {
    const reply = await rpc(servers[c % servers.length], { type: 'zab_write', value: n }, 5000);
    if (reply.type === 'error') throw new Error(`zab_write: ${reply.code} ${reply.text ?? ''}`);
  };
  return {
    kind: 'debug',
    setup: async () => {},
    setData: write,
    create: write,
    getData: async (c) => {
      const reply = await rpc(servers[c % servers.length], { type: 'zab_read' }, 5000);
      if (reply.type === 'error') throw new Error(`zab_read: ${reply.code}`);
    },
    prepareFailover: async () => debugWrite,
    firstWrite: debugWrite,
  };
}

/**
 * dslab's own client (src/lib/zk/client.ts), one ZkClient per benchmark
 * client, over a transport that sends through the control API. Its pings,
 * reply timeouts and reconnects run as they would for any user.
 */
async function clientOps(rpc, servers, { ZkClient }) {
  const transport = {
    rpc: (server, body, timeout_ms) => rpc(server, body, Math.max(1, Math.ceil(timeout_ms))),
    // Nothing here sets watches, so no unasked message matters.
    onUnasked: () => () => {},
    now: () => Date.now(),
    after: (ms, run) => {
      const t = setTimeout(run, ms);
      return () => clearTimeout(t);
    },
  };
  const open = (first) => ZkClient.connect(transport, servers, { timeout_ms: session_timeout_ms, first });
  const sessions = [];
  const sessionOf = async (c) => (sessions[c] ??= open(servers[c % servers.length]));
  const extra = [];
  return {
    kind: 'ZkClient',
    setup: async () => {
      const z = await sessionOf(0);
      await z.create('/bench').catch(() => {});
      for (let k = 0; k < keys; k++) await z.create(`/bench/k${k}`).catch(() => {});
      for (let c = 0; c < clients; c++) await z.create(`/create${c}`).catch(() => {});
      await Promise.all(Array.from({ length: clients }, (_, c) => sessionOf(c)));
    },
    setData: async (c, n) => (await sessionOf(c)).setData(`/bench/k${n % keys}`, `v${n}`),
    create: async (c, n) => (await sessionOf(c)).create(`/create${c}/n-`, `v${n}`, { sequential: true }),
    getData: async (c, n) => (await sessionOf(c)).getData(`/bench/k${n % keys}`),
    prepareFailover: async (survivors) => {
      const bySurvivor = new Map();
      for (const server of survivors) {
        const z = await open(server);
        extra.push(z);
        bySurvivor.set(server, z);
      }
      return (server, tag) => bySurvivor.get(server).setData('/bench/k0', `f${tag}`);
    },
    firstWrite: async (server, tag) => {
      const z = await ZkClient.connect(transport, [server], { timeout_ms: session_timeout_ms, connect_deadline_ms: attempt_timeout_ms });
      extra.push(z);
      await z.create(`/start-${tag}`);
    },
    close: async () => {
      for (const z of [...(await Promise.all(sessions.filter(Boolean))), ...extra]) await z.close().catch(() => {});
    },
  };
}

/**
 * The same client as ZooKeeper's side, node-zookeeper-client, on dslab's ZooKeeper client ports
 * (ZooKeeper's wire protocol): one session per benchmark client, client c on server c % 3.
 */
async function wireOps(servers, wire_ports) {
  const zookeeper = (await import('node-zookeeper-client')).default;
  const portOf = (server) => wire_ports.find((p) => p.server === server).port;
  const within = (promise, ms) => Promise.race([promise, sleep(ms).then(() => Promise.reject(new Error('timeout')))]);
  const sessions = [];
  const extra = [];
  const sessionOf = (c) => (sessions[c] ??= zkClient(zookeeper, [portOf(servers[c % servers.length])]));
  return {
    kind: 'node-zookeeper-client (wire)',
    setup: async () => {
      const z = await sessionOf(0);
      await zkCall((cb) => z.create('/bench', Buffer.from(''), cb)).catch(() => {});
      for (let k = 0; k < keys; k++) await zkCall((cb) => z.create(`/bench/k${k}`, Buffer.from(''), cb)).catch(() => {});
      for (let c = 0; c < clients; c++) await zkCall((cb) => z.create(`/create${c}`, Buffer.from(''), cb)).catch(() => {});
      await Promise.all(Array.from({ length: clients }, (_, c) => sessionOf(c)));
    },
    setData: async (c, n) => {
      const z = await sessionOf(c);
      return zkCall((cb) => z.setData(`/bench/k${n % keys}`, Buffer.from(`v${n}`), -1, cb));
    },
    create: async (c, n) => {
      const z = await sessionOf(c);
      return zkCall((cb) => z.create(`/create${c}/n-`, Buffer.from(`v${n}`), zookeeper.CreateMode.PERSISTENT_SEQUENTIAL, cb));
    },
    getData: async (c, n) => {
      const z = await sessionOf(c);
      return zkCall((cb) => z.getData(`/bench/k${n % keys}`, null, cb));
    },
    prepareFailover: async (survivors) => {
      const bySurvivor = new Map();
      for (const server of survivors) {
        const z = await zkClient(zookeeper, [portOf(server)]);
        extra.push(z);
        bySurvivor.set(server, z);
      }
      return (server, tag) => within(zkCall((cb) => bySurvivor.get(server).setData('/bench/k0', Buffer.from(`f${tag}`), -1, cb)), attempt_timeout_ms);
    },
    firstWrite: async (server, tag) => {
      const connecting = zkClient(zookeeper, [portOf(server)]);
      connecting.then((z) => extra.push(z), () => {});
      const z = await within(connecting, attempt_timeout_ms);
      await within(zkCall((cb) => z.create(`/start-${tag}`, Buffer.from(''), cb)), attempt_timeout_ms);
    },
    close: async () => {
      for (const z of [...(await Promise.all(sessions.filter(Boolean))), ...extra]) z.close();
    },
  };
}

async function benchDslab() {
  const cwd = scratch();
  const { ControlClient } = await import('../dist/lib/control/client.js');
  const { readClusterInfo } = await import('../dist/lib/cluster/paths.js');
  // Node refuses --cpu-prof in NODE_OPTIONS, so a preload profiles the zab servers and the supervisor (not the CLI).
  const env = cpu_prof_dir
    ? { NODE_OPTIONS: `--require ${new URL('./cpu-prof-preload.cjs', import.meta.url).pathname}`, DSLAB_PROFILE_MATCH: 'systems/zab/main,supervisor-main', DSLAB_PROFILE_DIR: path.resolve(cpu_prof_dir) }
    : {};
  let ops = null;
  try {
    const t0 = performance.now();
    execFileSync(
      process.execPath,
      [new URL('../bin/run.js', import.meta.url).pathname, 'up', 'zab', '--nodes', '3', '--detach', '--zk-port', '0', '--tick', `${tick_ms}ms`, '--init-limit', String(init_limit_ticks), '--sync-limit', String(sync_limit_ticks)],
      { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', ...env } },
    );
    const upMs = performance.now() - t0;
    progress(`dslab: up returned after ${Math.round(upMs)} ms`);
    const client = new ControlClient(readClusterInfo(path.join(cwd, '.dslab', 'zab', 'cluster.json')));
    const rpc = async (dest, body, timeout_ms) => (await client.act({ type: 'send', dest, body, timeout_ms })).reply;
    const servers = ['n1', 'n2', 'n3'];
    const leaderAt = await waitForDslabLeader(client);
    const leader_ms = leaderAt - t0;
    ops = await dslabOps(rpc, servers, (await client.status()).zk?.ports ?? null);
    const firstWrite = await firstWriteAfter(t0, servers, ops.firstWrite);
    const election = { up_returned_ms: Math.round(upMs), leader_reported_ms: Math.round(leader_ms), first_write_ms: Math.round(firstWrite) };
    await ops.setup();
    const status = await client.status();
    progress(`dslab (${ops.kind} driver): set_data, create, get_data`);
    const pids = [status.supervisor_pid, ...status.nodes.map((n) => n.pid)];
    const leaderBefore = status.leader;
    let strace = null;
    if (use_strace) strace = startStrace(status.nodes.map((n) => n.pid));
    // A phase that saw a new epoch had an election in it (a leader lost its quorum under the load): say so beside its figures.
    const epoch = async () => Math.max(...(await client.status()).nodes.map((n) => Number(n.state?.current_epoch ?? 0)));
    const phase = async (op) => {
      const before = await epoch();
      const measured = await cpuOver(pids, () => closedLoop(op));
      return { ...measured, result: { ...measured.result, new_epochs: (await epoch()) - before } };
    };
    const setData = await phase(ops.setData);
    if (strace) strace = await stopStrace(strace, setData.result.ok);
    const create = await phase(ops.create);
    const getData = await phase(ops.getData);
    const failovers = [];
    for (let i = 0; i < failover_runs; i++) {
      const leader = (await client.status()).leader;
      const survivors = servers.filter((s) => s !== leader);
      const attempt = await ops.prepareFailover(survivors);
      const killed = await client.act({ type: 'kill', node: leader });
      progress(`dslab: failover ${i + 1}, killed ${killed.node}`);
      const t = performance.now();
      failovers.push(Math.round(await firstWriteAfter(t, survivors, (s, r) => attempt(s, `${i}.${r}`))));
      await client.act({ type: 'restart', node: killed.node });
      // The next run needs a leader; after the last, the ensemble only goes down.
      if (i === failover_runs - 1) break;
      await sleep(500);
      await waitForDslabLeader(client);
    }
    return {
      driver: ops.kind,
      leader_at_start: leaderBefore,
      election,
      set_data: { ...setData.result, cpu_cores: labelCpu(setData) },
      create: { ...create.result, cpu_cores: labelCpu(create) },
      get_data: { ...getData.result, cpu_cores: labelCpu(getData) },
      failover_ms: failovers,
      fsync: strace,
    };
  } finally {
    // ZkClients ping until closed; close them while the ensemble still runs.
    await ops?.close?.();
    cleanup(cwd);
  }
}

const labelCpu = (m) => ({ clients: m.clients_cores, supervisor: m.cores[0], n1: m.cores[1], n2: m.cores[2], n3: m.cores[3] });

async function waitForDslabLeader(client) {
  for (let i = 0; i < 600; i++) {
    const s = await client.status();
    if (s.leader && s.nodes.find((n) => n.id === s.leader)?.state?.established) return performance.now();
    await sleep(20);
  }
  throw new Error('no established dslab leader within 12 s');
}

/** strace counts fsync/fdatasync syscalls of the servers during the set_data phase. */
function startStrace(pids) {
  const out = path.join(tmpdir(), `dslab-zbench-strace-${process.pid}`);
  const child = spawn('strace', ['-f', '-c', '-e', 'trace=fsync,fdatasync,write,writev', '-o', out, ...pids.flatMap((p) => ['-p', String(p)])], { stdio: 'ignore' });
  return { child, out };
}
async function stopStrace({ child, out }, writes) {
  child.kill('SIGINT');
  await new Promise((r) => child.once('exit', r));
  const { readFileSync } = await import('node:fs');
  const text = readFileSync(out, 'utf8');
  rmSync(out, { force: true });
  const count = (name) => Number(text.split('\n').find((l) => l.trim().endsWith(` ${name}`))?.trim().split(/\s+/)[3] ?? 0);
  const fsyncs = count('fsync') + count('fdatasync');
  return { fsyncs_all_servers: fsyncs, writes_acknowledged: writes, fsyncs_per_write_all_servers: Math.round((fsyncs / Math.max(1, writes)) * 100) / 100, note: 'counted under strace, which slows the servers' };
}

// ---- ZooKeeper ---------------------------------------------------------------------------------

function ensureZooKeeper() {
  if (existsSync(zookeeper_jar)) return;
  console.error('installing zookeeper from Debian...');
  execFileSync('apt-get', ['install', '-y', '-qq', 'zookeeper'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

function zkConfig(dir, i) {
  const lines = [
    `tickTime=${tick_ms}`,
    `initLimit=${init_limit_ticks}`,
    `syncLimit=${sync_limit_ticks}`,
    `dataDir=${path.join(dir, `zk${i + 1}`)}`,
    `clientPort=${zk_client_port_base + i}`,
    'clientPortAddress=127.0.0.1',
    'forceSync=yes',
    'admin.enableServer=false',
    '4lw.commands.whitelist=srvr',
    'maxClientCnxns=0',
    ...[0, 1, 2].map((j) => `server.${j + 1}=127.0.0.1:${zk_quorum_port_base + j}:${zk_election_port_base + j}`),
  ];
  return lines.join('\n') + '\n';
}

/** Every ZooKeeper process this benchmark started, so an interrupted run still stops them. */
const zk_children = new Set();
onStop(() => {
  for (const child of zk_children) child.kill('SIGKILL');
});

const exited = (child) => (child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', r)));

function startZkServer(dir, i) {
  const data = path.join(dir, `zk${i + 1}`);
  mkdirSync(data, { recursive: true });
  writeFileSync(path.join(data, 'myid'), `${i + 1}\n`);
  const cfg = path.join(dir, `zoo${i + 1}.cfg`);
  writeFileSync(cfg, zkConfig(dir, i));
  const child = spawn('java', [zk_heap, '-Xms64m', '-XX:+UseSerialGC', `-Dzookeeper.log.dir=${dir}`, '-cp', zookeeper_jar, 'org.apache.zookeeper.server.quorum.QuorumPeerMain', cfg], {
    stdio: 'ignore',
  });
  zk_children.add(child);
  child.once('exit', () => zk_children.delete(child));
  return { index: i, port: zk_client_port_base + i, child, alive: true };
}

/** The "Mode:" line of a server's srvr four-letter word, or null when it does not answer. */
function zkMode(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let text = '';
    socket.setTimeout(500, () => socket.destroy());
    socket.on('data', (c) => (text += c));
    socket.on('error', () => resolve(null));
    socket.on('close', () => resolve(/Mode: (\w+)/.exec(text)?.[1] ?? null));
    socket.on('connect', () => socket.write('srvr'));
  });
}

async function zkLeader(servers) {
  for (let i = 0; i < 1500; i++) {
    for (const s of servers.filter((x) => x.alive)) if ((await zkMode(s.port)) === 'leader') return s;
    await sleep(20);
  }
  throw new Error('no ZooKeeper leader within 30 s');
}

async function zkClient(zookeeper, ports) {
  const client = zookeeper.createClient(ports.map((p) => `127.0.0.1:${p}`).join(','), { sessionTimeout: session_timeout_ms, spinDelay: retry_interval_ms, retries: 0 });
  await new Promise((resolve) => {
    client.once('connected', resolve);
    client.connect();
  });
  return client;
}

const zkCall = (fn) => new Promise((resolve, reject) => fn((error, value) => (error ? reject(error) : resolve(value))));

async function benchZooKeeper() {
  ensureZooKeeper();
  const zookeeper = (await import('node-zookeeper-client')).default;
  const dir = mkdtempSync(path.join(tmpdir(), 'dslab-zk-'));
  const t0 = performance.now();
  const servers = [0, 1, 2].map((i) => startZkServer(dir, i));
  const open = [];
  try {
    const leaderAtStart = await zkLeader(servers);
    progress(`zookeeper: zk${leaderAtStart.index + 1} leads`);
    const leader_ms = performance.now() - t0;
    // The first write from start: a client on every server, the first to write wins.
    const starters = await Promise.all(servers.map((s) => zkClient(zookeeper, [s.port])));
    open.push(...starters);
    await zkCall((cb) => starters[0].create('/bench', Buffer.from(''), cb)).catch(() => {});
    const first_write_ms = performance.now() - t0;
    const election = { leader_reported_ms: Math.round(leader_ms), first_write_ms: Math.round(first_write_ms) };
    progress(`zookeeper: first write ${Math.round(first_write_ms)} ms from start`);
    for (let k = 0; k < keys; k++) await zkCall((cb) => starters[0].create(`/bench/k${k}`, Buffer.from(''), cb)).catch(() => {});
    for (let c = 0; c < clients; c++) await zkCall((cb) => starters[0].create(`/create${c}`, Buffer.from(''), cb)).catch(() => {});
    // One session per benchmark client, client c on server c % 3.
    const sessions = await Promise.all(Array.from({ length: clients }, (_, c) => zkClient(zookeeper, [servers[c % 3].port])));
    open.push(...sessions);
    const pids = servers.map((s) => s.child.pid);
    progress('zookeeper: set_data, create, get_data');
    const setData = await cpuOver(pids, () => closedLoop((c, n) => zkCall((cb) => sessions[c].setData(`/bench/k${n % keys}`, Buffer.from(`v${n}`), -1, cb))));
    const create = await cpuOver(pids, () =>
      closedLoop((c, n) => zkCall((cb) => sessions[c].create(`/create${c}/n-`, Buffer.from(`v${n}`), zookeeper.CreateMode.PERSISTENT_SEQUENTIAL, cb))),
    );
    const getData = await cpuOver(pids, () => closedLoop((c, n) => zkCall((cb) => sessions[c].getData(`/bench/k${n % keys}`, null, cb))));
    for (const s of sessions) s.close();
    // The starters are done; one of them is bound to the server about to die.
    for (const s of starters) s.close();
    const failovers = [];
    for (let i = 0; i < failover_runs; i++) {
      const leader = await zkLeader(servers);
      const survivors = servers.filter((s) => s !== leader);
      // A connected session on each survivor before the kill, as a running client has.
      const writers = await Promise.all(survivors.map((s) => zkClient(zookeeper, [s.port])));
      open.push(...writers);
      leader.child.kill('SIGKILL');
      leader.alive = false;
      const t = performance.now();
      progress(`zookeeper: failover ${i + 1}, killed zk${leader.index + 1}`);
      failovers.push(
        Math.round(
          await firstWriteAfter(t, writers, (w, r) =>
            Promise.race([zkCall((cb) => w.setData('/bench/k0', Buffer.from(`f${i}.${r}`), -1, cb)), sleep(attempt_timeout_ms).then(() => Promise.reject(new Error('timeout')))]),
          ),
        ),
      );
      for (const w of writers) w.close();
      await exited(leader.child);
      servers[leader.index] = startZkServer(dir, leader.index);
      // The next run needs a full ensemble; after the last, it only goes down.
      if (i === failover_runs - 1) break;
      await sleep(500);
      await zkLeader(servers);
      // Wait until the restarted server serves again (it follows), so the next kill finds a full ensemble.
      for (let w = 0; w < 500 && (await zkMode(servers[leader.index].port)) !== 'follower'; w++) await sleep(20);
    }
    return {
      leader_at_start: `zk${leaderAtStart.index + 1}`,
      election,
      set_data: { ...setData.result, cpu_cores: { clients: setData.clients_cores, zk1: setData.cores[0], zk2: setData.cores[1], zk3: setData.cores[2] } },
      create: { ...create.result, cpu_cores: { clients: create.clients_cores, zk1: create.cores[0], zk2: create.cores[1], zk3: create.cores[2] } },
      get_data: { ...getData.result, cpu_cores: { clients: getData.clients_cores, zk1: getData.cores[0], zk2: getData.cores[1], zk3: getData.cores[2] } },
      failover_ms: failovers,
    };
  } finally {
    for (const c of open) {
      try {
        c.close();
      } catch {
        // already closed
      }
    }
    for (const s of servers) s.child.kill('SIGKILL');
    await Promise.all(servers.map((s) => exited(s.child)));
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- both --------------------------------------------------------------------------------------

/**
 * node-zookeeper-client throws from its socket handler on some replies it
 * misreads while a server dies or comes back ("Unknown code: <garbage>", its
 * open issues #23 and #70). Thrown there, only the process can catch it. While
 * the benchmark runs, such a throw is counted against the side it happened on
 * and the client's attempt left to time out, as a failover attempt does; any
 * other uncaught error still ends the run.
 */
function guardClientLibrary(counts) {
  const handler = (error) => {
    const stack = String(error?.stack ?? error);
    if (stack.includes('node-zookeeper-client')) {
      counts[counts.side] = (counts[counts.side] ?? 0) + 1;
      progress(`${counts.side}: node-zookeeper-client threw from its socket handler (${error?.message ?? error}); counted, run goes on`);
      return;
    }
    process.stderr.write(`${stack}\n`);
    process.exit(1);
  };
  process.on('uncaughtException', handler);
  return () => process.removeListener('uncaughtException', handler);
}

export async function compareWithZooKeeper(options = {}) {
  configure(options);
  const machine = `${cpus().length} cores, Node ${process.version}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} at start`;
  const out = { machine, settings: { tick_ms, init_limit_ticks, sync_limit_ticks, session_timeout_ms, clients, phase_ms, failover_runs } };
  const library_errors = { side: 'dslab' };
  const unguard = guardClientLibrary(library_errors);
  try {
    if (only !== 'zookeeper') out.dslab = await benchDslab();
    library_errors.side = 'zookeeper';
    if (only !== 'dslab') out.zookeeper = await benchZooKeeper();
  } finally {
    unguard();
  }
  const { side: _side, ...thrown } = library_errors;
  if (Object.keys(thrown).length) out.client_library_errors = thrown;
  out.load_average_at_end = loadavg().map((l) => l.toFixed(2)).join(' ');
  if (out.dslab && out.zookeeper) {
    const ratio = (a, b) => Math.round((a / b) * 100) / 100;
    out.ratio_dslab_over_zookeeper = {
      set_data_per_s: ratio(out.dslab.set_data.per_s, out.zookeeper.set_data.per_s),
      create_per_s: ratio(out.dslab.create.per_s, out.zookeeper.create.per_s),
      get_data_per_s: ratio(out.dslab.get_data.per_s, out.zookeeper.get_data.per_s),
      failover_median: ratio(median(out.dslab.failover_ms), median(out.zookeeper.failover_ms)),
      election_first_write: ratio(out.dslab.election.first_write_ms, out.zookeeper.election.first_write_ms),
    };
  }
  if (cpu_prof_dir) out.cpu_profiles = readdirSync(cpu_prof_dir).filter((f) => f.endsWith('.cpuprofile'));
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const flag = (name, fallback) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : fallback;
  };
  const options = {
    phase_ms: Number(flag('--phase-ms', String(settings_default.phase_ms))),
    clients: Number(flag('--clients', String(settings_default.clients))),
    failover_runs: Number(flag('--failovers', String(settings_default.failover_runs))),
    only: flag('--only', null),
    cpu_prof_dir: flag('--cpu-prof', null),
    use_strace: args.includes('--strace'),
    driver_choice: flag('--driver', settings_default.driver_choice),
  };
  console.log(JSON.stringify(await compareWithZooKeeper(options), null, 2));
  process.exit(0);
}
