#!/usr/bin/env python3
"""dslab lab: circuit-breaker. Starter code.

Python 3 standard library only, one file. dslab starts this program as every
service (s1..sN). Clients send a service `call`; the service does the work by
calling the dependency d1 (`work`), which dslab makes fail, slow down or hang.
The first part (class Node) is the message plumbing. Then come the options,
the four parts that are yours (marked TODO), and the service itself: the
request's path through the breaker, the bulkhead and the retries, the replies,
the state reports and the notes, all given.

Grade it (from this folder):

    dslab grade circuit-breaker --bin "python3 node.py"
    dslab grade circuit-breaker --bin "python3 node.py" --only opens-on-errors

Logs: anything you print to stderr (node.log(...)) shows in `dslab logs s1`.
Never print to stdout: stdout is the network.

TODO:
  1. Window: the outcomes of recent calls, over the last WINDOW_CALLS calls
     (WINDOW_KIND "count") or the last WINDOW_MS milliseconds in
     WINDOW_BUCKETS buckets ("time"). Old outcomes must leave it.
  2. Breaker: closed -> open when the window holds at least MIN_CALLS calls
     and the failure rate or the slow-call rate reaches its threshold; open ->
     half_open once OPEN_WAIT_MS passed; half_open admits exactly
     HALF_OPEN_CALLS trial calls, reopens at once on a failed (or timed-out,
     or slow) trial, and closes when all of them succeeded.
  3. Bulkhead: at most BULKHEAD_MAX calls to d1 in flight; the rest rejected.
  4. RetryBudget: whether a failed attempt may be retried, and after how long:
     at most RETRIES_MAX retries, exponential backoff with full jitter, and
     retries in the last RETRY_BUDGET_WINDOW_MS no more than
     RETRY_BUDGET_PCT percent of the requests in it (plus
     RETRY_BUDGET_MIN_PER_S a second). RETRY_BUDGET_PCT None: no budget.
  Read README.md, next to this file, for the messages and the tests.
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
# Options (env DSLAB_OPTIONS): the tests set their own, so always use these.
# Absent ones take dslab's defaults.
# ---------------------------------------------------------------------------

node = Node()


def option(name, default):
    value = node.options.get(name)
    return default if value is None else value


BREAKER_ENABLED = option("breaker_enabled", True) is not False
WINDOW_KIND = option("breaker_window_kind", "time")  # "count" or "time"
WINDOW_CALLS = int(option("breaker_window_calls", 100))
WINDOW_MS = int(option("breaker_window_ms", 10000))
WINDOW_BUCKETS = int(option("breaker_window_buckets", 10))
MIN_CALLS = int(option("breaker_min_calls", 10))
FAILURE_RATE_PCT = float(option("breaker_failure_rate_pct", 50))
SLOW_RATE_PCT = float(option("breaker_slow_rate_pct", 100))
SLOW_CALL_MS = int(option("breaker_slow_call_ms", 1000))
OPEN_WAIT_MS = int(option("breaker_open_wait_ms", 5000))
HALF_OPEN_CALLS = int(option("breaker_half_open_calls", 1))
CALL_TIMEOUT_MS = int(option("breaker_call_timeout_ms", 2000))

BULKHEAD_KIND = option("breaker_bulkhead_kind", "semaphore")  # "semaphore", or "none": no bound
BULKHEAD_MAX = int(option("breaker_bulkhead_max", 10))

RETRIES_MAX = int(option("breaker_retries_max", 2))
BACKOFF_MS_BASE = int(option("breaker_backoff_ms_base", 50))
BACKOFF_MS_MAX = int(option("breaker_backoff_ms_max", 1000))
JITTER = option("breaker_jitter", "full")  # "full" or "none"
# null (None) means no budget: naive retries. Absent means dslab's default budget.
RETRY_BUDGET_PCT = node.options["breaker_retry_budget_pct"] if "breaker_retry_budget_pct" in node.options else 10
RETRY_BUDGET_MIN_PER_S = float(option("breaker_retry_budget_min_per_s", 1))
RETRY_BUDGET_WINDOW_MS = int(option("breaker_retry_budget_window_ms", 10000))

FALLBACK = option("breaker_fallback", False) is True


def now_ms():
    """Milliseconds on a clock that only goes forward: measure every duration with it."""
    return time.monotonic() * 1000


# ---------------------------------------------------------------------------
# 1. The window (TODO)
# ---------------------------------------------------------------------------

class Window:
    """The outcomes of the recent calls the breaker judges by.

    Each recorded call is a failure or not, and slow or not (a call that took
    SLOW_CALL_MS or more, success or failure). "count": the last WINDOW_CALLS
    calls. "time": the calls of the last WINDOW_MS, kept in WINDOW_BUCKETS
    buckets of WINDOW_MS / WINDOW_BUCKETS each, so a whole bucket leaves at once.
    """

    def __init__(self):
        # TODO: what you keep.
        pass

    def record(self, now, failed, slow):
        # TODO: add one call's outcome (and, for a count window, let the oldest go).
        pass

    def snapshot(self, now):
        """(calls, failures, slow) over the window as it is at `now`."""
        # TODO: the counts, without the outcomes that have left the window.
        return (0, 0, 0)

    def clear(self):
        # TODO: forget everything (the breaker starts afresh when it closes).
        pass


# ---------------------------------------------------------------------------
# 2. The breaker (TODO)
# ---------------------------------------------------------------------------

class Breaker:
    """closed, open or half_open, moved only through self._move (given)."""

    def __init__(self):
        self.window = Window()
        self.current = "closed"
        self.since = now_ms()
        # TODO: what else you keep (the trial calls let in, and how many succeeded).

    def state(self, now):
        """The state at `now`. An open breaker turns half_open here, once OPEN_WAIT_MS passed."""
        # TODO: open -> half_open after the wait; say so with
        #   self._move(now, "half_open", "half-open after %s open" % seconds(OPEN_WAIT_MS))
        return self.current

    def try_acquire(self, now):
        """May a call go to d1 now? (admitted, trial): trial is True for a half-open trial call."""
        if not BREAKER_ENABLED:
            return (True, False)
        # TODO: closed admits; open refuses; half_open admits only HALF_OPEN_CALLS trials
        # however many requests arrive while they are in flight.
        return (True, False)

    def on_result(self, now, result, duration_ms, trial):
        """An admitted call ended: result "success", "failure", "timeout" or "ignored" (a bad request)."""
        if not BREAKER_ENABLED:
            return
        # TODO: a timeout is a failure; an ignored call counts for nothing. Record it in
        # the window; when closed, open if the window says so:
        #   self._move(now, "open", opened_text(self.window.snapshot(now)))
        # When half_open (trial is True): a failed or slow trial reopens at once
        #   self._move(now, "open", "reopened: a trial call failed")
        # and all HALF_OPEN_CALLS trials succeeded closes it (window cleared):
        #   self._move(now, "closed", "closed: %d of %d trial calls succeeded" % (n, n))
        pass

    def cancel(self, trial):
        """An admitted call that was never made (the bulkhead refused it): give back its trial slot."""
        # TODO
        pass

    # -- given ---------------------------------------------------------------

    def _move(self, now, to, text):
        """Every change of state goes through here: it is what the grader and the dashboard see."""
        was = self.current
        self.current = to
        self.since = now
        on_transition(was, to, text)


def seconds(ms):
    return ("%g s" % (ms / 1000.0))


def opened_text(snapshot):
    """The words for an opening: "opened: 12 of 20 calls failed in the last 10 s (60% >= 50%)"."""
    calls, failures, slow = snapshot
    where = "in the last %s" % seconds(WINDOW_MS) if WINDOW_KIND == "time" else "of the last %d" % WINDOW_CALLS
    failure_pct = 100.0 * failures / calls if calls else 0
    if failure_pct >= FAILURE_RATE_PCT:
        return "opened: %d of %d calls failed %s (%d%% \u2265 %g%%)" % (failures, calls, where, round(failure_pct), FAILURE_RATE_PCT)
    return "opened: %d of %d calls were slower than %d ms %s (%d%% \u2265 %g%%)" % (slow, calls, SLOW_CALL_MS, where, round(100.0 * slow / calls if calls else 0), SLOW_RATE_PCT)


# ---------------------------------------------------------------------------
# 3. The bulkhead (TODO)
# ---------------------------------------------------------------------------

class Bulkhead:
    """At most BULKHEAD_MAX calls to d1 in flight at once (BULKHEAD_KIND "none": no bound)."""

    def __init__(self):
        self.in_use = 0

    def try_enter(self):
        """True when a permit was taken; False: rejected, at once."""
        # TODO
        return True

    def leave(self):
        """A call ended, whichever way (a reply, an error, a timeout): its permit comes back."""
        # TODO
        pass


# ---------------------------------------------------------------------------
# 4. The retry policy and its budget (TODO)
# ---------------------------------------------------------------------------

class RetryBudget:
    def __init__(self):
        # TODO: what you keep (recent requests, recent retries).
        pass

    def on_request(self, now):
        """A client request arrived: it feeds the budget."""
        # TODO
        pass

    def next_delay(self, now, failed_attempt):
        """After attempt number `failed_attempt` (1 for the first) failed: the delay in ms before the
        next attempt, or None to give up (RETRIES_MAX retries made, or the budget spent).

        The backoff: BACKOFF_MS_BASE * 2^(failed_attempt - 1), at most BACKOFF_MS_MAX; with
        JITTER "full", a uniformly random delay between 0 and that (random.uniform).
        """
        # TODO
        return None


# ---------------------------------------------------------------------------
# The service: given. A request's path: the breaker, then the bulkhead, then
# d1; on a failure, maybe a retry (through the breaker and the bulkhead again).
# ---------------------------------------------------------------------------

breaker = Breaker()
bulkhead = Bulkhead()
retries = RetryBudget()
DEPENDENCY = None  # d1, from init's dslab_groups

STATE_REPORT_MS = 1000


class Rates:
    """What the state reports say, per second, over the last report's interval."""

    def __init__(self):
        self.reset()
        self.in_flight = 0

    def reset(self):
        self.requests = self.short = self.rejected = self.fallback = self.dep_calls = self.retries = 0
        self.latencies = []


