#!/usr/bin/env python3
"""dslab labs: kafka-single, kafka-replicated, kafka-efficient. Starter code.

The three kafka labs grow ONE node, step by step: first a single node that
keeps append-only logs by key, then two nodes serving the same logs through
the lin-kv service, then the same with a budget of messages. `dslab lab init`
gives this same file for each of them, so keep working in the file you
started with.

Run Maelstrom's test for the step you are on, the way its challenge does,
then grade it (from this folder):

    dslab test -w kafka --bin python3 node.py --node-count 1 --concurrency 2n --time-limit 10 --rate 1000
    dslab grade kafka-single --bin "python3 node.py"

Python 3 standard library only. The plumbing (reading stdin, init/init_ok,
send/reply, RPCs with callbacks, timers) is in the first part of this file,
then small helpers for lin-kv's requests; your part is marked TODO. Logs:
node.log(...) goes to stderr; never print to stdout, which is the network.

README.md next to this file has the messages, hints and tests of the lab you
started with; labs/kafka-*/README.md are the other steps'.
"""

# dslab:plumbing-begin
# `dslab lab init` replaces the lines from here to dslab:plumbing-end with the
# message plumbing shared by every Python starter (labs/_shared/python/
# dslab_node.py), so the node.py it writes is one self-contained file. Run from
# the dslab repository, this starter imports that module instead.
import os as _os, sys as _sys
_sys.dont_write_bytecode = True  # no __pycache__ left in dslab's labs/ folder
_sys.path.insert(0, _os.path.join(_os.path.dirname(_os.path.abspath(__file__)), "..", "..", "..", "_shared", "python"))
from dslab_node import *  # noqa: E402,F401,F403
# dslab:plumbing-end


# ---------------------------------------------------------------------------
# lin-kv's requests (kafka-replicated on). Each calls callback(reply_body)
# with lin-kv's answer: read_ok (with "value"), write_ok, cas_ok, or an error
# body (check body["type"] == "error" and body["code"]: KEY_DOES_NOT_EXIST,
# PRECONDITION_FAILED), or callback(None) when no answer came in time.
# ---------------------------------------------------------------------------

LIN_KV = "lin-kv"


def kv_read(node, key, callback):
    node.rpc(LIN_KV, {"type": "read", "key": key}, callback)


def kv_write(node, key, value, callback):
    node.rpc(LIN_KV, {"type": "write", "key": key, "value": value}, callback)


def kv_cas(node, key, expected, new, callback, create_if_not_exists=False):
    """Sets key to new only if it holds expected now (or, with create_if_not_exists, does not exist yet)."""
    node.rpc(LIN_KV, {"type": "cas", "key": key, "from": expected, "to": new, "create_if_not_exists": create_if_not_exists}, callback)


# ---------------------------------------------------------------------------
# Your node.
# ---------------------------------------------------------------------------

node = Node()


def handle_send(msg):
    # TODO: append msg["body"]["msg"] to the log of key msg["body"]["key"] and
    # reply {"type": "send_ok", "offset": <its offset>}. Offsets of one key only
    # grow, and no two messages of a key ever share one, whichever node is asked.
    node.reply_error(msg, NOT_SUPPORTED, "send is not implemented yet")


def handle_poll(msg):
    # TODO: msg["body"]["offsets"] is {key: offset}. Reply {"type": "poll_ok",
    # "msgs": {key: [[offset, message], ...]}}: for each key, messages from that
    # offset on, in offset order, none skipped (you may stop early).
    node.reply_error(msg, NOT_SUPPORTED, "poll is not implemented yet")


def handle_commit_offsets(msg):
    # TODO: msg["body"]["offsets"] is {key: offset}: the client has processed
    # each key up to that offset. Keep them and reply {"type": "commit_offsets_ok"}.
    node.reply_error(msg, NOT_SUPPORTED, "commit_offsets is not implemented yet")


def handle_list_committed_offsets(msg):
    # TODO: msg["body"]["keys"] is a list of keys. Reply
    # {"type": "list_committed_offsets_ok", "offsets": {key: offset}} with the
    # committed offset of each key that has one.
    node.reply_error(msg, NOT_SUPPORTED, "list_committed_offsets is not implemented yet")


node.on("send", handle_send)
node.on("poll", handle_poll)
node.on("commit_offsets", handle_commit_offsets)
node.on("list_committed_offsets", handle_list_committed_offsets)

if __name__ == "__main__":
    node.run()
