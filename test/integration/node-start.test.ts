import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, dslab, makeWorkdir, repo_root } from '../helpers/cli.js';

const fixture = (name: string) => path.join(repo_root, 'test', 'fixtures', name);

/**
 * What `up` says when a node does something wrong instead of answering init
 * (each start fails as soon as the node does it; the default init timeout is
 * 10 s, so a message that waited it out would say "did not answer init"),
 * and what `status` says of a node that crashed later.
 */
describe('why a node did not start, and why it stopped', () => {
  let cwd: string;
  beforeAll(() => {
    cwd = makeWorkdir();
  });
  afterAll(async () => {
    await cleanup(cwd);
  });

  it('names a line that is not JSON, and status points at the log that has it', async () => {
    const up = await dslab(cwd, 'up', 'chatty', '--bin', `node ${fixture('prints-not-json.mjs')}`, '--nodes', '2', '--detach');
    expect(up.exitCode).toBe(1);
    const failure = /^dslab: (n\d) printed a line that is not JSON instead of answering init: hello from my node \(stdout carries only protocol messages, one JSON object per line; write logs to stderr\) \(logs: dslab logs (n\d) --cluster chatty\)$/.exec(up.stderr.trim());
    expect(failure, up.stderr).not.toBeNull();
    const node = failure![1]!;
    expect(failure![2]).toBe(node);
    expect(up.stderr).not.toContain('did not answer init');

    const status = await dslab(cwd, 'status', '--cluster', 'chatty');
    expect(status.exitCode).toBe(1);
    expect(status.stderr).toContain(`(the cause is in ${path.join(cwd, '.dslab', 'chatty', 'logs', `${node}.log`)}: dslab logs ${node} --cluster chatty;`);
    const log = await dslab(cwd, 'logs', node, '--cluster', 'chatty');
    expect(log.stdout).toContain('not JSON: hello from my node');
  });

  it('names a node that echoed init back', async () => {
    const up = await dslab(cwd, 'up', 'parrot', '--bin', `node ${fixture('echoes-init.mjs')}`, '--nodes', '1', '--detach');
    expect(up.exitCode).toBe(1);
    expect(up.stderr.trim()).toMatch(/^dslab: n1 sent init back instead of answering it with init_ok: \{"src":"c\d+","dest":"n1","body":\{"type":"init"/);
  });

  it('says which envelope field is wrong in a reply that is valid JSON', async () => {
    const up = await dslab(cwd, 'up', 'early', '--bin', `node ${fixture('answers-src-null.mjs')}`, '--nodes', '1', '--detach');
    expect(up.exitCode).toBe(1);
    expect(up.stderr.trim()).toMatch(/^dslab: n1 printed an invalid message instead of answering init \(src is null\): \{"src":null,"dest":"c\d+","body":\{"type":"init_ok"/);
    expect(up.stderr).not.toContain('not JSON');
  });

  it("gives a crash's cause from its traceback, and says who killed a node", async () => {
    const up = await dslab(cwd, 'up', 'py', '--bin', `node ${fixture('python-traceback.mjs')}`, '--nodes', '2', '--detach');
    expect(up.exitCode, up.stderr).toBe(0);
    const send = await dslab(cwd, 'send', 'n1', '{"type":"echo","echo":1}', '--cluster', 'py');
    expect(send.exitCode).toBe(1);
    expect((await dslab(cwd, 'kill', 'n2', '--cluster', 'py')).exitCode).toBe(0);
    const status = await dslab(cwd, 'status', '--cluster', 'py');
    expect(status.exitCode, status.stderr).toBe(0);
    expect(status.stdout).toContain("n1 crashed (exit code 1): /home/s/raft/node.py:212: IndexError: list index out of range (`entry = self.log[body['index']]`)");
    expect(status.stdout).toContain('n2 killed by dslab kill (SIGKILL)');
    expect(status.stdout).not.toContain('committed entry');
    expect((await dslab(cwd, 'down', '--cluster', 'py')).exitCode).toBe(0);
  });
});