rates = Rates()


def on_init():
    global DEPENDENCY
    members = node.groups.get("dependency") or node.groups.get("redis") or []
    DEPENDENCY = members[0] if members else None
    node.every(STATE_REPORT_MS, report)
    node.after(0, report)  # the first report, right after init_ok


node.on_init(on_init)


def on_transition(was, to, text):
    node.log("breaker %s -> %s: %s" % (was, to, text))
    # The note is what `dslab events` and the dashboard show in words.
    node.send("dslab", {"type": "dslab_note", "text": text})
    report(every_field=False)


def report(every_field=True):
    now = now_ms()
    state = breaker.state(now)
    fields = {"breaker": state, "breaker_for_s": round((now - breaker.since) / 1000.0, 1)}
    if every_field:
        calls, failures, _slow = breaker.window.snapshot(now)
        per_s = 1000.0 / STATE_REPORT_MS
        latencies = sorted(rates.latencies)

        def quantile(q):
            return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))]) if latencies else None

        fields.update(
            error_pct=round(100.0 * failures / calls) if calls else 0,
            req_per_s=rates.requests * per_s,
            short_per_s=rates.short * per_s,
            rejected_per_s=rates.rejected * per_s,
            fallback_per_s=rates.fallback * per_s,
            p50_ms=quantile(0.5),
            p99_ms=quantile(0.99),
            dep_calls_per_s=rates.dep_calls * per_s,
            in_flight=rates.in_flight,
            retries_per_s=rates.retries * per_s,
        )
        rates.reset()
    node.report_state(**fields)


