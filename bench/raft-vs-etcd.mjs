// dslab raft (3 nodes) against etcd 3.4 (3 members) on this machine, in the
// same run, with the same election timeout, heartbeat and fsync behaviour:
// write throughput, linearizable read throughput, latency percentiles, and
// failover time (leader SIGKILLed -> first successful write).
// Installs Debian's etcd-server if it is missing (needs root and apt).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cleanup, dslab, scratch, status } from './lib.mjs';

export const election_timeout_ms = 1000;
export const heartbeat_ms = 100;
export const clients = 16;
/**
 * phase_ms: each load phase (writes, then reads); failover_runs: leaders killed, one after another;
 * timing: both sides' election timeout and heartbeat.
 */
export const sizes_default = { phase_ms: 10_000, failover_runs: 10, timing: { election_timeout_ms, heartbeat_ms } };
/**
 * Quick mode (bench/run-all.js --quick): every phase and one failover on each side, too briefly to mean anything;
 * shorter timeouts, so the elections it waits for (start, failover) take less time.
 */
export const sizes_quick = { phase_ms: 200, failover_runs: 1, timing: { election_timeout_ms: 300, heartbeat_ms: 50 } };
/** The etcd binary Debian's etcd-server installs. */
export const etcd_path = '/usr/bin/etcd';
const etcd_client_port_base = 23790;
const etcd_peer_port_base = 23890;

function ensureEtcd() {
  if (existsSync(etcd_path)) return;
  console.error('installing etcd-server from Debian...');
  execFileSync('apt-get', ['install', '-y', '-qq', 'etcd-server'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const percentile = (sorted, q) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] * 10) / 10;

// ---- dslab -------------------------------------------------------------------------------------

async function benchDslab({ phase_ms, failover_runs, timing: { election_timeout_ms, heartbeat_ms } }) {
  const cwd = scratch();
  try {
    dslab(cwd, 'up', 'raft', '--nodes', '3', '--detach', '--election-timeout', `${election_timeout_ms}-${2 * election_timeout_ms}ms`, '--heartbeat', `${heartbeat_ms}ms`);
    await waitForLeader(cwd);
    const load = (mix) => JSON.parse(dslab(cwd, 'load', '--clients', String(clients), '--rate', '50000', '--duration', `${phase_ms}ms`, '--keys', '100', '--mix', mix, '--json'));
    const writes = load('write=1');
    const reads = load('read=1');
    const failovers = [];
    const { ControlClient } = await import('../dist/lib/control/client.js');
    const { readClusterInfo } = await import('../dist/lib/cluster/paths.js');
    const client = new ControlClient(readClusterInfo(path.join(cwd, '.dslab', 'raft', 'cluster.json')));
    for (let i = 0; i < failover_runs; i++) {
      const killed = await client.act({ type: 'kill', node: 'leader' });
      const t0 = performance.now();
      const put = await client.act({ type: 'workload', workload: 'lin-kv', op: 'kv', args: { op: { f: 'write', key: 'failover', value: i }, timeout_ms: 30_000 } });
      if (put.outcome !== 'ok') throw new Error(`dslab failover write failed: ${put.description}`);
      failovers.push(performance.now() - t0);
      await client.act({ type: 'restart', node: killed.node });
      // The next run needs a leader; after the last, the cluster only goes down.
      if (i < failover_runs - 1) await waitForLeader(cwd);
    }
    return { writes, reads, failover_ms: failovers.map(Math.round) };
  } finally {
    cleanup(cwd);
  }
}

async function waitForLeader(cwd) {
  for (let i = 0; i < 300; i++) {
    if (status(cwd).leader) return;
    await sleep(100);
  }
  throw new Error('no dslab leader within 30 s');
}

// ---- etcd --------------------------------------------------------------------------------------

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function etcdCall(port, route, body, timeout_ms = 5000) {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const req = http.request({ host: '127.0.0.1', port, path: route, method: 'POST', agent, timeout: timeout_ms, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(text)) : reject(new Error(`etcd ${route}: ${res.statusCode} ${text}`))));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(payload);
  });
}

const b64 = (s) => Buffer.from(String(s)).toString('base64');

const etcd_names = ['e1', 'e2', 'e3'];

function startEtcd(dir, timing) {
  return etcd_names.map((_, i) => startMember(dir, i, timing));
}

