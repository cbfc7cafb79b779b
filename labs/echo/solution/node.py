#!/usr/bin/env python3
"""dslab lab: echo (warm-up). Reference solution.

It loads the starter (../starter/python/node.py, which imports the plumbing
all Python starters share: labs/_shared/python/dslab_node.py, the Node class
and its message loop) and fills in the one handler the starter leaves as a
TODO, so it also proves that plumbing gets full marks.

    dslab grade echo --bin "python3 labs/echo/solution/node.py"
"""
import importlib.util
import os

_starter_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "starter", "python", "node.py")
_spec = importlib.util.spec_from_file_location("echo_starter", _starter_path)
starter = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(starter)
node = starter.node


def handle_echo(msg):
    node.reply(msg, {"type": "echo_ok", "echo": msg["body"].get("echo")})


node.on("echo", handle_echo)

if __name__ == "__main__":
    node.run()
