#!/usr/bin/env python3
"""dslab lab: g-counter. Reference solution.

It loads the starter (../starter/python/node.py: the plumbing all Python
starters share, and the seq-kv helpers) and fills in the two handlers.

  - The counter is one key in seq-kv, "counter". An add reads it and
    compare-and-sets it from the value read to that value plus the delta. The
    read may be stale, or another node may get there first: then the cas fails
    (precondition failed) and the add starts over. An add is acknowledged only
    after its cas succeeded, so each acknowledged add is in the counter once.
  - seq-kv may answer a read from an older version of the store, but never one
    older than the newest this node has itself changed. So a read first writes
    a value no one wrote before to this node's own key, "sync-<node id>" (a
    change, so seq-kv applies it to its newest version), and then reads the
    counter: that read cannot be older than the write, so it holds every add
    acknowledged before the read began.

dslab's own reference (src/systems/g-counter, `--reference`) takes another
road: a counter per node, gossiped and merged by taking the larger count.
Both pass.

    dslab grade g-counter --bin "python3 labs/g-counter/solution/node.py"
"""
import importlib.util
import itertools
import os
import time

_starter_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "starter", "python", "node.py")
_spec = importlib.util.spec_from_file_location("g_counter_starter", _starter_path)
starter = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(starter)
node = starter.node

COUNTER = "counter"
# Sync values: this process's start time and a count, so no write of this node ever repeats an earlier one (a
# write of the value a key already holds changes nothing, and seq-kv may answer it from an old version).
_started_ns = time.time_ns()
_syncs = itertools.count(1)


def is_error(body, code):
    return body is not None and body.get("type") == "error" and body.get("code") == code


def handle_add(msg):
    delta = msg["body"].get("delta")
    if not isinstance(delta, int) or isinstance(delta, bool) or delta < 0:
        node.reply_error(msg, starter.MALFORMED_REQUEST, "delta must be an integer of 0 or more")
        return

    def attempt():
        starter.kv_read(node, COUNTER, on_read)

    def on_read(body):
        if body is None:
            attempt()  # a read changes nothing: asking again is safe
        elif is_error(body, starter.KEY_DOES_NOT_EXIST):
            starter.kv_cas(node, COUNTER, 0, delta, on_cas, create_if_not_exists=True)
        elif body.get("type") == "read_ok":
            value = body["value"]
            starter.kv_cas(node, COUNTER, value, value + delta, on_cas)
        else:
            node.reply_error(msg, body.get("code", starter.CRASH), "seq-kv: %s" % body.get("text"))

    def on_cas(body):
        if body is None:
            # The cas may or may not have happened: trying again could count the delta twice. Say so (an indefinite error).
            node.reply_error(msg, starter.TIMEOUT, "seq-kv did not answer the cas; the add may or may not have happened")
        elif body.get("type") == "cas_ok":
            node.reply(msg, {"type": "add_ok"})
        elif is_error(body, starter.PRECONDITION_FAILED) or is_error(body, starter.KEY_DOES_NOT_EXIST):
            attempt()  # stale read, or another node added first: nothing happened, start over
        else:
            node.reply_error(msg, body.get("code", starter.CRASH), "seq-kv: %s" % body.get("text"))

    attempt()


def handle_read(msg):
    def on_sync(body):
        if body is None or body.get("type") != "write_ok":
            node.reply_error(msg, starter.TEMPORARILY_UNAVAILABLE, "seq-kv did not take the sync write")
            return
        starter.kv_read(node, COUNTER, on_read)

    def on_read(body):
        if is_error(body, starter.KEY_DOES_NOT_EXIST):
            node.reply(msg, {"type": "read_ok", "value": 0})
        elif body is not None and body.get("type") == "read_ok":
            node.reply(msg, {"type": "read_ok", "value": body["value"]})
        else:
            node.reply_error(msg, starter.TEMPORARILY_UNAVAILABLE, "seq-kv did not answer the read")

    starter.kv_write(node, "sync-%s" % node.node_id, "%d-%d" % (_started_ns, next(_syncs)), on_sync)


node.on("add", handle_add)
node.on("read", handle_read)

if __name__ == "__main__":
    node.run()
