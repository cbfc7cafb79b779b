#!/usr/bin/python3
"""One round of a dslab lock contender, through kazoo's Lock recipe.

`dslab up locks --backend zk --recipe kazoo` runs this script once per round
for every contender (with Debian's /usr/bin/python3, which sees
python3-kazoo). It connects to the ensemble in DSLAB_ZK_CONNECT, takes
kazoo's Lock on /dslab-kazoo-lock, and speaks in lines:

    stdout  held TOKEN     it holds the lock; TOKEN is the sequence number
                           of its lock znode (the fencing token)
    stdin   release        the contender's section is done: let go
    stdout  released       it let go
    stdout  lost STATE     its connection was suspended or its session lost
                           while it held the lock: it may no longer hold it

An end of standard input counts as `release`. Anything else it prints
(kazoo's log) goes to standard error.
"""
import os
import re
import sys
import threading

from kazoo.client import KazooClient, KazooState

lock_path = "/dslab-kazoo-lock"
# A connect attempt gives up after this long (the contender also kills a round that never holds).
connect_timeout_s = 30.0
# kazoo's default session timeout when the contender names no TTL.
session_timeout_s_default = 10.0


def say(line, lock=threading.Lock()):
    # The listener thread and the main one both print: one whole line at a time.
    with lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def main():
    hosts = os.environ.get("DSLAB_ZK_CONNECT")
    if not hosts:
        sys.stderr.write("DSLAB_ZK_CONNECT is not set: the cluster's Zab servers have no client ports\n")
        return 2
    ttl_ms = os.environ.get("DSLAB_LOCK_TTL_MS", "")
    timeout_s = int(ttl_ms) / 1000 if ttl_ms.isdigit() else session_timeout_s_default
    client = KazooClient(hosts=hosts, timeout=timeout_s)
    client.start(timeout=connect_timeout_s)
    holding = threading.Event()
    lost = threading.Event()

    def on_state(state):
        # Suspended: the connection dropped and the session may expire unseen; a careful holder stops.
        if state != KazooState.CONNECTED and holding.is_set() and not lost.is_set():
            lost.set()
            say("lost " + str(state).lower())

    client.add_listener(on_state)
    lock = client.Lock(lock_path, os.environ.get("DSLAB_CONTENDER", ""))
    lock.acquire()
    holding.set()
    say("held %d" % int(re.search(r"(\d+)$", lock.node).group(1)))
    sys.stdin.readline()
    holding.clear()
    try:
        lock.release()
    except Exception as error:  # the session is gone: so is the node
        sys.stderr.write("release: %s\n" % error)
    if not lost.is_set():
        say("released")
    client.stop()
    client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
