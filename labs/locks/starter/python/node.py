#!/usr/bin/env python3
"""dslab lab: locks. Starter code.

Python 3 standard library only, one file. ONE program plays both parts the lab
grades: dslab starts it as every contender (k1..kN) and as the resource (r1),
and it acts as the group DSLAB_GROUP names ("contenders" or "resource"; init's
dslab_groups says the same). The first part (class Node) is the message
plumbing. Then come a small ZooKeeper client for dslab's coordinator (sessions,
pings, requests, watch events), the resource and the contender. Yours to write
are the parts marked TODO.

Play with it live, then grade it (from this folder):

    dslab grade locks --bin "python3 node.py"
    dslab grade locks --bin "python3 node.py" --only zk-mutual-exclusion

Logs: anything you print to stderr (node.log(...)) shows in `dslab logs k1`.
Never print to stdout: stdout is the network.

The Redis and etcd tests run dslab's own contenders for those backends (the
first lines below hand the contender part over to it); in them, your program
is graded as the resource.

TODO:
  1. Contender.acquire(): the ZooKeeper lock recipe. Create an ephemeral
     sequential child "lock-" of /dslab-lock holding your node id; read the
     children WITHOUT a watch; the lowest sequence number holds the lock;
     otherwise set an exists watch on the child just below your own only, and
     when it fires (or exists says it is gone already) read the children
     again: never take the lock on the event alone.
  2. Contender.may_write(): a holder whose session expired, or whose server has
     not answered for two thirds of the session timeout, must not write.
  3. Contender.release(): delete your node.
  4. Resource.stale(): fencing. With fencing on, a write is accepted only with
     a token greater than every token of an accepted write; a read or write
     below a token already seen is refused; no token, refused.
  Read README.md, next to this file, for the messages and the tests.
"""

import os as _os
import shutil as _shutil
import json as _json

# dslab's own contender runs the Redis and etcd recipes: this lab is about ZooKeeper's.
_DSLAB_DIST = "__DSLAB_DIST__"
if _DSLAB_DIST.startswith("__"):
    # Run from the dslab repository (not copied by `dslab lab init`): dist/ is four folders up.
    _DSLAB_DIST = _os.path.join(_os.path.dirname(_os.path.abspath(__file__)), "..", "..", "..", "..", "dist")
try:
    _backend = _json.loads(_os.environ.get("DSLAB_OPTIONS") or "{}").get("lock_backend", "redis")
except ValueError:
    _backend = "redis"
if _os.environ.get("DSLAB_GROUP") == "contenders" and _backend != "zk":
    _node_binary = _shutil.which("node") or "node"
    _os.execv(_node_binary, [_node_binary, _os.path.join(_DSLAB_DIST, "systems", "locks", "contender.js")])

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
# Options (env DSLAB_OPTIONS): the tests set their own, so always use these.
# ---------------------------------------------------------------------------

node = Node()

TTL_MS = int(node.options.get("lock_ttl_ms") or 2000)  # the session timeout to ask for
HOLD_MS = int(node.options.get("lock_hold_ms") if node.options.get("lock_hold_ms") is not None else 50)
FENCING = node.options.get("lock_fencing") is True
GROUP = os.environ.get("DSLAB_GROUP", "")

LOCK_PATH = "/dslab-lock"
CHILD_PREFIX = "lock-"
RESOURCE_TIMEOUT_MS = 5000
FAILED_ROUND_PAUSE_MS = 200
REPORT_PAGE_MAX = 2000
OBSERVATIONS_MAX = 200000


def sequence_of(name):
    """The ten-digit sequence number ZooKeeper appended to a sequential node's name."""
    digits = ""
    for ch in reversed(name):
        if not ch.isdigit():
            break
        digits = ch + digits
    return int(digits)


# ---------------------------------------------------------------------------
# A small ZooKeeper client for dslab's coordinator: one session, pings every
# third of its timeout, requests with callbacks, watch events. You should not
# need to change it. Replies are bodies: check body["type"] == "error" and
# body.get("zk_error") ("NodeExists", "NoNode", "SessionExpired", ...).
# ---------------------------------------------------------------------------


