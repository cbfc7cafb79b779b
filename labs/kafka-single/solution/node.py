#!/usr/bin/env python3
"""dslab labs: kafka-single, kafka-replicated, kafka-efficient. Reference solution.

It loads the starter (../starter/python/node.py: the plumbing all Python
starters share, and the lin-kv helpers) and fills in the four handlers. The
same node passes all three labs; it is built as dslab's own reference
(src/systems/kafka/log-node.ts) is:

  - Each key's whole log is one lin-kv value, "log-<key>", a list of messages
    (a message's offset is its index). A send appends by compare-and-set from
    the log as this node last saw it. lin-kv applies one cas at a time, so two
    nodes can never give out one offset twice; a cas that finds the log longer
    than expected changes nothing, and the node reads the log and tries again.
    Sends waiting for the same key at this node go into one cas together.
  - The node keeps the longest log it has seen of each key. Logs only grow at
    the end, so that copy is always a true beginning of the log: a poll from an
    offset the copy holds is answered from it without asking lin-kv; a poll at
    or past its end reads lin-kv first.
  - Each key's committed offset is "committed-<key>" in lin-kv, only ever
    raised by cas; a commit at or below what this node has seen sends nothing.
    list_committed_offsets reads lin-kv, since a commit made at another node
    must show at once.

Nothing lives only in the node, so a node that restarts loses nothing.

    dslab grade kafka-replicated --bin "python3 labs/kafka-single/solution/node.py"
"""
import importlib.util
import os

_starter_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "starter", "python", "node.py")
_spec = importlib.util.spec_from_file_location("kafka_starter", _starter_path)
starter = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(starter)
node = starter.node

# Messages of one key a poll returns at most (the client asks again from where it got to).
POLL_MSGS_PER_KEY_MAX = 1000

logs = {}       # key -> the longest log seen (a beginning of lin-kv's)
committed = {}  # key -> the highest committed offset seen
waiting = {}    # key -> sends waiting for the key's next cas; a key is here while a cas for it is under way


def is_error(body, code):
    return body is not None and body.get("type") == "error" and body.get("code") == code


def is_ok(body, reply_type):
    return body is not None and body.get("type") == reply_type


def learn_log(key, log):
    if len(log) > len(logs.get(key, [])):
        logs[key] = log


def read_log(key, done):
    """Refreshes this node's copy of key's log from lin-kv; done(True) if lin-kv answered."""
    def on_read(body):
        if is_ok(body, "read_ok") and isinstance(body.get("value"), list):
            learn_log(key, body["value"])
        done(is_ok(body, "read_ok") or is_error(body, starter.KEY_DOES_NOT_EXIST))

    starter.kv_read(node, "log-" + key, on_read)


def handle_send(msg):
    key = str(msg["body"].get("key"))
    if key in waiting:
        waiting[key].append(msg)
        return
    waiting[key] = [msg]
    append_waiting(key)


def append_waiting(key):
    """Appends every send waiting for key in one cas, then the ones that came meanwhile."""
    batch = waiting[key]
    if not batch:
        del waiting[key]
        return
    waiting[key] = []

    def give_up(code, text):
        for request in batch:
            node.reply_error(request, code, text)
        append_waiting(key)

    def attempt():
        base = logs.get(key, [])
        new = base + [request["body"].get("msg") for request in batch]

        def on_cas(body):
            if is_ok(body, "cas_ok"):
                learn_log(key, new)
                for i, request in enumerate(batch):
                    node.reply(request, {"type": "send_ok", "offset": len(base) + i})
                append_waiting(key)
            elif is_error(body, starter.PRECONDITION_FAILED):
                # Another node appended first: nothing happened. Look at the log again and retry.
                read_log(key, lambda fresh: attempt() if fresh else give_up(starter.TEMPORARILY_UNAVAILABLE, "lin-kv did not answer a read"))
            elif body is None:
                # The cas may or may not have happened: retrying could append twice. Say so (an indefinite error).
                give_up(starter.TIMEOUT, "lin-kv did not answer the cas; the send may or may not have happened")
            else:
                give_up(body.get("code", starter.CRASH), "lin-kv: %s" % body.get("text"))

        starter.kv_cas(node, "log-" + key, base, new, on_cas, create_if_not_exists=not base)

    attempt()


