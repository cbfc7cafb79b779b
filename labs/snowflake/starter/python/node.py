#!/usr/bin/env python3
"""dslab lab: snowflake. Starter code for one id worker.

A worker answers {"type":"generate"} with {"type":"generate_ok","id":"<decimal>"}
and {"type":"generate","count":N} with {"type":"generate_ok","ids":[...]}: 64-bit
ids made of the time, the worker's (datacenter, worker) number and a sequence.
It takes its number from the coordinator (dslab's Zab servers, z1..), serves
only while its session is surely alive, and never issues an id older than one
it issued before, whatever its clock does.

Play with it, then grade it (from this folder):

    dslab up snowflake --bin "python3 node.py" --workers 3 --detach
    dslab id generate --count 5
    dslab down
    dslab grade snowflake --bin "python3 node.py"

Python 3 standard library only. The plumbing (messages, timers, the
coordinator session, the request queue, state reports) is done; your part is
marked TODO: next_id, choose_number and why_not_serving.

README.md next to this file has the layout, the messages, hints and tests.
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
# Settings: the options dslab passes (README "Options"), with their defaults.
# ---------------------------------------------------------------------------

node = Node()
OPTIONS = node.options
LAYOUT = OPTIONS.get("layout") or {"time_bits": 41, "datacenter_bits": 5, "worker_bits": 5, "sequence_bits": 12, "unit_ms": 1}
EPOCH_MS = OPTIONS.get("epoch_ms", 1533081600000)  # 2018-08-01T00:00:00Z
DATACENTERS = OPTIONS.get("datacenters", 1)
MAX_BACKWARD_MS = OPTIONS.get("max_backward_ms", 5)
SESSION_TIMEOUT_MS = OPTIONS.get("session_timeout_ms", 2000)

GENERATE_COUNT_MAX = 10000
REPORT_INTERVAL_MS = 500
RETRY_MS = 500
# The coordinator's error codes (README "The coordinator").
NO_NODE = 20
NODE_EXISTS = 21
SESSION_EXPIRED = 14


def mono_ms():
    """A clock no skew moves (timers use it too): for how old the last coordinator reply is."""
    return time.monotonic() * 1000


# ---------------------------------------------------------------------------
# Your part.
# ---------------------------------------------------------------------------

class IdMaker:
    """Makes the ids of one (datacenter, worker) number."""

    def __init__(self, datacenter, worker):
        self.datacenter = datacenter
        self.worker = worker
        self.last_ms = -1  # the latest millisecond (since EPOCH_MS) an id was issued in
        self.sequence = 0

    def next_id(self, now_ms):
        """One id at now_ms (node.now_ms(): the worker's skewable clock, ms since 1970).

        Returns one of:
          ("id", <int>)            an id to hand out
          ("wait", <until_ms>)     try again when the clock reads until_ms (a full
                                   sequence, or a small step back)
          ("refuse", "<why>")      the clock is too far back (say by how many ms)
        """
        # TODO: the layout is LAYOUT's bits, from the top: time since EPOCH_MS
        # (in LAYOUT["unit_ms"] units), datacenter, worker, sequence. Handle
        # the three cases: a new millisecond, the same one (next sequence, or
        # wait when it is used up), and a clock behind self.last_ms (wait when
        # it is at most MAX_BACKWARD_MS behind, refuse when more).
        return ("refuse", "next_id is not implemented yet")


def choose_number(taken):
    """The worker number to take, given the numbers (ints) other workers of this
    datacenter hold now; None when no number is free."""
    # TODO: the lowest free number, if it fits in LAYOUT["worker_bits"] bits.
    return None


def why_not_serving(last_ok_mono_ms, timeout_ms):
    """Why this worker may not issue ids now (a string), or None when it may.

    last_ok_mono_ms: when the coordinator last answered this session (mono_ms());
    timeout_ms: the session timeout the coordinator granted.
    """
    # TODO: serve only while the session is surely alive (README "The number").
    return None


# ---------------------------------------------------------------------------
# The coordinator session: connect, ping, fail over, notice expiry.
# ---------------------------------------------------------------------------

class Coordinator:
    """One session with the coordinator's servers.

    on_connected() runs once the session is open; on_lost(why) once it is gone
    (expired, or silent for a whole timeout), after which this object is dead.
    """

    def __init__(self, servers, on_connected, on_lost):
        self.servers = list(servers)
        self.index = random.randrange(len(self.servers))
        self.session = None
        self.timeout_ms = SESSION_TIMEOUT_MS
        self.last_ok = mono_ms()
        self.on_connected = on_connected
        self.on_lost = on_lost
        self.dead = False
        self.ping_timer = None

    @property
    def server(self):
        return self.servers[self.index % len(self.servers)]

    def start(self):
        self._connect()

    def _connect(self):
        if self.dead:
            return
        body = {"type": "connect", "timeout_ms": self.timeout_ms}
        if self.session is not None:
            body["session"] = self.session
        node.rpc(self.server, body, self._connected, timeout_ms=1000)

    def _connected(self, reply):
        if self.dead:
            return
        if reply is not None and reply["type"] == "connect_ok":
            first = self.session is None
            self.session = reply["session"]
            self.timeout_ms = reply.get("timeout_ms", self.timeout_ms)
            self.last_ok = mono_ms()
            if self.ping_timer is None:
                self.ping_timer = node.every(self.timeout_ms / 3, self._ping)
            if first:
                self.on_connected()
            return
        if reply is not None and reply.get("code") == SESSION_EXPIRED:
            return self.lose("the coordinator expired session %s" % self.session)
        if self.session is not None and mono_ms() - self.last_ok > self.timeout_ms:
            return self.lose("no coordinator server answered for a whole session timeout")
        # Not serving, or no answer: the next server, a moment later.
        self.index += 1
        node.after(100, self._connect)

    def _ping(self):
        if self.dead:
            return
        if mono_ms() - self.last_ok > self.timeout_ms:
            return self.lose("no reply from the coordinator for a whole session timeout")
        self.request({"type": "ping"}, lambda reply: None)

    def request(self, body, callback):
        """Sends body (with the session) to the current server; callback(reply) gets the
        reply, or None when none came. A failed server is left for the next one."""
        body = dict(body)
        body["session"] = self.session

        def answered(reply):
            if self.dead:
                return
            if reply is not None and reply["type"] != "error":
                self.last_ok = mono_ms()
            elif reply is not None and reply.get("code") == SESSION_EXPIRED:
                self.lose("the coordinator expired session %s" % self.session)
            elif reply is None or reply.get("code") in (TEMPORARILY_UNAVAILABLE, CRASH):
                self.index += 1
                self._connect()
            callback(reply)

        node.rpc(self.server, body, answered, timeout_ms=max(50, int(self.timeout_ms * 2 / 3)))

    def lose(self, why):
        if self.dead:
            return
        self.dead = True
        if self.ping_timer is not None:
            self.ping_timer.cancel()
        self.on_lost(why)


# ---------------------------------------------------------------------------
# The worker: its number, its queue of requests, its reports.
# ---------------------------------------------------------------------------

class Worker:
    def __init__(self):
        self.coordinator = None
        self.maker = None  # the IdMaker of the number held, or None
        self.problem = "no worker number yet"
        self.queue = []  # [request, ids so far]: served in order
        self.waiting = None  # the timer of a request waiting for the clock
        self.stepped_back = False  # whether that wait is a step back of the clock
        self.clock_refusal = None  # why the last request was refused for the clock, until one is served again

    def start(self):
        servers = node.groups.get("coordinator", [])
        workers = node.groups.get("workers", node.node_ids)
        position = workers.index(node.node_id) if node.node_id in workers else 0
        self.datacenter = position % DATACENTERS
        if not servers:
            # Alone (under Maelstrom): the number is the position.
            self.hold(position // DATACENTERS)
        else:
            self.open_session(servers)
        node.every(REPORT_INTERVAL_MS, self.report)
        self.report()

    # -- the number ------------------------------------------------------

    def open_session(self, servers):
        self.coordinator = Coordinator(servers, self.take_number, self.lost)
        self.coordinator.start()

    def lost(self, why):
        node.log(why, "; taking a number again")
        self.maker = None
        self.problem = why
        self.report()
        servers = self.coordinator.servers
        node.after(RETRY_MS, lambda: self.open_session(servers))

    def take_number(self):
        root = "/snowflake/dc%d" % self.datacenter
        parents = ["/snowflake", root, root + "/workers"]
        coordinator = self.coordinator

        def retry(why):
            node.log("no worker number:", why)
            self.problem = "no worker number: %s" % why
            self.report()
            if not coordinator.dead:
                node.after(RETRY_MS, self.take_number)

        def ensure(i):
            if i == len(parents):
                coordinator.request({"type": "get_children", "path": root + "/workers"}, listed)
                return

            def created(reply):
                if reply is None or (reply["type"] == "error" and reply.get("code") != NODE_EXISTS):
                    return retry("could not create %s: %s" % (parents[i], reply and reply.get("text")))
                ensure(i + 1)

            coordinator.request({"type": "create", "path": parents[i], "data": ""}, created)

        def listed(reply):
            if reply is None or reply["type"] == "error":
                return retry("could not list %s/workers: %s" % (root, reply and reply.get("text")))
            number = choose_number([int(name) for name in reply["children"]])
            if number is None:
                return retry("all %d worker numbers of datacenter %d are held" % (2 ** LAYOUT["worker_bits"], self.datacenter))
            path = "%s/workers/%d" % (root, number)

            def made(reply):
                if reply is None or reply["type"] == "error":
                    return retry("could not create %s: %s" % (path, reply and reply.get("text")))
                if not coordinator.dead:
                    self.hold(number)

            coordinator.request({"type": "create", "path": path, "data": node.node_id, "ephemeral": True}, made)

        ensure(0)

    def hold(self, number):
        node.log("holding datacenter %d worker %d" % (self.datacenter, number))
        self.maker = IdMaker(self.datacenter, number)
        self.problem = None
        self.clock_refusal = None
        # A batch begun under an earlier number starts again: one batch, one number.
        for entry in self.queue:
            entry[1] = []
        self.report()
        self.drain()

    def unavailable(self):
        if self.maker is None:
            return self.problem or "no worker number yet"
        if self.coordinator is not None:
            return why_not_serving(self.coordinator.last_ok, self.coordinator.timeout_ms)
        return None

    # -- requests ----------------------------------------------------------

    def generate(self, msg):
        count = msg["body"].get("count")
        if count is not None and (not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= GENERATE_COUNT_MAX):
            return node.reply_error(msg, MALFORMED_REQUEST, "count must be a whole number from 1 to %d" % GENERATE_COUNT_MAX)
        self.queue.append([msg, []])
        if self.waiting is None:
            self.drain()

    def drain(self):
        self.waiting = None
        while self.queue:
            msg, ids = self.queue[0]
            why = self.unavailable()
            if why is not None:
                self.queue.pop(0)
                node.reply_error(msg, TEMPORARILY_UNAVAILABLE, why)
                continue
            count = msg["body"].get("count")
            now = node.now_ms()
            step = None
            while len(ids) < (count or 1):
                step = self.maker.next_id(now)
                if step[0] != "id":
                    break
                ids.append(step[1])
                step = None
            if step is None:
                self.queue.pop(0)
                self.clock_refusal = None
                if count is None:
                    node.reply(msg, {"type": "generate_ok", "id": str(ids[0])})
                else:
                    node.reply(msg, {"type": "generate_ok", "ids": [str(i) for i in ids]})
                continue
            if step[0] == "refuse":
                self.queue.pop(0)
                self.clock_refusal = step[1]
                node.reply_error(msg, TEMPORARILY_UNAVAILABLE, step[1])
                continue
            # Waiting out a step back is "waiting"; the next millisecond after a full sequence is not worth a word.
            self.stepped_back = step[1] - now > LAYOUT["unit_ms"]
            self.waiting = node.after(max(1, step[1] - now), self.drain)
            self.report()
            return
        self.report()

    def report(self):
        why = self.unavailable() or self.clock_refusal
        role = "refusing" if why is not None else ("waiting" if self.waiting is not None and self.stepped_back else "serving")
        held = self.maker is not None
        node.report_state(role=role, datacenter=self.datacenter if held else None, worker=self.maker.worker if held else None, refusal=why)


worker = Worker()
node.on_init(worker.start)
node.on("generate", worker.generate)
node.on("session_expired", lambda msg: worker.coordinator and worker.coordinator.lose("the coordinator expired session %s" % msg["body"].get("session")))
node.on("watch_event", lambda msg: None)

if __name__ == "__main__":
    node.run()