/** Starts member i; with an existing data directory etcd rejoins with what it has. */
function startMember(dir, i, { election_timeout_ms, heartbeat_ms }) {
  const name = etcd_names[i];
  const cluster = etcd_names.map((n, j) => `${n}=http://127.0.0.1:${etcd_peer_port_base + j}`).join(',');
  {
    const child = spawn(etcd_path, [
      '--name', name,
      '--data-dir', path.join(dir, name),
      '--listen-client-urls', `http://127.0.0.1:${etcd_client_port_base + i}`,
      '--advertise-client-urls', `http://127.0.0.1:${etcd_client_port_base + i}`,
      '--listen-peer-urls', `http://127.0.0.1:${etcd_peer_port_base + i}`,
      '--initial-advertise-peer-urls', `http://127.0.0.1:${etcd_peer_port_base + i}`,
      '--initial-cluster', cluster,
      '--initial-cluster-state', 'new',
      '--heartbeat-interval', String(heartbeat_ms),
      '--election-timeout', String(election_timeout_ms),
      '--log-level', 'error',
      '--logger', 'zap',
    ], { stdio: 'ignore' });
    return { name, port: etcd_client_port_base + i, child, alive: true };
  }
}

async function etcdLeader(members) {
  for (let attempt = 0; attempt < 300; attempt++) {
    for (const m of members.filter((x) => x.alive)) {
      try {
        const s = await etcdCall(m.port, '/v3/maintenance/status', {}, 1000);
        if (s.leader && s.leader === s.header.member_id) return m;
      } catch {
        // not up yet
      }
    }
    await sleep(100);
  }
  throw new Error('no etcd leader within 30 s');
}

/** Closed loop: `clients` concurrent clients issue operations back to back over all live members. */
async function etcdLoad(members, kind, phase_ms) {
  const latencies = [];
  let ok = 0;
  let failed = 0;
  const deadline = performance.now() + phase_ms;
  let n = 0;
  const live = members.filter((m) => m.alive);
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      while (performance.now() < deadline) {
        const member = live[(c + n++) % live.length];
        const key = b64(`k${n % 100}`);
        const t0 = performance.now();
        try {
          if (kind === 'write') await etcdCall(member.port, '/v3/kv/put', { key, value: b64(n) });
          else await etcdCall(member.port, '/v3/kv/range', { key });
          latencies.push(performance.now() - t0);
          ok++;
        } catch {
          failed++;
        }
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return { ok, failed, throughput_per_s: Math.round(ok / (phase_ms / 1000)), latency_ms: { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) } };
}

async function benchEtcd({ phase_ms, failover_runs, timing }) {
  ensureEtcd();
  const dir = mkdtempSync(path.join(tmpdir(), 'dslab-etcd-'));
  const members = startEtcd(dir, timing);
  try {
    await etcdLeader(members);
    const writes = await etcdLoad(members, 'write', phase_ms);
    const reads = await etcdLoad(members, 'read', phase_ms);
    const failovers = [];
    for (let i = 0; i < failover_runs; i++) {
      const leader = await etcdLeader(members);
      leader.child.kill('SIGKILL');
      leader.alive = false;
      const t0 = performance.now();
      let done = false;
      while (!done) {
        for (const m of members.filter((x) => x.alive)) {
          try {
            await etcdCall(m.port, '/v3/kv/put', { key: b64('failover'), value: b64(i) }, 500);
            done = true;
            break;
          } catch {
            // no leader yet
          }
        }
        if (performance.now() - t0 > 30_000) throw new Error('etcd failover took over 30 s');
      }
      failovers.push(performance.now() - t0);
      // Bring the member back with its data directory.
      const index = members.indexOf(leader);
      members[index] = startMember(dir, index, timing);
      if (i < failover_runs - 1) await etcdLeader(members);
    }
    return { writes, reads, failover_ms: failovers.map(Math.round) };
  } finally {
    for (const m of members) m.child.kill('SIGKILL');
    agent.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

const middle = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

export async function compareWithEtcd(sizes = sizes_default) {
  const d = await benchDslab(sizes);
  const e = await benchEtcd(sizes);
  const row = (r) => ({
    write_per_s: r.writes.throughput_per_s,
    write_p50_ms: r.writes.latency_ms.p50,
    write_p99_ms: r.writes.latency_ms.p99,
    read_per_s: r.reads.throughput_per_s,
    read_p50_ms: r.reads.latency_ms.p50,
    read_p99_ms: r.reads.latency_ms.p99,
    failover_ms_median: middle(r.failover_ms),
    failover_ms_runs: r.failover_ms,
  });
  const dslabRow = row(d);
  const etcdRow = row(e);
  return {
    dslab: dslabRow,
    etcd: etcdRow,
    ratio_dslab_over_etcd: {
      write_throughput: Math.round((dslabRow.write_per_s / etcdRow.write_per_s) * 100) / 100,
      read_throughput: Math.round((dslabRow.read_per_s / etcdRow.read_per_s) * 100) / 100,
      failover_time: Math.round((dslabRow.failover_ms_median / etcdRow.failover_ms_median) * 100) / 100,
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await compareWithEtcd(), null, 2));
}
