#!/usr/bin/env python3
"""dslab labs: raft-election, raft-replication, raft-persistence, raft-snapshots, kv-linearizable. Starter code.

Python 3 standard library only, one file. The first part (class Node) is the
message plumbing: reading stdin, init/init_ok, send/reply, RPCs, timers, state
reports. Then comes a key-value state machine (KVStore) and a Raft class whose
methods are empty: that is your work. The four Raft labs (raft-election,
raft-replication, raft-persistence, raft-snapshots) build ONE implementation
step by step, and kv-linearizable grades the finished store; `dslab lab init`
gives this same file for each of them, so keep working in the file you
started with.

Play with it live, then grade it (from this folder):

    dslab up raft --bin "python3 node.py" --nodes 5
    dslab grade raft-election --bin "python3 node.py"

Logs: anything you print to stderr (node.log(...)) shows in `dslab logs n1`.
Never print to stdout: stdout is the network.

README.md next to this file is the README of the lab you started with;
labs/<lab>/README.md are the other labs' READMEs, copied with it
(`dslab lab show <lab>` prints any of them).

TODO for this lab (raft-election):
  1. load()/persist(): current_term and voted_for survive restarts (the tests
     restart nodes and check that terms never go backwards).
  2. on_election_timeout(): become candidate in current_term + 1, vote for
     yourself, persist, send request_vote to every peer, report().
  3. handle_request_vote(): a higher term makes you a follower in that term
     (voted_for = None); grant one vote per term, only to a candidate whose log
     is at least as up to date as yours; reset your timer when you grant.
  4. handle_request_vote_ok(): a majority of votes (yourself included) in the
     current term -> leader; report(); heartbeat at once.
  5. on_heartbeat_tick()/handle_append_entries(): the leader's heartbeats keep
     followers from starting elections; any message with a higher term makes
     the receiver a follower.
  6. PreVote and CheckQuorum, so a node that was cut off cannot depose a
     healthy leader when it comes back (test rejoining-node-does-not-disrupt).
  Read labs/raft-election/README.md for the messages, hints and tests.

TODO for this lab (raft-replication), on top of your raft-election code:
  1. handle_client(): the leader appends {term, op} to its log and replies
     once the entry is committed and applied; others answer error 11 with
     "leader" (already written below).
  2. A new leader appends a no-op entry in its own term, so it can commit
     what earlier leaders left behind (Figure 8).
  3. append_entries carries prev_log_index, prev_log_term, entries and
     leader_commit; followers reject on a mismatch, delete conflicting entries
     (and only those), append, and advance commit_index.
  4. The leader tracks next_index/match_index per follower and commits an
     index replicated on a majority, only if that entry is from its term.
  5. apply_committed(): apply in index order, node.report_apply(...) for each.
  6. Back up fast over conflicts (a conflict term/index hint in the reply) and
     send entries in batches.
  7. Exactly-once writes by (client, seq) in KVStore; linearizable reads.
  Read labs/raft-replication/README.md for the messages, hints and tests.

TODO for this lab (raft-persistence), on top of your raft-replication code:
  1. persist(): current_term, voted_for AND the log, fsynced, before any vote,
     append_entries_ok or client reply that depends on them leaves the node
     (set self.dirty = True on every change; persist_if_dirty runs before
     messages are written).
  2. load(): restore them on start; commit_index and the key-value state are
     rebuilt by re-applying the log once the leader tells you what is
     committed (or from your snapshot, later).
  3. Survive the Figure 8 scenario: never count replicas to commit an entry
     from an earlier term.
  4. Stay correct with lost, duplicated, reordered and delayed messages:
     ignore stale replies, make handlers idempotent.
  Read labs/raft-persistence/README.md for the messages, hints and tests.

TODO for this lab (raft-snapshots), on top of your raft-persistence code:
  1. Every SNAPSHOT_EVERY applied entries (option snapshot_every), take a
     snapshot: KVStore.snapshot() (with the dedupe table) plus the index and
     term of the last entry it covers; persist it; drop the log up to it.
  2. Keep index arithmetic right once log[0] is no longer index 1: one helper
     for "entry at index i" and "term at index i" (the snapshot's last
     included index/term count as the entry before the first one you keep).
  3. A leader whose next_index for a follower is at or below its snapshot
     index sends install_snapshot; the follower replaces its state machine and
     log (keeping entries after the snapshot if they match), persists, replies.
  4. Restart from snapshot + remaining log; a crash in the middle of
     installing a snapshot must leave a usable state.
  Read labs/raft-snapshots/README.md for the messages, hints and tests.

TODO for this lab (kv-linearizable): it grades the store you built in the
four Raft labs, under partitions, crashes, pauses and lossy links, with a
linearizability checker. If you are starting here, work through the Raft labs'
TODO lists first (each lab's README in labs/). Then make sure that:
  1. reads are linearizable: through the log, or ReadIndex (confirm
     leadership with a heartbeat round after committing an entry of your term);
     never answer a read from a leader that may have been deposed;
  2. writes apply exactly once by (client, seq), including after a snapshot;
  3. a write you cannot vouch for gets no reply or an indefinite error
     (0 timeout, 13 crash), never error 11 (which says "it did not happen").
  Read labs/kv-linearizable/README.md for the messages, hints and tests.
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
# Options. dslab passes them in env DSLAB_OPTIONS (node.options); some tests set
# their own (e.g. slow elections, snapshot_every 50), so always use these.
# ---------------------------------------------------------------------------

node = Node()


def _option(name, default):
    value = node.options.get(name)
    return value if isinstance(value, (int, float)) and value >= 0 else default


ELECTION_TIMEOUT_MS_MIN = _option("election_timeout_ms_min", 300)
ELECTION_TIMEOUT_MS_MAX = max(_option("election_timeout_ms_max", 600), ELECTION_TIMEOUT_MS_MIN)
HEARTBEAT_INTERVAL_MS = _option("heartbeat_interval_ms", 75)
SNAPSHOT_EVERY = int(_option("snapshot_every", 0))  # applied entries between snapshots; 0: never

STATE_FILE = os.path.join(node.data_dir, "raft-state.json")


# ---------------------------------------------------------------------------
# The state machine Raft replicates: a key-value store with Maelstrom's lin-kv
# operations. apply() turns one committed operation into the reply body for the
# client. Deterministic: every replica that applies the same operations in the
# same order ends up in the same state and computes the same replies.
# ---------------------------------------------------------------------------


class KVStore:
    def __init__(self):
        self.data = {}
        # TODO (raft-replication / kv-linearizable): exactly-once writes.
        # Client writes carry "client" and "seq"; a retry reuses the same seq.
        # Remember, per client, the last seq applied and its reply, so that a
        # duplicate entry is not applied twice and its retry gets the same reply.

    def apply(self, op):
        kind = op.get("type")
        key = op.get("key")
        if kind == "read":
            if key not in self.data:
                return {"type": "error", "code": KEY_DOES_NOT_EXIST, "text": "no such key"}
            return {"type": "read_ok", "value": self.data[key]}
        if kind == "write":
            self.data[key] = op.get("value")
            return {"type": "write_ok"}
        if kind == "cas":
            if key not in self.data:
                if op.get("create_if_not_exists"):
                    self.data[key] = op.get("to")
                    return {"type": "cas_ok"}
                return {"type": "error", "code": KEY_DOES_NOT_EXIST, "text": "no such key"}
            if self.data[key] != op.get("from"):
                return {"type": "error", "code": PRECONDITION_FAILED,
                        "text": "expected %s, found %s" % (json.dumps(op.get("from")), json.dumps(self.data[key]))}
            self.data[key] = op.get("to")
            return {"type": "cas_ok"}
        if kind == "delete":
            self.data.pop(key, None)
            return {"type": "delete_ok"}
        return {"type": "error", "code": NOT_SUPPORTED, "text": "unknown operation %r" % kind}

    def snapshot(self):
        """A JSON-able copy of the whole state (for raft-snapshots). Include your dedupe table.

        Pairs rather than a dict: JSON object keys are always strings, so a
        dict would turn an integer key 3 into "3" on the way through the disk.
        """
        return {"data": [[k, v] for k, v in self.data.items()]}

    @classmethod
    def restore(cls, snap):
        kv = cls()
        kv.data = {k: v for k, v in snap["data"]}
        return kv


# ---------------------------------------------------------------------------
# Raft. Everything below is yours to write; the structure is a suggestion.
# ---------------------------------------------------------------------------


class Raft:
    def __init__(self):
        # Persistent state (must survive a crash: save it before you answer
        # anyone who depends on it).
        self.current_term = 0
        self.voted_for = None
        self.log = []  # TODO: your entries, e.g. {"term": 3, "op": {...}}; Raft indexes start at 1

        # Volatile state.
        self.role = "follower"  # "follower" | "candidate" | "leader"
        self.leader = None  # the leader of current_term, when known
        self.commit_index = 0
        self.last_applied = 0
        self.kv = KVStore()

        self.election_timer = None
        self.dirty = False  # set when persistent state changed; see persist_if_dirty

    # -- start-up and reporting ---------------------------------------------

    def start(self):
        """Called once on init, before init_ok goes out."""
        self.load()
        self.report()  # after load: a restarted node must not report term 0 again
        self.reset_election_timer()
        node.every(HEARTBEAT_INTERVAL_MS, self.on_heartbeat_tick)
        node.before_flush(self.persist_if_dirty)

    def report(self):
        """Sends the state the grader reads. Call after every change of role, term, leader or commit_index.

        role, term and commit_index are required; change role and term together,
        then call this once (a report of role=leader with a new term that was
        not won would count as a second leader in that term).
        """
        node.report_state(
            role=self.role,
            term=self.current_term,
            leader=self.leader,
            commit_index=self.commit_index,
            last_applied=self.last_applied,
            log_last_index=len(self.log),  # TODO: adjust once the log is compacted (raft-snapshots)
        )

    # -- persistence ----------------------------------------------------------

    def load(self):
        """Restores persistent state from node.data_dir after a restart."""
        saved = read_json(STATE_FILE)
        if saved is None:
            return
        # TODO (raft-election, raft-persistence): restore current_term, voted_for
        # and the log (and, once you have snapshots, the latest snapshot).

    def persist(self):
        """Writes persistent state to disk (fsync) before anyone is told about it."""
        # TODO (raft-election, raft-persistence): save current_term, voted_for
        # and the log, e.g. write_json_atomic(STATE_FILE, {...}). That rewrites
        # the whole file each time: simple, and fast enough for these tests once
        # the log is compacted; an append-only file is faster if you want it.
        pass

    def persist_if_dirty(self):
        # Runs before buffered messages are written: set self.dirty = True when
        # persistent state changes, and it is saved once per batch, before any
        # vote, reply or acknowledgement that depends on it leaves this node.
        if self.dirty:
            self.persist()
            self.dirty = False

    # -- timers ---------------------------------------------------------------

    def reset_election_timer(self):
        if self.election_timer is not None:
            self.election_timer.cancel()
        timeout_ms = random.uniform(ELECTION_TIMEOUT_MS_MIN, ELECTION_TIMEOUT_MS_MAX)
        self.election_timer = node.after(timeout_ms, self.on_election_timeout)

    def on_election_timeout(self):
        # TODO (raft-election): no leader heard from in time. Start an election
        # (or a PreVote round first): become candidate in a new term, vote for
        # yourself, persist, ask every peer for a vote, report(), and restart
        # the timer in case this election fails too.
        self.reset_election_timer()

    def on_heartbeat_tick(self):
        # TODO (raft-election, raft-replication): as leader, send append_entries
        # to every peer (empty as a heartbeat, or the entries it is missing).
        # CheckQuorum: a leader that has not heard from a majority for an
        # election timeout steps down.
        pass

    # -- messages between nodes -------------------------------------------------
    # Send them with node.send(peer, {...}); answer with node.send(msg["src"], {...})
    # as a separate "..._ok" message. Raft copes with lost messages by itself, so
    # no msg_id or RPC timeout is needed. Every message should carry your term.

    def handle_request_vote(self, msg):
        # TODO (raft-election): grant at most one vote per term, only to a
        # candidate whose log is at least as up to date as yours.
        pass

    def handle_request_vote_ok(self, msg):
        # TODO (raft-election): count votes for the current term; a majority of
        # all nodes (yourself included) makes you leader.
        pass

    def handle_append_entries(self, msg):
        # TODO (raft-election): accept the leader of your term (or a newer one),
        # reset the election timer, reply.
        # TODO (raft-replication): check prev_log_index/prev_log_term, drop
        # conflicting entries, append, advance commit_index, apply.
        pass

    def handle_append_entries_ok(self, msg):
        # TODO (raft-replication): update match/next index for the follower,
        # advance commit_index (current-term entries only), apply, answer clients.
        pass

    def handle_install_snapshot(self, msg):
        # TODO (raft-snapshots)
        pass

    def handle_install_snapshot_ok(self, msg):
        # TODO (raft-snapshots)
        pass

    # -- clients ----------------------------------------------------------------

    def handle_client(self, msg):
        """read, write, cas and delete from clients."""
        if self.role != "leader":
            extra = {"leader": self.leader} if self.leader and self.leader != node.node_id else {}
            node.reply_error(msg, TEMPORARILY_UNAVAILABLE, "not the leader", **extra)
            return
        # TODO (raft-replication): append the operation to the log, replicate it,
        # and reply only once it is committed and applied (apply_committed).
        # Reads must be linearizable too: put them through the log, or use ReadIndex.
        node.reply_error(msg, TEMPORARILY_UNAVAILABLE, "not implemented yet")

    def apply_committed(self):
        # TODO (raft-replication): while last_applied < commit_index, apply the
        # next entry: result = self.kv.apply(op); node.report_apply(index, term, op);
        # if this node's client is waiting for that entry, node.reply(request, result).
        pass


raft = Raft()
node.on_init(raft.start)
node.on("request_vote", raft.handle_request_vote)
node.on("request_vote_ok", raft.handle_request_vote_ok)
node.on("append_entries", raft.handle_append_entries)
node.on("append_entries_ok", raft.handle_append_entries_ok)
node.on("install_snapshot", raft.handle_install_snapshot)
node.on("install_snapshot_ok", raft.handle_install_snapshot_ok)
# Add more as you need them (e.g. "pre_vote", "pre_vote_ok").
for client_op in ("read", "write", "cas", "delete"):
    node.on(client_op, raft.handle_client)

if __name__ == "__main__":
    node.run()
