// What becomes of each line a node prints (routed, forwarded for a client, a dslab extension, or
// misbehaviour) and of each message the router delivers (to a node's stdin, a service or a client).
import type { ServiceHub } from '../services/hub.js';
import { type Envelope, isClientId, type MessageBody, not_json_reasons, note_extension, parseEnvelope, type ParseResult, supervisor_address } from '../protocol/messages.js';
import type { Clients } from './clients.js';
import type { NodeConnections } from './connections.js';
import type { EventHub } from './event-hub.js';
import { type NodeLifecycle, quoted } from './node-lifecycle.js';
import type { NodeRecord } from './node-table.js';
import type { Router } from './router.js';
import type { ServerMembers } from './servers.js';
import type { TraceWriter } from './trace.js';

/** What node messages reach of the supervisor's parts. */
export interface NodeMessagesHost {
  readonly nodes: ReadonlyMap<string, NodeRecord>;
  readonly lifecycle: NodeLifecycle;
  readonly clients: Clients;
  readonly router: Router;
  readonly services: ServiceHub;
  readonly servers: ServerMembers;
  readonly connections: NodeConnections;
  readonly events: EventHub;
  readonly trace: TraceWriter;
}

/** A node's note is cut to this many characters: a sentence for the log, not a dump. */
export const note_chars_max = 500;

export class NodeMessages {
  constructor(private readonly host: NodeMessagesHost) {}

  onLine(node: NodeRecord, line: string): void {
    const parsed = parseEnvelope(line);
    if (!parsed.ok) {
      const what = not_json_reasons.includes(parsed.reason) ? parsed.reason : `invalid message, ${parsed.reason}`;
      this.host.lifecycle.misbehaved(node, 'garbage', `${what}: ${quoted(line)}`, { kind: 'unreadable', reason: parsed.reason, line: quoted(line) });
      return;
    }
    const { src, dest, body } = parsed.envelope;
    if (body.type === 'init' && node.status === 'starting') {
      // Echoing what arrives is a first program's usual mistake; waiting out the init timeout would only hide it.
      node.log.note(`sent init back before answering it: ${quoted(line)}`);
      this.host.lifecycle.failStart(node, `sent init back instead of answering it with init_ok: ${quoted(line)}`);
      return;
    }
    if (src !== node.id) {
      // As in Maelstrom, a node may pass a client's request on to another node under the client's id;
      // the node that handles it then answers the client directly.
      if (this.host.clients.known.has(src) && this.host.router.isNode(dest) && dest !== node.id) {
        node.msgs_out++;
        node.forwarded++;
        // Faults apply to the hop this message really takes: from the forwarding node to dest.
        this.host.router.route(node.id, dest, line, Date.now());
        return;
      }
      const forwarded = this.host.clients.known.has(src);
      const why = forwarded ? `a message forwarded for client ${src} must go to another node, not "${dest}"` : `message claims src "${src}" but came from ${node.id} (a node may use only its own id or a known client's)`;
      this.host.lifecycle.misbehaved(node, 'garbage', `${why}: ${quoted(line)}`, forwarded ? { kind: 'bad_forward', client: src, dest, line: quoted(line) } : { kind: 'wrong_src', claimed: src, line: quoted(line) });
      return;
    }
    node.msgs_out++;
    if (this.host.servers.has(dest)) {
      this.host.lifecycle.misbehaved(node, 'unknown_dest', `${dest} is a real server, not a node: reach it over TCP at its address in init's dslab_servers: ${quoted(line)}`, { kind: 'unknown_dest', dest, line: quoted(line), server: true });
    } else if (this.host.router.isNode(dest)) {
      this.host.router.route(src, dest, line, Date.now());
    } else if (this.host.services.has(dest)) {
      this.host.router.route(src, dest, line, Date.now());
    } else if (dest === supervisor_address) {
      this.onExtension(node, body, line);
    } else if (isClientId(dest)) {
      // Clients are router endpoints: a fault that names the client cuts this link too.
      this.host.router.route(src, dest, line, Date.now(), parsed.envelope);
    } else {
      this.host.lifecycle.misbehaved(node, 'unknown_dest', `message to unknown destination "${dest}": ${quoted(line)}`, { kind: 'unknown_dest', dest, line: quoted(line) });
    }
  }

  deliver(dest: string, line: string, src: string, envelope?: Envelope): boolean {
    if (this.host.services.has(dest)) {
      // The service answers at once; its replies cross the router back, faults and all.
      for (const reply of this.host.services.receive(dest, line, Date.now())) this.host.router.route(reply.src, reply.dest, reply.line, Date.now());
      return true;
    }
    const node = this.host.nodes.get(dest);
    if (!node) {
      // A client: a node's line was parsed when it was read (a service's answer is parsed here).
      const parsed: ParseResult = envelope ? { ok: true, envelope } : parseEnvelope(line);
      // A service's answer to a client's write says nothing about which node leads.
      if (parsed.ok) this.host.clients.receive(parsed.envelope.src, dest, parsed.envelope.body, this.host.router.isNode(parsed.envelope.src));
      return true;
    }
    if (!node.proc) return true; // a down node's network card is unplugged
    if (node.proc.write(line)) {
      node.msgs_in++;
      // Between two live node processes a delivered message means a connection, which the sender's exit closes.
      if (src !== dest && this.host.nodes.get(src)?.proc) this.host.connections.opened(src, dest);
      return true;
    }
    this.host.lifecycle.misbehaved(node, 'backpressure', 'not reading its stdin; a message to it was dropped', { kind: 'backpressure' });
    return false;
  }

  private onExtension(node: NodeRecord, body: MessageBody, line: string): void {
    if (body.type === 'dslab_state') {
      // In the trace too: a checker reads what each node said of its state beside the messages, on the router's clock.
      this.host.trace.record(Date.now(), 'state', line);
      let changed = false;
      for (const [key, value] of Object.entries(body)) {
        if (key === 'type' || key === 'msg_id') continue;
        if (key === 'role' && node.role_stale) {
          node.role_stale = false;
          changed = true;
        }
        if (node.state[key] !== value) {
          node.state[key] = value;
          changed = true;
        }
      }
      node.state_at_ms = Date.now();
      if (changed) this.host.events.emit({ type: 'node_state', node: node.id, state: { ...node.state } });
    } else if (body.type === note_extension) {
      const text = typeof body.text === 'string' ? body.text.slice(0, note_chars_max) : '';
      if (text) this.host.events.emit({ type: 'node_note', node: node.id, text });
    } else if (body.type === 'dslab_apply') {
      this.host.events.emit({ type: 'node_apply', node: node.id, index: body.index, term: body.term, op: body.op });
    } else {
      this.host.lifecycle.misbehaved(node, 'unknown_dest', `unknown dslab extension "${body.type}"`, { kind: 'unknown_extension', extension: body.type });
    }
  }
}