def on_call(msg):
    rates.requests += 1
    retries.on_request(now_ms())
    attempt(msg, 1, now_ms())


node.on("call", on_call)


def attempt(msg, number, started):
    """One attempt at the request: through the breaker and the bulkhead to d1."""
    now = now_ms()
    admitted, trial = breaker.try_acquire(now)
    # A retry refused here ends a request d1 already failed: that request failed.
    if not admitted:
        rates.short += 1
        return finish(msg, "short_circuited" if number == 1 else "failed", number - 1, started, "the breaker is %s" % breaker.state(now).replace("_", "-"))
    if not bulkhead.try_enter():
        breaker.cancel(trial)
        rates.rejected += 1
        return finish(msg, "rejected" if number == 1 else "failed", number - 1, started, "the bulkhead is full (%d calls in flight)" % bulkhead.in_use)
    if DEPENDENCY is None:
        bulkhead.leave()
        breaker.cancel(trial)
        return finish(msg, "failed", number, started, "no dependency in this cluster")
    body = {"type": "work", "key": msg["body"].get("key"), "attempt": number}
    if msg["body"].get("bad"):
        body["bad"] = True
    sent = now_ms()
    rates.dep_calls += 1
    rates.in_flight += 1

    def on_reply(reply):
        # Called with d1's answer, or None once CALL_TIMEOUT_MS passed without one.
        rates.in_flight -= 1
        bulkhead.leave()
        end = now_ms()
        if reply is None:
            result = "timeout"
        elif reply.get("type") == "work_ok":
            result = "success"
        elif reply.get("code") == MALFORMED_REQUEST:
            result = "ignored"
        else:
            result = "failure"
        breaker.on_result(end, result, end - sent, trial)
        if result == "success":
            return finish(msg, "ok", number, started)
        if result == "ignored":
            return finish(msg, "bad_request", number, started, reply.get("text") or "d1 refused the request as bad")
        delay = retries.next_delay(end, number)
        if delay is None:
            why = "d1 did not answer within %d ms" % CALL_TIMEOUT_MS if reply is None else "d1 answered error %s" % reply.get("code")
            return finish(msg, "failed", number, started, why)
        rates.retries += 1
        node.after(delay, lambda: attempt(msg, number + 1, started))

    node.rpc(DEPENDENCY, body, on_reply, timeout_ms=CALL_TIMEOUT_MS)


def finish(msg, outcome, attempts, started, text=""):
    """Answers the client. Every reply carries its outcome; a failure may be served a fallback instead."""
    rates.latencies.append(now_ms() - started)
    state = breaker.state(now_ms())
    if FALLBACK and outcome in ("failed", "short_circuited", "rejected"):
        rates.fallback += 1
        outcome = "fallback"
    if outcome in ("ok", "fallback"):
        return node.reply(msg, {"type": "call_ok", "outcome": outcome, "attempts": attempts, "breaker": state})
    if outcome == "bad_request":
        return node.reply_error(msg, MALFORMED_REQUEST, text, outcome=outcome)
    if outcome == "failed":
        return node.reply_error(msg, CRASH, text, outcome=outcome, attempts=attempts)
    node.reply_error(msg, TEMPORARILY_UNAVAILABLE, text, outcome=outcome)


node.run()
