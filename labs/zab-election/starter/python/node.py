#!/usr/bin/env python3
"""dslab labs: zab-election, zab-broadcast, zk-sessions. Starter code.

Python 3 standard library only, one file. The first part (class Node) is the
message plumbing: reading stdin, init/init_ok, send/reply, timers, state
reports. Then come the options, the durable state (two epochs and a txn log)
and a Zab class whose handlers are empty: that is your work. The three labs
build ONE implementation step by step; `dslab lab init` gives this same file
for each of them, so keep working in the file you started with.

Play with it live, then grade it (from this folder):

    dslab up zab --bin "python3 node.py" --nodes 5 --observers 1
    dslab grade zab-election --bin "python3 node.py"

Logs: anything you print to stderr (node.log(...)) shows in `dslab logs n1`.
Never print to stdout: stdout is the network.

README.md next to this file is the README of the lab you started with;
labs/<lab>/README.md are the other labs' READMEs.

TODO for this lab (zab-election):
  1. Fast Leader Election: on_look() votes for yourself and notifies every
     voter; handle_notification() adopts better votes (better_vote: epoch,
     then zxid, then server id), follows rounds, and decides once a quorum
     agrees and finalize_wait_ms passed with no better vote. Joining a running
     ensemble: FOLLOWING/LEADING notifications from a quorum naming one leader.
  2. Discovery: followerinfo -> leaderinfo (new epoch) -> ackepoch; persist
     accepted_epoch before ACKEPOCH, current_epoch before acknowledging
     NEWLEADER; report established only with a quorum's acknowledgement.
  3. Synchronization by DIFF, newleader, ack, uptodate.
  4. Pings; the sync limit sends a silent follower, or a leader without its
     quorum, back to looking.
  5. create through the leader: proposal, ack, commit; deliver() reports
     dslab_apply and answers the waiting client.
  Read labs/zab-election/README.md for the messages, hints and tests.

TODO for this lab (zab-broadcast), on top of your zab-election code:
  1. Choose DIFF, TRUNC (then DIFF) or SNAP for each joining follower by
     ZooKeeper's rules; apply each on the follower; report sync_mode.
  2. Persist (fsync) every txn before its ACK; survive restarts from the log.
  3. Snapshots every snapshot_every delivered txns; SNAP sends one.
  4. Proposals reach a follower from the moment you synchronized it.
  Read labs/zab-broadcast/README.md.

TODO for this lab (zk-sessions), on top of your zab-broadcast code:
  1. The data tree (ZkTree below is a flat map): znodes, stat, ephemeral and
     sequential nodes, applied from committed txns.
  2. Sessions: connect, ping, close_session, expiry by the leader as a txn.
  3. Watches: one-shot, fired when the txn is applied, before any read reply
     that reflects it.
  Read labs/zk-sessions/README.md.
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
# Options (env DSLAB_OPTIONS). Some tests set their own (tick_ms, observers,
# snapshot_every), so always use these.
# ---------------------------------------------------------------------------

node = Node()


def _option(name, default):
    value = node.options.get(name)
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0 else default


TICK_MS = _option("tick_ms", 100)
SYNC_LIMIT_MS = TICK_MS * _option("sync_limit_ticks", 5)
INIT_LIMIT_MS = TICK_MS * _option("init_limit_ticks", 10)
PING_INTERVAL_MS = TICK_MS / 2
FINALIZE_WAIT_MS = _option("finalize_wait_ms", 100)
NOTIFY_MS_MIN = _option("notification_interval_ms_min", 100)
NOTIFY_MS_MAX = max(_option("notification_interval_ms_max", 800), NOTIFY_MS_MIN)
SNAPSHOT_EVERY = int(_option("snapshot_every", 0))  # zab-broadcast; 0: never


def observer_ids(node_ids):
    """The observers: the last N ids (option observers: N) or the listed ids."""
    given = node.options.get("observers", 0)
    if isinstance(given, list):
        return set(str(x) for x in given)
    if isinstance(given, int) and not isinstance(given, bool) and given > 0:
        return set(node_ids[-given:])
    return set()


# ---------------------------------------------------------------------------
# Zxids: (epoch, counter) tuples compare the way zxids do; dslab shows them as
# "epoch:counter".
# ---------------------------------------------------------------------------

ZXID_ZERO = (0, 0)


def fmt_zxid(z):
    return "%d:%d" % (z[0], z[1])


def parse_zxid(text):
    epoch, counter = text.split(":")
    return (int(epoch), int(counter))


# ---------------------------------------------------------------------------
# Durable state. Two epochs in two files (ZooKeeper keeps acceptedEpoch and
# currentEpoch apart), and the txn log. write_json_atomic fsyncs; a whole-file
# rewrite is simple and fast enough at these sizes (an append-only log is
# faster, if you want one).
# ---------------------------------------------------------------------------

ACCEPTED_FILE = os.path.join(node.data_dir, "accepted-epoch.json")
CURRENT_FILE = os.path.join(node.data_dir, "current-epoch.json")
LOG_FILE = os.path.join(node.data_dir, "txn-log.json")
SNAPSHOT_FILE = os.path.join(node.data_dir, "snapshot.json")


class ZkTree:
    """The state machine the txns drive. zab-election/zab-broadcast: znodes as a
    flat map from path to data, filled by create txns. TODO (zk-sessions): the
    ZooKeeper data tree (parents, stat, ephemeral and sequential znodes)."""

    def __init__(self):
        self.data = {}

    def apply(self, txn):
        """Applies one committed txn; returns the client's reply body (without in_reply_to)."""
        if txn.get("type") == "create":
            path = txn["path"]
            if path in self.data:
                return {"type": "error", "code": 21, "zk_error": "NodeExists", "text": "%s already exists" % path}
            self.data[path] = txn.get("data", "")
            return {"type": "create_ok", "path": path}
        return {"type": "error", "code": NOT_SUPPORTED, "zk_error": "Unimplemented", "text": "unknown txn %r" % txn.get("type")}

    def snapshot(self):
        return {"data": self.data}

    @classmethod
    def restore(cls, image):
        tree = cls()
        tree.data = dict((image or {}).get("data", {}))
        return tree