class ZkSession:
    def __init__(self, servers, timeout_ms):
        self.servers = list(servers)
        self.server = None
        self.session = None
        self.timeout_ms = timeout_ms
        self.state = "connecting"  # connecting, connected, expired
        self.last_ok_ms = 0.0
        self._watchers = []  # (path, callback(event)) for watch events
        self._state_listeners = []
        self._pinger = None

    def connect(self, callback, tries=0):
        """Opens a session on one of the servers; callback(True) once connected, callback(False) after trying each a few times."""
        if tries >= 5 * len(self.servers):
            callback(False)
            return
        server = self.servers[tries % len(self.servers)]
        body = {"type": "connect", "timeout_ms": self.timeout_ms}
        if self.session is not None:
            body["session"] = self.session

        def done(reply):
            if reply is None or reply["type"] != "connect_ok":
                if reply is not None and reply.get("zk_error") == "SessionExpired":
                    self._set_state("expired")
                    callback(False)
                    return
                node.after(100, lambda: self.connect(callback, tries + 1))
                return
            self.server = server
            self.session = reply["session"]
            self.timeout_ms = reply["timeout_ms"]
            self.last_ok_ms = node.now_ms()
            self._set_state("connected")
            if self._pinger is None:
                self._pinger = node.every(max(50, self.timeout_ms // 3), self._ping)
            callback(True)

        node.rpc(server, body, done, timeout_ms=2000)

    def _ping(self):
        if self.state != "connected":
            return
        self.request("ping", {}, lambda reply: None)

    def request(self, kind, fields, callback):
        """Sends one request (create, delete, exists, get_data, set_data, get_children, ping) on this session."""
        if self.state == "expired":
            callback({"type": "error", "code": 14, "zk_error": "SessionExpired", "text": "session expired"})
            return
        body = {"type": kind, "session": self.session}
        body.update(fields)

        def done(reply):
            if reply is None:
                # No answer within two thirds of the timeout: move to another server, keeping the session.
                self._failover()
                callback({"type": "error", "code": 0, "zk_error": "ConnectionLoss", "text": "no reply"})
                return
            if reply.get("zk_error") == "SessionExpired":
                self._set_state("expired")
            elif reply["type"] != "error" or reply.get("zk_error") not in ("ConnectionLoss",):
                self.last_ok_ms = node.now_ms()
            callback(reply)

        node.rpc(self.server, body, done, timeout_ms=max(50, self.timeout_ms * 2 // 3))

    def _failover(self):
        if self.state != "connected":
            return
        self.state = "connecting"
        at = self.servers.index(self.server) if self.server in self.servers else 0
        self.servers = self.servers[at + 1:] + self.servers[:at + 1]
        self.connect(lambda ok: None)

    def on_watch(self, path, callback):
        """callback(event) for the next watch event on path (one-shot, like the watch itself). Returns a function that forgets it."""
        entry = (path, callback)
        self._watchers.append(entry)
        return lambda: entry in self._watchers and self._watchers.remove(entry)

    def on_state(self, callback):
        """callback(state) whenever the session's state changes; returns a function that forgets it."""
        self._state_listeners.append(callback)
        return lambda: callback in self._state_listeners and self._state_listeners.remove(callback)

    def deliver_watch(self, body):
        for entry in [w for w in self._watchers if w[0] == body.get("path")]:
            self._watchers.remove(entry)
            entry[1](body.get("event"))

    def _set_state(self, state):
        if self.state == state:
            return
        self.state = state
        if state == "expired" and self._pinger is not None:
            self._pinger.cancel()
            self._pinger = None
        for listener in list(self._state_listeners):
            listener(state)


# ---------------------------------------------------------------------------
# The resource (r1): the shared counter, and the fence.
# ---------------------------------------------------------------------------


class Resource:
    def __init__(self):
        self.counter = 0
        self.max_token = None  # the largest token of an accepted write
        self.max_seen = None  # the largest token of any accepted read or write
        self.observations = []  # what the checker judges (lock_report)
        self.dropped = 0

    def stale(self, token, is_write):
        """Why a request with this token must be refused, or None to accept it (only asked when fencing is on)."""
        # TODO (4): refuse a write whose token is not greater than max_token, a request
        # below max_seen, and one with no token.
        return None

    def record(self, msg, kind, value, accepted, reason=None):
        body = msg["body"]
        observation = {
            "kind": kind, "node": msg["src"], "round": body.get("round"), "incarnation": body.get("incarnation"),
            "token": body.get("token"), "at_ms": node.now_ms(), "value": value,
            "acquired_ms": body.get("acquired_ms"), "ttl_ms": body.get("ttl_ms"),
        }
        if kind == "write" or not accepted:
            observation["accepted"] = accepted
        if reason:
            observation["reason"] = reason
        if len(self.observations) < OBSERVATIONS_MAX:
            self.observations.append(observation)
        else:
            self.dropped += 1

    def seen(self, token, is_write):
        if token is None:
            return
        self.max_seen = token if self.max_seen is None else max(self.max_seen, token)
        if is_write:
            self.max_token = token if self.max_token is None else max(self.max_token, token)

    def handle_read(self, msg):
        token = msg["body"].get("token")
        reason = self.stale(token, False) if FENCING else None
        self.record(msg, "read", self.counter, reason is None, reason)
        if reason:
            node.reply_error(msg, PRECONDITION_FAILED, reason)
            return
        self.seen(token, False)
        node.reply(msg, {"type": "res_read_ok", "value": self.counter})
        self.report()

    def handle_write(self, msg):
        token = msg["body"].get("token")
        value = msg["body"].get("value")
        if not isinstance(value, int):
            node.reply_error(msg, MALFORMED_REQUEST, "value must be an integer")
            return
        reason = self.stale(token, True) if FENCING else None
        self.record(msg, "write", value, reason is None, reason)
        if reason:
            node.reply_error(msg, PRECONDITION_FAILED, reason)
            return
        self.counter = value
        self.seen(token, True)
        node.reply(msg, {"type": "res_write_ok"})
        self.report()

    def handle_report(self, msg):
        start = msg["body"].get("from") or 0
        page = self.observations[start:start + REPORT_PAGE_MAX]
        following = start + len(page) if start + len(page) < len(self.observations) else None
        node.reply(msg, {
            "type": "lock_report_ok", "counter_place": "resource", "fencing": FENCING, "counter": self.counter,
            "max_token": self.max_token, "observations": page, "dropped": self.dropped,
            "total": len(self.observations), "next": following,
        })

    def report(self):
        node.report_state(role="resource", counter=self.counter, max_token=self.max_token)


# ---------------------------------------------------------------------------
# A contender (k1..kN): rounds of acquire, read, work, write one more, release.
# ---------------------------------------------------------------------------


class Contender:
    def __init__(self, servers, resource):
        self.servers = servers
        self.resource = resource
        self.zk = None
        self.rounds_left = 0
        self.round = 0
        self.running = False
        self.state = "idle"
        self.incarnation = "%08x" % random.getrandbits(32)
        self.acked = 0

    def report(self):
        node.report_state(role="contender", lock_state=self.state, rounds_left=self.rounds_left, acked=self.acked)

    def set_state(self, state):
        self.state = state
        self.report()

    def run(self, rounds):
        self.rounds_left += rounds
        self.report()
        if not self.running:
            self.running = True
            self.next_round()

    def next_round(self, pause_ms=0):
        if self.rounds_left <= 0:
            self.running = False
            self.set_state("idle")
            return
        self.rounds_left -= 1
        self.round += 1
        node.after(pause_ms, self.start_round)

    def start_round(self):
        self.set_state("waiting")
        if self.zk is None or self.zk.state == "expired":
            # A new session for each round after the last one expired: a contender goes on as a new client.
            self.zk = ZkSession(self.servers, TTL_MS)
            self.zk.connect(lambda ok: self.acquire() if ok else self.failed("cannot connect to the coordinator"))
            return
        self.acquire()

    def failed(self, why):
        node.log("round %d failed: %s" % (self.round, why))
        self.set_state("idle")
        self.next_round(FAILED_ROUND_PAUSE_MS)

    def fields(self, token, acquired_ms):
        return {"round": self.round, "incarnation": self.incarnation, "token": token, "acquired_ms": acquired_ms, "ttl_ms": self.zk.timeout_ms}

    def acquire(self):
        """Takes the lock, then calls self.holding(path, token); on failure self.failed(why)."""
        zk = self.zk
        # TODO (1): the ZooKeeper lock recipe (see the top of this file and the README).
        self.failed("acquire is not written yet")

    def may_write(self):
        """Whether the holder may still trust its lock before it writes."""
        # TODO (2): not once the session expired, or its server has been silent for 2/3 of the timeout.
        return True

    def release(self, path, then):
        """Gives the lock up, then calls then()."""
        # TODO (3): delete your lock node.
        then()

    def holding(self, path, token):
        """The critical section: read the counter, work HOLD_MS, write it plus one (if the lock can still be trusted), release."""
        acquired_ms = node.now_ms()
        self.set_state("holding")

        def done():
            self.set_state("releasing")
            self.release(path, lambda: self.next_round())

        def written(reply):
            if reply is not None and reply["type"] == "res_write_ok":
                self.acked += 1
            elif reply is not None and reply.get("code") == PRECONDITION_FAILED:
                node.log("write rejected: %s" % reply.get("text"))
            else:
                node.log("write failed: %s" % (reply and reply.get("text")))
            done()

        def worked(value):
            if not self.may_write():
                node.log("stopped before writing: the session can no longer be trusted")
                return done()
            self.set_state("writing")
            body = {"type": "res_write", "value": value + 1}
            body.update(self.fields(token, acquired_ms))
            node.rpc(self.resource, body, written, timeout_ms=RESOURCE_TIMEOUT_MS)

        def read(reply):
            if reply is None or reply["type"] != "res_read_ok":
                node.log("read failed: %s" % (reply and reply.get("text")))
                return done()
            value = reply["value"]
            node.after(HOLD_MS, lambda: worked(value))

        body = {"type": "res_read"}
        body.update(self.fields(token, acquired_ms))
        node.rpc(self.resource, body, read, timeout_ms=RESOURCE_TIMEOUT_MS)


# ---------------------------------------------------------------------------
# Wiring: the part this process plays.
# ---------------------------------------------------------------------------

parts = {}


def on_init():
    groups = node.init_body.get("dslab_groups", {})
    if GROUP == "resource":
        parts["resource"] = Resource()
        parts["resource"].report()
    else:
        servers = groups.get("coordinator") or []
        resource = (groups.get("resource") or ["r1"])[0]
        parts["contender"] = Contender(servers, resource)
        parts["contender"].report()


def on_lock_run(msg):
    rounds = msg["body"].get("rounds")
    if not isinstance(rounds, int) or rounds < 1:
        node.reply_error(msg, MALFORMED_REQUEST, "rounds must be a positive integer")
        return
    parts["contender"].run(rounds)
    node.reply(msg, {"type": "lock_run_ok", "rounds_left": parts["contender"].rounds_left})


def on_watch_event(msg):
    contender = parts.get("contender")
    if contender and contender.zk and msg["body"].get("session") in (None, contender.zk.session):
        contender.zk.deliver_watch(msg["body"])


def on_session_expired(msg):
    contender = parts.get("contender")
    if contender and contender.zk and msg["body"].get("session") == contender.zk.session:
        contender.zk._set_state("expired")


node.on_init(on_init)
if GROUP == "resource":
    node.on("res_read", lambda msg: parts["resource"].handle_read(msg))
    node.on("res_write", lambda msg: parts["resource"].handle_write(msg))
    node.on("lock_report", lambda msg: parts["resource"].handle_report(msg))
else:
    node.on("lock_run", on_lock_run)
    node.on("watch_event", on_watch_event)
    node.on("session_expired", on_session_expired)
node.run()
