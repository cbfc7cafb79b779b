// A benchmark node: after init it sends small messages to its peers as fast as
// its stdout drains, and counts (without parsing) the lines it receives.
let nodeId = '';
let peers = [];
let received = 0;
let partial = '';
const batch_lines = 500;

function batch() {
  const lines = [];
  for (let i = 0; i < batch_lines; i++) {
    const dest = peers[i % peers.length];
    lines.push(`{"src":"${nodeId}","dest":"${dest}","body":{"type":"flood","n":${i}}}`);
  }
  return lines.join('\n') + '\n';
}

function flood() {
  const text = batch();
  while (process.stdout.write(text)) {
    // keep writing until the pipe is full
  }
  process.stdout.once('drain', flood);
}

process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  if (nodeId) {
    for (let i = chunk.indexOf('\n'); i !== -1; i = chunk.indexOf('\n', i + 1)) received++;
    return;
  }
  partial += chunk;
  const newline = partial.indexOf('\n');
  if (newline === -1) return;
  const init = JSON.parse(partial.slice(0, newline));
  nodeId = init.body.node_id;
  peers = init.body.node_ids.filter((id) => id !== nodeId);
  process.stdout.write(JSON.stringify({ src: nodeId, dest: init.src, body: { type: 'init_ok', in_reply_to: init.body.msg_id } }) + '\n');
  setTimeout(flood, 200);
});
process.stdin.on('end', () => process.exit(0));