def handle_poll(msg):
    offsets = msg["body"].get("offsets") or {}
    msgs = {}
    left = [len(offsets)]

    def answer(key, start):
        log = logs.get(key, [])
        msgs[key] = [[start + i, m] for i, m in enumerate(log[start:start + POLL_MSGS_PER_KEY_MAX])]
        left[0] -= 1
        if left[0] == 0:
            node.reply(msg, {"type": "poll_ok", "msgs": msgs})

    if not offsets:
        node.reply(msg, {"type": "poll_ok", "msgs": {}})
        return
    for key, offset in offsets.items():
        start = max(0, int(offset))
        if start < len(logs.get(key, [])):
            answer(key, start)
        else:
            # Nothing new in this node's copy: lin-kv may have more. Without an answer, nothing new it is.
            read_log(key, lambda _fresh, key=key, start=start: answer(key, start))


def read_committed(key, done):
    """Refreshes key's committed offset from lin-kv; done(True) if lin-kv answered."""
    def on_read(body):
        if is_ok(body, "read_ok"):
            committed[key] = max(committed.get(key, -1), body["value"])
        done(is_ok(body, "read_ok") or is_error(body, starter.KEY_DOES_NOT_EXIST))

    starter.kv_read(node, "committed-" + key, on_read)


def commit(key, offset, done):
    """Raises key's committed offset in lin-kv to at least offset; done(None) or done(error text)."""
    current = committed.get(key)
    if current is not None and current >= offset:
        done(None)
        return

    def on_cas(body):
        if is_ok(body, "cas_ok"):
            committed[key] = max(committed.get(key, -1), offset)
            done(None)
        elif is_error(body, starter.PRECONDITION_FAILED):
            read_committed(key, lambda fresh: commit(key, offset, done) if fresh else done("lin-kv did not answer a read"))
        else:
            done("lin-kv did not take the commit")

    starter.kv_cas(node, "committed-" + key, current, offset, on_cas, create_if_not_exists=current is None)


def handle_commit_offsets(msg):
    offsets = msg["body"].get("offsets") or {}
    left = [len(offsets)]
    errors = []

    def one_done(error):
        if error:
            errors.append(error)
        left[0] -= 1
        if left[0] == 0:
            if errors:
                node.reply_error(msg, starter.TIMEOUT, errors[0])
            else:
                node.reply(msg, {"type": "commit_offsets_ok"})

    if not offsets:
        node.reply(msg, {"type": "commit_offsets_ok"})
        return
    for key, offset in offsets.items():
        commit(key, offset, one_done)


def handle_list_committed_offsets(msg):
    keys = [str(key) for key in msg["body"].get("keys") or []]
    left = [len(keys)]
    answered = [True]

    def one_done(fresh):
        answered[0] = answered[0] and fresh
        left[0] -= 1
        if left[0] > 0:
            return
        if not answered[0]:
            node.reply_error(msg, starter.TEMPORARILY_UNAVAILABLE, "lin-kv did not answer a read")
        else:
            node.reply(msg, {"type": "list_committed_offsets_ok", "offsets": {key: committed[key] for key in keys if key in committed}})

    if not keys:
        node.reply(msg, {"type": "list_committed_offsets_ok", "offsets": {}})
        return
    for key in keys:
        read_committed(key, one_done)


node.on("send", handle_send)
node.on("poll", handle_poll)
node.on("commit_offsets", handle_commit_offsets)
node.on("list_committed_offsets", handle_list_committed_offsets)

if __name__ == "__main__":
    node.run()
