import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/** Debian's zookeeper package puts the server here. */
export const zookeeper_jar = '/usr/share/java/zookeeper.jar';
export const zkcli_path = '/usr/share/zookeeper/bin/zkCli.sh';
/** Debian's Python, which sees python3-kazoo (a python3 earlier on the PATH, such as pyenv's, may not). */
export const debian_python = '/usr/bin/python3';

/** Why Apache ZooKeeper cannot run here, or null when it can. */
export function apacheZooKeeperMissing(): string | null {
  if (!existsSync(zookeeper_jar)) return `Apache ZooKeeper is not installed (${zookeeper_jar}, Debian's zookeeper package)`;
  return null;
}

/** A free loopback port (closed again at once; good enough for a test). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Sends a four-letter word and returns the whole answer ('' when the port does not answer). */
export function fourLetterWord(port: number, word: string, timeout_ms = 2000): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let text = '';
    socket.setTimeout(timeout_ms, () => socket.destroy());
    socket.on('data', (chunk) => (text += String(chunk)));
    socket.on('error', () => resolve(''));
    socket.on('close', () => resolve(text));
    socket.on('connect', () => socket.write(word));
  });
}

export interface ApacheZooKeeper {
  port: number;
  connect: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts a standalone Apache ZooKeeper in `dir` with dslab's default tick, and waits until it answers ruok. */
export async function startApacheZooKeeper(dir: string, tick_ms = 100, wait_ms = 60_000): Promise<ApacheZooKeeper> {
  const port = await freePort();
  mkdirSync(path.join(dir, 'data'), { recursive: true });
  const cfg = path.join(dir, 'zoo.cfg');
  writeFileSync(
    cfg,
    [`tickTime=${tick_ms}`, `dataDir=${path.join(dir, 'data')}`, `clientPort=${port}`, 'clientPortAddress=127.0.0.1', 'admin.enableServer=false', '4lw.commands.whitelist=*', ''].join('\n'),
  );
  const child = spawn('java', ['-Xmx256m', '-XX:+UseSerialGC', `-Dzookeeper.log.dir=${dir}`, '-cp', `${zookeeper_jar}:/usr/share/java/*`, 'org.apache.zookeeper.server.quorum.QuorumPeerMain', cfg], {
    stdio: 'ignore',
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  };
  const deadline = Date.now() + wait_ms;
  while ((await fourLetterWord(port, 'ruok', 500)) !== 'imok') {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`Apache ZooKeeper did not start on port ${port} within ${wait_ms} ms`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { port, connect: `127.0.0.1:${port}`, child, stop };
}
