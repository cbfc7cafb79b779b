#!/usr/bin/env python3
"""dslab labs: txn-uncommitted and txn-committed. Reference solution.

It loads the starter (../starter/python/node.py: the plumbing all Python
starters share) and replaces its txn handler. One node passes both labs.

  - A transaction runs whole, at once (a handler runs alone: nothing else
    happens while it does). Its reads see the store with its own earlier
    writes over it; its writes go into the store together at the end. So no
    one sees some of its writes without the others, nor a value it
    overwrote, and no transaction ever fails: nothing uncommitted is read.
  - Every write carries its transaction's timestamp: a Lamport counter
    (moved past every timestamp this node has seen, then one more), and the
    node's index to break ties. A node keeps a key's write only if it is
    newer than the one it holds, so all nodes order a key's writes alike, and
    a transaction always comes after the writes it read: no write cycles.
  - The writes a peer has not acknowledged are owed to it, by key (a newer
    write of a key replaces an owed one). Every 50 ms each peer gets, in one
    message, everything owed to it, and applies the whole message at once; it
    answers with what it took. A partition only delays that: the writes go
    again every 50 ms until the answer comes.

    dslab grade txn-committed --bin "python3 labs/txn-uncommitted/solution/node.py"
"""
import importlib.util
import json
import os

_starter_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "starter", "python", "node.py")
_spec = importlib.util.spec_from_file_location("txn_starter", _starter_path)
starter = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(starter)
node = starter.node

GOSSIP_INTERVAL_MS = 50
# Writes one gossip message carries at most, so a long partition's backlog goes in bounded messages.
GOSSIP_WRITES_MAX = 5000

# Each key's newest write: key id (its JSON text) -> [key, value, stamp], stamp = [counter, node index].
versions = {}
# Per peer: key id -> the write it is owed.
owed = {}
clock = [0]


def take(key_id, key, value, stamp):
    """Keeps the write if it is newer than the key's (stamps compare as lists: counter, then node)."""
    clock[0] = max(clock[0], stamp[0])
    held = versions.get(key_id)
    if held is None or stamp > held[2]:
        versions[key_id] = [key, value, stamp]


def handle_txn(msg):
    ops = msg["body"].get("txn")
    if not isinstance(ops, list) or not all(isinstance(op, list) and len(op) == 3 and op[0] in ("r", "w") for op in ops):
        node.reply_error(msg, starter.MALFORMED_REQUEST, 'txn must be a list of ["r", key, null] and ["w", key, value]')
        return
    own = {}  # key id -> [key, value]: this transaction's writes, seen by its own later reads only
    done = []
    for f, key, value in ops:
        key_id = json.dumps(key, sort_keys=True)
        if f == "w":
            own[key_id] = [key, value]
            done.append([f, key, value])
        elif key_id in own:
            done.append([f, key, own[key_id][1]])
        else:
            held = versions.get(key_id)
            done.append([f, key, None if held is None else held[1]])
    if own:
        clock[0] += 1
        stamp = [clock[0], node.node_ids.index(node.node_id)]
        for key_id, (key, value) in own.items():
            take(key_id, key, value, stamp)
            for peer in node.peers():
                owed.setdefault(peer, {})[key_id] = [key, value, stamp]
    node.reply(msg, {"type": "txn_ok", "txn": done})


def gossip():
    for peer in node.peers():
        due = list(owed.get(peer, {}).items())[:GOSSIP_WRITES_MAX]
        if due:
            node.send_request(peer, {"type": "replicate", "writes": [[key_id, key, value, stamp] for key_id, (key, value, stamp) in due]})


def handle_replicate(msg):
    taken = []
    for key_id, key, value, stamp in msg["body"].get("writes", []):
        take(key_id, key, value, stamp)
        taken.append([key_id, stamp])
    node.reply(msg, {"type": "replicate_ok", "writes": taken})


def handle_replicate_ok(msg):
    peer_owed = owed.get(msg["src"], {})
    for key_id, stamp in msg["body"].get("writes", []):
        # Acknowledged, unless a newer write of the key has been owed since.
        if key_id in peer_owed and peer_owed[key_id][2] == stamp:
            del peer_owed[key_id]


node.on("txn", handle_txn)
node.on("replicate", handle_replicate)
node.on("replicate_ok", handle_replicate_ok)
node.on_init(lambda: node.every(GOSSIP_INTERVAL_MS, gossip))

if __name__ == "__main__":
    node.run()
