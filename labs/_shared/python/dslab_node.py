# ---------------------------------------------------------------------------
# The message plumbing: you should not need to change anything in this part.
# Every dslab Python starter has this same part: it is kept in one place in
# dslab (labs/_shared/python/dslab_node.py) and `dslab lab init` copies it in.
# ---------------------------------------------------------------------------

import heapq
import itertools
import json
import os
import random
import selectors
import sys
import time
import traceback

# Maelstrom's error codes.
TIMEOUT = 0
NODE_NOT_FOUND = 1
NOT_SUPPORTED = 10
TEMPORARILY_UNAVAILABLE = 11
MALFORMED_REQUEST = 12
CRASH = 13
ABORT = 14
KEY_DOES_NOT_EXIST = 20
KEY_ALREADY_EXISTS = 21
PRECONDITION_FAILED = 22
TXN_CONFLICT = 30


class Timer:
    """A handle returned by Node.after / Node.every; call cancel() to stop it."""

    def __init__(self, due, interval, callback):
        self.due = due
        self.interval = interval
        self.callback = callback
        self.cancelled = False

    def cancel(self):
        self.cancelled = True


class Node:
    """A Maelstrom-style node: one JSON message per line on stdin/stdout, logs on stderr.

    Everything runs on one thread: handlers, RPC callbacks and timers are called
    one at a time from run(), so your code never needs locks.

        node = Node()
        node.on("echo", lambda msg: node.reply(msg, {"type": "echo_ok", "echo": msg["body"]["echo"]}))
        node.run()

    A message is the whole envelope as a dict: msg["src"], msg["dest"], msg["body"].
    """

    def __init__(self):
        self.node_id = os.environ.get("DSLAB_NODE_ID", "")
        self.node_ids = []
        self.groups = {}
        # The whole init body: dslab's extensions too (dslab_groups: every group's members, by group name).
        self.init_body = {}
        self.data_dir = os.environ.get("DSLAB_DATA_DIR", ".")
        try:
            self.options = json.loads(os.environ.get("DSLAB_OPTIONS") or "{}")
        except ValueError:
            self.options = {}
        self._handlers = {}
        self._init_callbacks = []
        self._rpcs = {}  # msg_id -> (callback, timer)
        self._next_msg_id = itertools.count(1)
        self._timers = []  # heap of (due, seq, Timer)
        self._timer_seq = itertools.count()
        self._clock_offset_ms = 0
        self._reported = {}
        self._out = []
        self._before_flush = []

    # -- registering ---------------------------------------------------------

    def on(self, msg_type, handler):
        """handler(msg) is called for every incoming message whose body.type is msg_type."""
        self._handlers[msg_type] = handler

    def before_flush(self, callback):
        """callback() runs just before buffered outgoing messages are written to stdout.

        Messages you send() are buffered while a batch of input is handled; this
        hook is the place to persist state once per batch (fsync), so nothing you
        promised in those messages is lost if the node crashes right after.
        """
        self._before_flush.append(callback)

    def on_init(self, callback):
        """callback() runs once node_id and node_ids are known, before init_ok is sent."""
        self._init_callbacks.append(callback)

    def peers(self):
        """Every node except this one."""
        return [n for n in self.node_ids if n != self.node_id]

    # -- sending -------------------------------------------------------------

    def send(self, dest, body):
        self._out.append(json.dumps({"src": self.node_id, "dest": dest, "body": body}, separators=(",", ":")))

    def reply(self, request, body):
        body = dict(body)
        body["in_reply_to"] = request["body"].get("msg_id")
        self.send(request["src"], body)

    def reply_error(self, request, code, text, **extra):
        """Answers a request with an error; extra fields (e.g. leader="n3") go into the body."""
        if request["body"].get("msg_id") is None:
            return
        body = {"type": "error", "code": code, "text": text}
        body.update(extra)
        self.reply(request, body)

    def send_request(self, dest, body):
        """Sends body with a fresh msg_id, expecting no particular reply."""
        body = dict(body)
        body["msg_id"] = next(self._next_msg_id)
        self.send(dest, body)

    def rpc(self, dest, body, callback, timeout_ms=1000):
        """Sends a request; later calls callback(reply_body), or callback(None) after timeout_ms.

        An error reply is passed to the callback like any other (check body["type"] == "error").
        """
        msg_id = next(self._next_msg_id)
        body = dict(body)
        body["msg_id"] = msg_id

        def expire():
            if self._rpcs.pop(msg_id, None) is not None:
                callback(None)

        self._rpcs[msg_id] = (callback, self.after(timeout_ms, expire))
        self.send(dest, body)

    # -- time ----------------------------------------------------------------

    def after(self, delay_ms, callback):
        """Runs callback() once, delay_ms from now. Returns a Timer you can cancel()."""
        return self._schedule(Timer(time.monotonic() + delay_ms / 1000, None, callback))

    def every(self, interval_ms, callback):
        """Runs callback() every interval_ms. Returns a Timer you can cancel()."""
        return self._schedule(Timer(time.monotonic() + interval_ms / 1000, interval_ms / 1000, callback))

    def _schedule(self, timer):
        heapq.heappush(self._timers, (timer.due, next(self._timer_seq), timer))
        return timer

    def now_ms(self):
        """Wall-clock milliseconds, shifted by the clock-skew fault dslab may apply.

        Timers (after/every) use a monotonic clock and are not affected by skew;
        this clock is the one to use for anything that compares times across nodes.
        """
        return time.time() * 1000 + self._clock_offset_ms

    # -- dslab extensions ----------------------------------------------------

    def report_state(self, **fields):
        """Tells dslab about this node's state (role, term, leader, commit_index, ...).

        Only fields that changed since the last report are sent, in ONE message:
        update role and term together, then call this once.
        """
        changed = {k: v for k, v in fields.items() if k not in self._reported or self._reported[k] != v}
        if not changed:
            return
        self._reported.update(changed)
        body = {"type": "dslab_state"}
        body.update(changed)
        self.send("dslab", body)

    def report_apply(self, index, term, op):
        """Tells dslab that the entry at index (from term) was applied to the state machine."""
        self.send("dslab", {"type": "dslab_apply", "index": index, "term": term, "op": op})

    def log(self, *parts):
        text = " ".join(p if isinstance(p, str) else json.dumps(p) for p in parts)
        sys.stderr.write("%s %s\n" % (self.node_id or "?", text))
        sys.stderr.flush()

    # -- the loop ------------------------------------------------------------

    def _flush(self):
        if not self._out:
            return
        for callback in self._before_flush:
            callback()
        data = ("\n".join(self._out) + "\n").encode()
        self._out = []
        view = memoryview(data)
        while view:
            written = os.write(1, view)
            view = view[written:]

    def _handle_line(self, line):
        try:
            msg = json.loads(line)
            body = msg["body"]
            msg_type = body["type"]
        except (ValueError, KeyError, TypeError):
            self.log("ignoring a line that is not a message:", line[:200])
            return
        reply_to = body.get("in_reply_to")
        if reply_to is not None and reply_to in self._rpcs:
            callback, timer = self._rpcs.pop(reply_to)
            timer.cancel()
            callback(body)
            return
        if msg_type == "init":
            self.node_id = body["node_id"]
            self.node_ids = list(body["node_ids"])
            # A cluster of several programs names its groups: {"coordinator": ["z1", ...], "workers": [...]}.
            self.groups = {name: list(ids) for name, ids in (body.get("dslab_groups") or {}).items()}
            self.init_body = body
            for callback in self._init_callbacks:
                callback()
            self.reply(msg, {"type": "init_ok"})
            return
        if msg_type == "dslab_clock":
            self._clock_offset_ms = body.get("offset_ms") or 0
            return
        handler = self._handlers.get(msg_type)
        if handler is None:
            if reply_to is None:
                self.reply_error(msg, NOT_SUPPORTED, "unsupported message type %r" % msg_type)
            return
        handler(msg)

    def _guarded(self, what, fn, *args):
        # A bug in one handler is logged with its traceback instead of killing the node.
        # Look for "Traceback" in `dslab logs <node>`.
        try:
            fn(*args)
        except Exception:
            self.log("error in %s:\n%s" % (what, traceback.format_exc()))
            if what == "message" and isinstance(args[0], str):
                try:
                    msg = json.loads(args[0])
                    if msg["body"].get("in_reply_to") is None:
                        self.reply_error(msg, CRASH, "the node failed while handling this message")
                except Exception:
                    pass

    def _run_due_timers(self):
        now = time.monotonic()
        while self._timers and self._timers[0][0] <= now:
            _, _, timer = heapq.heappop(self._timers)
            if timer.cancelled:
                continue
            if timer.interval is not None:
                timer.due = max(timer.due + timer.interval, now)
                self._schedule(timer)
            self._guarded("timer", timer.callback)

    def run(self):
        """Reads messages until stdin closes, then exits."""
        selector = selectors.DefaultSelector()
        selector.register(0, selectors.EVENT_READ)
        pending = b""
        while True:
            self._run_due_timers()
            self._flush()
            while self._timers and self._timers[0][2].cancelled:
                heapq.heappop(self._timers)
            timeout = None
            if self._timers:
                timeout = max(0.0, self._timers[0][0] - time.monotonic())
            if not selector.select(timeout):
                continue
            chunk = os.read(0, 1 << 16)
            if not chunk:
                self._flush()
                sys.exit(0)
            lines = (pending + chunk).split(b"\n")
            pending = lines.pop()
            for raw in lines:
                line = raw.decode("utf-8", "replace").strip()
                if line:
                    self._guarded("message", self._handle_line, line)
                    self._run_due_timers()
            self._flush()


def write_json_atomic(path, value):
    """Writes value as JSON to path so that a crash leaves either the old file or the new one.

    (Write a temporary file, fsync it, rename it over the old one, fsync the directory.)
    """
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(value, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def read_json(path, default=None):
    """The JSON value stored at path, or default when the file does not exist."""
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return default