class Zab:
    def __init__(self):
        # Durable (load() restores them; persist them before anyone is told).
        self.accepted_epoch = 0
        self.current_epoch = 0
        self.log = []  # [{"zxid": [e, c], "txn": {...}}], zxids increasing

        # Volatile.
        self.state = "looking"  # looking | following | leading | observing
        self.observer = False
        self.voters = []
        self.leader = None
        self.established = False
        self.committed = ZXID_ZERO
        self.delivered = 0  # txns delivered: the dslab_apply index of the last one
        self.sync_mode = None
        self.round = 0
        self.vote = None  # (leader, zxid, epoch) this server proposes or decided
        self.tree = ZkTree()
        self.waiting = {}  # (origin, request) -> the client's request, answered on delivery
        self.next_request = 0
        self.timers = []

    # -- start-up, reports, persistence --------------------------------------

    def start(self):
        """Called once on init, before init_ok goes out."""
        self.voters = [n for n in node.node_ids if n not in observer_ids(node.node_ids)]
        self.observer = node.node_id not in self.voters
        self.load()
        self.report()
        node.every(PING_INTERVAL_MS, self.on_tick)
        self.on_look("started")

    def load(self):
        self.accepted_epoch = read_json(ACCEPTED_FILE, 0)
        self.current_epoch = read_json(CURRENT_FILE, 0)
        self.log = [{"zxid": tuple(t["zxid"]), "txn": t["txn"]} for t in read_json(LOG_FILE, [])]
        # TODO (zab-broadcast): the snapshot, and the txns after it.

    def save_accepted_epoch(self):
        write_json_atomic(ACCEPTED_FILE, self.accepted_epoch)

    def save_current_epoch(self):
        write_json_atomic(CURRENT_FILE, self.current_epoch)

    def save_log(self):
        write_json_atomic(LOG_FILE, [{"zxid": list(t["zxid"]), "txn": t["txn"]} for t in self.log])

    def last_zxid(self):
        return self.log[-1]["zxid"] if self.log else ZXID_ZERO

    def sid(self, server):
        """Server ids break ties between equal votes: n1 is 1, n2 is 2, ..."""
        return node.node_ids.index(server) + 1

    def quorum(self):
        return len(self.voters) // 2 + 1

    def report(self):
        """The state the grader reads (see the README). Call after every change."""
        node.report_state(
            role=self.state,
            epoch=self.current_epoch,
            accepted_epoch=self.accepted_epoch,
            established=self.state == "leading" and self.established,
            leader=self.leader if self.state != "looking" else None,
            last_zxid=fmt_zxid(self.last_zxid()),
            committed_zxid=fmt_zxid(self.committed),
            sync_mode=self.sync_mode if self.state in ("following", "observing") else None,
            election_round=self.round,
        )

    # -- Fast Leader Election ---------------------------------------------------

    def better_vote(self, a, b):
        """Is vote a = (leader, zxid, epoch) better than b? Epoch, then zxid, then server id."""
        # TODO (zab-election)
        return False

    def on_look(self, reason):
        """(Back) to looking: a new round, a vote for yourself (voters only), notifications out."""
        node.log("looking:", reason)
        self.state = "looking"
        self.leader = None
        self.established = False
        self.round += 1
        # TODO (zab-election): vote for yourself (observers vote for nobody),
        # notify every voter, resend on a timer, report().
        self.report()

    def handle_notification(self, msg):
        # TODO (zab-election): see the README (rounds, better votes, quorum +
        # finalize wait, FOLLOWING/LEADING notifications from a running ensemble).
        pass

    # -- discovery and synchronization ------------------------------------------

    def handle_followerinfo(self, msg):
        pass  # TODO (zab-election): leader: a quorum's accepted epochs decide the new one

    def handle_leaderinfo(self, msg):
        pass  # TODO (zab-election): follower: accept a newer epoch, persist, ackepoch

    def handle_ackepoch(self, msg):
        pass  # TODO (zab-election): leader: a quorum -> currentEpoch; sync each follower

    def handle_sync(self, msg):
        pass  # TODO (zab-election: DIFF; zab-broadcast: TRUNC, SNAP)

    def handle_newleader(self, msg):
        pass  # TODO (zab-election): persist what you synced and currentEpoch, then ack

    def handle_ack(self, msg):
        pass  # TODO: NEWLEADER quorum -> established, uptodate; proposals -> commit

    def handle_uptodate(self, msg):
        pass  # TODO (zab-election): the follower starts serving

    # -- broadcast ---------------------------------------------------------------

    def handle_proposal(self, msg):
        pass  # TODO: append if it follows your last zxid, persist, ack

    def handle_commit(self, msg):
        pass  # TODO: deliver up to the zxid (only txns you have)

    def handle_inform(self, msg):
        pass  # TODO: observers: append and deliver

    def handle_ping(self, msg):
        pass  # TODO: note the leader is alive; answer with an ack

    def handle_request(self, msg):
        pass  # TODO: leader: propose a follower's forwarded txn

    def on_tick(self):
        # TODO: leader pings; sync limit and init limit checks; resends.
        pass

    def deliver(self, entry):
        """Applies one committed txn, reports it and answers its client if it waits here."""
        txn = entry["txn"]
        reply = self.tree.apply(txn)
        self.delivered += 1
        node.report_apply(self.delivered, entry["zxid"][0], {"zxid": fmt_zxid(entry["zxid"]), "type": txn.get("type"), "path": txn.get("path"), "data": txn.get("data")})
        request = self.waiting.pop((txn.get("origin"), txn.get("request")), None)
        if request is not None:
            node.reply(request, reply)

    # -- clients ------------------------------------------------------------------

    def not_serving(self, msg):
        extra = {"leader": self.leader} if self.leader else {}
        node.reply_error(msg, TEMPORARILY_UNAVAILABLE, "not serving: no established leader", zk_error="ConnectionLoss", **extra)

    def handle_connect(self, msg):
        """zab-election/zab-broadcast: any session name will do. TODO (zk-sessions): a
        create_session txn through the leader, answered once applied here."""
        self.next_request += 1
        node.reply(msg, {"type": "connect_ok", "session": "%s-%d" % (node.node_id, self.next_request), "timeout_ms": msg["body"].get("timeout_ms", 10000)})

    def handle_create(self, msg):
        """A client's write: proposed through the leader, answered once applied here (deliver)."""
        body = msg["body"]
        self.next_request += 1
        # origin names this process, so a restarted server never answers its past self's clients.
        txn = {"type": "create", "path": body.get("path"), "data": body.get("data", ""),
               "origin": "%s#%d" % (node.node_id, PROCESS_TAG), "request": self.next_request}
        if self.state == "leading" and self.established:
            pass  # TODO: propose txn
        elif self.state in ("following", "observing"):
            pass  # TODO: node.send(self.leader, {"type": "request", "txn": txn}) once you are up to date
        else:
            self.not_serving(msg)
            return
        node.reply_error(msg, TEMPORARILY_UNAVAILABLE, "not implemented yet", zk_error="ConnectionLoss")  # TODO: remove once proposing works
        # self.waiting[(txn["origin"], txn["request"])] = msg


PROCESS_TAG = random.randrange(2 ** 31)

zab = Zab()
node.on_init(zab.start)
for _type in ("notification", "followerinfo", "leaderinfo", "ackepoch", "sync", "newleader", "ack", "uptodate",
              "proposal", "commit", "inform", "ping", "request", "connect", "create"):
    node.on(_type, getattr(zab, "handle_" + _type))
# TODO (zk-sessions): "close_session", "delete", "set_data", "exists", "get_data", "get_children",
# "sync"; and clients' "ping" (handle_ping gets those too: a ping whose src is not in node.node_ids).

if __name__ == "__main__":
    node.run()
