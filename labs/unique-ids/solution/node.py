#!/usr/bin/env python3
"""dslab lab: unique-ids (warm-up). Reference solution.

It loads the starter (../starter/python/node.py, which imports the plumbing
all Python starters share from labs/_shared/python/dslab_node.py: the Node
class, read_json, write_json_atomic) and fills in what the starter leaves as
TODOs, so it also proves that plumbing gets full marks.

An id is "<node id>-<incarnation>-<counter>":
  - the node id makes ids from different nodes differ (no coordination);
  - the incarnation is a number stored in the node's data directory and
    increased, durably, every time the process starts, so a restarted node
    never reuses a (incarnation, counter) pair it used before its crash;
  - the counter counts ids within one incarnation, in memory only.
A crash can waste an incarnation number, never repeat one.

    dslab grade unique-ids --bin "python3 labs/unique-ids/solution/node.py"
"""
import importlib.util
import itertools
import os

_starter_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "starter", "python", "node.py")
_spec = importlib.util.spec_from_file_location("unique_ids_starter", _starter_path)
starter = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(starter)
node = starter.node

incarnation = None
counter = itertools.count()


def on_init():
    global incarnation
    state = starter.read_json(starter.STATE_FILE, {"incarnation": 0})
    incarnation = int(state["incarnation"]) + 1
    # Durable before the first id of this incarnation goes out.
    starter.write_json_atomic(starter.STATE_FILE, {"incarnation": incarnation})
    node.log("starting incarnation", incarnation)


def handle_generate(msg):
    node.reply(msg, {"type": "generate_ok", "id": "%s-%d-%d" % (node.node_id, incarnation, next(counter))})


node.on_init(on_init)
node.on("generate", handle_generate)

if __name__ == "__main__":
    node.run()
