"""How a virtual device reacts to commands and to time, interpreted from its product's data.

Device knowledge is data: a product lists ``behaviours`` in its catalog file and this module
interprets them generically; nothing here names a category. The functions are pure (no I/O, no clock, no
randomness): the runner passes the time in, so thousands of devices can be stepped cheaply and tests are
deterministic. Each returns only the codes whose value changed and never mutates its input.

Behaviour kinds (each a dict with ``kind`` and ``code`` unless said otherwise; ``while`` is always optional):

``mirror`` (implicit, never listed)
    A command on a code the device reports sets that status code to the commanded value.
``set_on_command``: ``{"when": {"code": c, "value": v | [v, ...]}, "set": {code: value}}``
    Derived changes when ``c`` is commanded (to ``v``, or to anything when ``value`` is absent). A ``set``
    value is a literal, ``"toggle"`` for a Boolean (flip it), or ``{"from": code}`` (copy another DP, rescaled
    between the two DPs' ``scale`` and clamped into range) - e.g. a curtain's ``stop`` holds it where it is.
``move_toward``: ``{"target": code | number, "rate_per_s": r, "direction": {"code", "up", "down"}}``
    The value approaches the target at ``r`` raw units per second and stops there (curtain position, a room
    temperature toward ``temp_set``). A target code with another scale is converted. ``direction`` keeps a
    motion-state DP (``work_state`` opening/closing) in step with the way it moves.
``countdown``: ``{"on_zero": {code: value}, "unit_s": 1}``
    Counts down one per ``unit_s`` seconds of elapsed time, then applies ``on_zero`` (Tuya's countdown_N
    flips its channel: ``{"switch_1": "toggle"}``).
``accumulate``: ``{"rate_per_s": r, "min": n, "max": n, "wrap": false}``
    Adds ``r`` raw units per second (negative drains, e.g. a battery), held inside ``min``..``max`` (the DP's
    range by default) or rolling over to ``min`` when ``wrap`` is true (an energy meter).
``follow``: ``{"while": {...}, "on": n, "off": 0, "jitter": n, "report_every_s": s}``
    The value is ``on`` while the condition holds and ``off`` otherwise (a socket's power and current follow
    its switch); while on, it wanders by up to ``jitter`` at each report.
``sensor``: ``{"mean", "amplitude", "period_s", "noise", "report_every_s"}``
    A plausible reading, ``mean + amplitude * sin(phase of period_s) + noise``, refreshed when a report is
    due.
``pick``: ``{"choices": [...], "weights": [...], "report_every_s": s}``
    At each report, one of ``choices`` (a door contact, a motion sensor's ``pir``/``none``).
``threshold``: ``{"source": code, "upper"/"lower": code | number, "above", "below", "normal", "otherwise"}``
    A state derived from comparing ``source`` with limits (literal limits are in the source's raw units; limit
    codes are rescaled): ``temp_alarm`` from ``va_temperature`` and ``maxtemp_set``. When ``while`` fails the
    value is ``otherwise`` if given, else left alone.

``while`` is ``{code: value | [values]}``; every entry must hold. Values are raw integers in the DP's units;
everything produced is clamped into the DP's range and onto its step.

Time: rates are quantised by counting boundary crossings of ``now`` on a per-unit grid, so fractional rates
accumulate exactly over many short ticks without any hidden state; a countdown may end up to one unit early.
Reports are due when a ``report_every_s`` boundary is crossed, or (when the runner passes
``since_last_report_s``) when that long has passed since the code last reported. Pass the device id as
``seed`` so devices of one product neither report in lockstep nor read the same values.
"""

from __future__ import annotations

import functools
import json
import math
import zlib
from collections.abc import Iterable, Mapping
from typing import Any

from tuyacloud.catalog.datapoints import DpSpec, validate_value
from tuyacloud.catalog.loader import Product
from tuyacloud.errors import CommandNotSupported

Status = dict[str, Any]
KINDS = ("set_on_command", "move_toward", "countdown", "accumulate", "follow", "sensor", "pick", "threshold")


# --- small helpers ---------------------------------------------------------------------------------------
def _same(a: Any, b: Any) -> bool:
    """Equality that keeps ``True`` and ``1`` apart, as JSON does."""
    return a == b and isinstance(a, bool) == isinstance(b, bool)


def _holds(condition: Mapping[str, Any] | None, state: Mapping[str, Any]) -> bool:
    if not condition:
        return True
    for code, want in condition.items():
        have = state.get(code)
        if isinstance(want, list):
            if not any(_same(have, option) for option in want):
                return False
        elif not (have == want and isinstance(have, bool) == isinstance(want, bool)):  # _same, inlined: hot
            return False
    return True


def _unit(*parts: Any) -> float:
    """A deterministic pseudo-random number in [0, 1) from its inputs (stable across processes)."""
    return zlib.crc32("|".join(map(str, parts)).encode()) / 2**32


def _crossings(now_s: float, elapsed_s: float, period_s: float, phase: float) -> int:
    """How many multiples of ``period_s`` (shifted by ``phase`` periods) lie in ``(now - elapsed, now]``."""
    return math.floor(now_s / period_s + phase) - math.floor((now_s - elapsed_s) / period_s + phase)


def _rescaled(product: Product, source: str, dest: DpSpec, value: Any) -> Any:
    """A value of ``source`` expressed in ``dest``'s raw units (e.g. 21 °C scale 0 -> 210 at scale 1)."""
    source_spec = product.spec(source)
    return dest.rescale(value, source_spec.scale if source_spec is not None else 0)


@functools.lru_cache(maxsize=4096)
def _state_codes(product: Product) -> frozenset[str]:
    return frozenset(product.state_codes())


_MISSING = object()


def _diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> Status:
    """The entries of ``after`` that are new or not :func:`_same` as in ``before`` (inlined: it runs several times
    per command over every status code)."""
    out: Status = {}
    for k, v in after.items():
        old = before.get(k, _MISSING)
        if old is _MISSING or old != v or (type(old) is bool) != (type(v) is bool):
            out[k] = v
    return out


# --- applying values -----------------------------------------------------------------------------------
def _resolve(product: Product, state: Status, code: str, raw: Any) -> Any:
    spec = product.spec(code)
    if spec is None:
        return raw
    if isinstance(raw, dict) and "from" in raw:
        return _rescaled(product, raw["from"], spec, state.get(raw["from"]))
    if raw == "toggle" and spec.type == "Boolean":
        return not state.get(code, False)
    return spec.clamp(raw)


def _apply_set(product: Product, state: Status, changes: Mapping[str, Any]) -> None:
    codes = _state_codes(product)
    for code, raw in changes.items():
        if code in codes:
            value = _resolve(product, state, code, raw)
            if value is not None:
                state[code] = value


def _target(product: Product, state: Status, b: Mapping[str, Any]) -> Any:
    spec, target = product.spec(b["code"]), b["target"]
    if spec is None:
        return None
    if isinstance(target, str):
        return _rescaled(product, target, spec, state.get(target))
    return spec.clamp(target)


# --- the settle pass: values that are a function of other values ---------------------------------------
def _follow(state: Status, b: Mapping[str, Any], off: Any, on: Any) -> None:
    """``off`` and ``on`` come clamped into the DP's range once per product (:func:`_settlers`)."""
    code = b["code"]
    if _holds(b.get("while"), state):
        if code not in state or _same(state[code], off):
            state[code] = on
    elif not _same(state.get(code), off):
        state[code] = off


def _limit(product: Product, state: Status, b: Mapping[str, Any], key: str) -> Any:
    limit, source_spec = b.get(key), product.spec(b["source"])
    if isinstance(limit, str) and source_spec is not None:
        return _rescaled(product, limit, source_spec, state.get(limit))
    return limit


def _threshold(product: Product, state: Status, b: Mapping[str, Any]) -> None:
    if not _holds(b.get("while"), state):
        if "otherwise" in b:
            state[b["code"]] = b["otherwise"]
        return
    value = state.get(b["source"])
    if not isinstance(value, (int, float)):
        return
    upper, lower = _limit(product, state, b, "upper"), _limit(product, state, b, "lower")
    if "above" in b and isinstance(upper, (int, float)) and value > upper:
        state[b["code"]] = b["above"]
    elif "below" in b and isinstance(lower, (int, float)) and value < lower:
        state[b["code"]] = b["below"]
    else:
        state[b["code"]] = b["normal"]


def _direction(product: Product, state: Status, b: Mapping[str, Any]) -> None:
    way, current, target = b.get("direction"), state.get(b["code"]), _target(product, state, b)
    moving = isinstance(current, int) and isinstance(target, int) and current != target
    if way and moving and _holds(b.get("while"), state) and way["code"] in _state_codes(product):
        state[way["code"]] = way["up"] if target > current else way["down"]


@functools.lru_cache(maxsize=4096)
def _settlers(product: Product) -> tuple[tuple[str, Mapping[str, Any], Any, Any], ...]:
    """The behaviours the settle pass runs, in order, with a follow's ``off``/``on`` clamped once: the pass runs on
    every command and report, and a product's behaviours never change."""
    out: list[tuple[str, Mapping[str, Any], Any, Any]] = []
    for b in product.behaviours:
        kind = b["kind"]
        if kind == "follow":
            spec = product.spec(b["code"])
            if spec is not None:
                out.append((kind, b, spec.clamp(b.get("off", 0)), spec.clamp(b["on"])))
        elif kind in ("threshold", "move_toward"):
            out.append((kind, b, None, None))
    return tuple(out)


@functools.lru_cache(maxsize=4096)
def _settled_codes(product: Product) -> tuple[str, ...]:
    """The codes the settle pass may write: a follow's or a threshold's own, a motion's direction DP."""
    codes: dict[str, None] = {}
    for kind, b, _, _ in _settlers(product):
        if kind == "move_toward":
            if b.get("direction"):
                codes[b["direction"]["code"]] = None
        else:
            codes[b["code"]] = None
    return tuple(codes)


@functools.lru_cache(maxsize=4096)
def _settles_in_one_pass(product: Product) -> bool:
    """Whether one settle pass always leaves the state stable: no settler reads a code that a settler writes
    (its own code aside for a follow, which a second pass with the same inputs leaves as it is) and no code has
    two writers. A second pass then computes what the first did, so the loop's checking pass can be skipped."""
    writers: list[str] = []
    reads: set[str] = set()
    for kind, b, _, _ in _settlers(product):
        reads.update(b.get("while") or {})
        if kind == "follow":
            writers.append(b["code"])
        elif kind == "threshold":
            writers.append(b["code"])
            reads.add(b["source"])
            reads.update(b[key] for key in ("upper", "lower") if isinstance(b.get(key), str))
        else:  # move_toward: its direction DP, from its own code and its target
            if b.get("direction"):
                writers.append(b["direction"]["code"])
            reads.add(b["code"])
            if isinstance(b.get("target"), str):
                reads.add(b["target"])
    return len(set(writers)) == len(writers) and not reads & set(writers)


def _settle_pass(product: Product, state: Status,
                 settlers: tuple[tuple[str, Mapping[str, Any], Any, Any], ...]) -> None:
    """One pass of every settler over ``state``, in the product's order."""
    for kind, b, off, on in settlers:
        if kind == "follow":
            _follow(state, b, off, on)
        elif kind == "threshold":
            _threshold(product, state, b)
        else:
            _direction(product, state, b)


def _settle(product: Product, state: Status, keep: Iterable[str] = ()) -> None:
    """Recompute derived values (follow, threshold, motion direction); codes in ``keep`` stay as they are."""
    settlers = _settlers(product)
    if not settlers:
        return
    kept = {code: state[code] for code in keep if code in state}
    if _settles_in_one_pass(product):
        _settle_pass(product, state, settlers)
        state.update(kept)
        return
    written = _settled_codes(product)  # only these can change in a pass: compare them, not the whole state
    for _ in range(3):  # a derived value may feed one listed before it: repeat until stable
        before = [state.get(code, _MISSING) for code in written]
        _settle_pass(product, state, settlers)
        state.update(kept)
        for code, old in zip(written, before, strict=True):
            new = state.get(code, _MISSING)
            if old is not new and (old is _MISSING or new is _MISSING or old != new
                                   or (type(old) is bool) != (type(new) is bool)):
                break
        else:
            break


# --- public API ----------------------------------------------------------------------------------------
def _default(product: Product, spec: DpSpec) -> Any:
    """A valid starting value for a DP the product's ``initial`` does not set."""
    if spec.type == "Boolean":
        return False
    if spec.type == "Integer":
        means = [b["mean"] for b in product.behaviours if b["kind"] == "sensor" and b["code"] == spec.code]
        return spec.clamp(means[0] if means else 0)
    if spec.type == "Enum":
        return spec.options[0]
    if spec.type == "Json":
        fields = spec.values.get("fields", {})
        doc = {k: [] if "list_of" in f else f["range"][0] if "range" in f else f.get("min", 0)
               for k, f in fields.items()}
        return json.dumps(doc, separators=(",", ":"))
    return 0 if spec.type == "Bitmap" else ""


def initial_status(product: Product) -> Status:
    """Every status code and raw DP with a valid value: the product's ``initial``, else a default."""
    state: Status = {}
    for spec in product.status + product.raw_dps:
        given = spec.code in product.initial
        state[spec.code] = product.initial[spec.code] if given else _default(product, spec)
    _settle(product, state, keep=product.initial)
    return state


def apply_commands(product: Product, status: Mapping[str, Any], commands: list[tuple[str, Any]]) -> Status:
    """The status changes a batch of validated commands causes: mirrors, derived sets and settled values."""
    state = dict(status)
    codes = _state_codes(product)
    triggered = _on_command(product)
    for code, value in commands:
        if code in codes:
            state[code] = value
        for b in triggered.get(code, ()):
            want = b["when"].get("value")
            if "value" not in b["when"] or _holds({code: want}, {code: value}):
                _apply_set(product, state, b["set"])
    _settle(product, state)
    return _diff(status, state)


@functools.lru_cache(maxsize=4096)
def _on_command(product: Product) -> dict[str, tuple[Mapping[str, Any], ...]]:
    """The ``set_on_command`` behaviours by the code that triggers them, in the product's order."""
    out: dict[str, tuple[Mapping[str, Any], ...]] = {}
    for b in product.behaviours:
        if b["kind"] == "set_on_command":
            out[b["when"]["code"]] = (*out.get(b["when"]["code"], ()), b)
    return out


def _report_due(b: Mapping[str, Any], now_s: float, elapsed_s: float, phase: float,
                since: Mapping[str, float] | None) -> bool:
    every = b["report_every_s"]
    if since is not None and b["code"] in since:
        return since[b["code"]] >= every
    return _crossings(now_s, elapsed_s, every, phase) > 0


def _step(product: Product, state: Status, b: Mapping[str, Any], now_s: float, elapsed_s: float,
          seed: str, since: Mapping[str, float] | None) -> None:
    """Advance one time-driven behaviour by ``elapsed_s`` ending at ``now_s``."""
    kind = b["kind"]
    if kind in ("set_on_command", "threshold") or not _holds(b.get("while"), state):
        return
    code, spec, phase = b["code"], product.spec(b["code"]), _unit(seed, "phase")
    if spec is None:
        return
    current = state.get(code)
    if kind in ("sensor", "pick") or (kind == "follow" and b.get("jitter") and "report_every_s" in b):
        if not _report_due(b, now_s, elapsed_s, phase, since):
            return
        bucket = math.floor(now_s / b["report_every_s"] + phase)
        noise = 2 * _unit(seed, code, bucket) - 1
        if kind == "sensor":
            wave = math.sin(2 * math.pi * (now_s / b.get("period_s", 86400) + phase))
            state[code] = spec.clamp(b["mean"] + b.get("amplitude", 0) * wave + b.get("noise", 0) * noise)
        elif kind == "follow":
            state[code] = spec.clamp(b["on"] + b["jitter"] * noise)
        else:
            weights = b.get("weights") or [1] * len(b["choices"])
            point, total = _unit(seed, code, bucket) * sum(weights), 0
            for choice, weight in zip(b["choices"], weights, strict=True):
                total += weight
                if point < total:
                    state[code] = choice
                    break
        return
    if not isinstance(current, int) or isinstance(current, bool):
        return
    step = spec.step
    if kind == "move_toward":
        target = _target(product, state, b)
        if isinstance(target, int) and target != current:
            steps = _crossings(now_s, elapsed_s, step / b["rate_per_s"], phase)
            moved = min(steps * step, abs(target - current))
            state[code] = current + moved if target > current else current - moved
    elif kind == "countdown" and current > 0:
        left = max(0, current - _crossings(now_s, elapsed_s, b.get("unit_s", 1), phase))
        state[code] = left
        if left == 0:
            _apply_set(product, state, b.get("on_zero", {}))
    elif kind == "accumulate" and b["rate_per_s"]:
        rate = b["rate_per_s"]
        lo, hi = b.get("min", spec.minimum), b.get("max", spec.maximum)
        new = current + math.copysign(_crossings(now_s, elapsed_s, step / abs(rate), phase) * step, rate)
        if b.get("wrap"):
            new = lo + (new - lo) % (hi - lo + step)
        else:
            new = max(new, min(lo, current)) if rate < 0 else min(new, max(hi, current))
        state[code] = int(new)


@functools.lru_cache(maxsize=4096)
def _inputs(product: Product) -> tuple[tuple[str, ...], ...]:
    """Per behaviour, the codes whose change restarts its clock: its own code, its target and its conditions."""
    out = []
    for b in product.behaviours:
        codes = [b["code"]] if "code" in b else []
        if isinstance(b.get("target"), str):
            codes.append(b["target"])
        codes += list(b.get("while") or {})
        out.append(tuple(codes))
    return tuple(out)


def tick(product: Product, status: Mapping[str, Any], elapsed_s: float, now_ms: int,
         since_last_report_s: dict[str, float] | None = None, *, seed: str = "",
         changed_ms: Mapping[str, int] | None = None) -> Status:
    """The changes ``elapsed_s`` seconds ending at ``now_ms`` bring; nothing when no time passed.

    ``changed_ms`` (the device's ``status_t``: when each code last changed) bounds each behaviour's time: it runs
    only from the latest change of its inputs, never across idle time before it. A curtain idle for 20 s and then
    told to open has moved 1 s worth one second later, not 21 s worth; a plug switched on after an idle hour has
    accumulated nothing yet."""
    if elapsed_s <= 0:
        return {}
    state = dict(status)
    now_s = now_ms / 1000
    start_ms = now_ms - elapsed_s * 1000
    inputs = _inputs(product) if changed_ms else None
    for i, b in enumerate(product.behaviours):
        run_s = elapsed_s
        if inputs is not None and changed_ms is not None:
            latest = max((changed_ms.get(code, 0) for code in inputs[i]), default=0)
            if latest > start_ms:
                run_s = (now_ms - latest) / 1000
                if run_s <= 0:
                    continue
        _step(product, state, b, now_s, run_s, seed, since_last_report_s)
    _settle(product, state)
    return _diff(status, state)


def next_due_s(product: Product, status: Mapping[str, Any]) -> float | None:
    """Seconds until the device next needs a tick (0: now), or None when nothing will change by itself."""
    state = dict(status)
    _settle(product, state)
    if _diff(status, state):
        return 0.0
    best: float | None = None
    for b in product.behaviours:
        kind = b["kind"]
        if kind in ("set_on_command", "threshold") or not _holds(b.get("while"), state):
            continue
        spec, current = product.spec(b["code"]), state.get(b["code"])
        if spec is None:
            continue
        step = spec.step
        due: float | None = None
        if kind in ("sensor", "pick") or (kind == "follow" and b.get("jitter")):
            due = b.get("report_every_s")
        elif kind == "move_toward":
            target = _target(product, state, b)
            due = step / b["rate_per_s"] if isinstance(target, int) and target != current else None
        elif kind == "countdown" and isinstance(current, int) and current > 0:
            due = current * b.get("unit_s", 1)
        elif kind == "accumulate" and b["rate_per_s"] and isinstance(current, int):
            lo, hi = b.get("min", spec.minimum), b.get("max", spec.maximum)
            stuck = not b.get("wrap") and (current <= lo if b["rate_per_s"] < 0 else current >= hi)
            due = None if stuck else step / abs(b["rate_per_s"])
        if due is not None:
            best = due if best is None else min(best, due)
    return best


# --- data checks ---------------------------------------------------------------------------------------
_REQUIRED = {
    "set_on_command": ("when", "set"), "move_toward": ("code", "target", "rate_per_s"),
    "countdown": ("code",), "accumulate": ("code", "rate_per_s"), "follow": ("code", "while", "on"),
    "sensor": ("code", "mean", "report_every_s"), "pick": ("code", "choices", "report_every_s"),
    "threshold": ("code", "source", "normal"),
}


def check_behaviours(product: Product) -> list[str]:
    """Problems in a product's behaviour data (unknown kinds or codes, invalid literal values); [] if none.

    Run by the catalog tests over every product, so a typo in a data file fails a test, not a device.
    """
    problems: list[str] = []
    codes = _state_codes(product)

    def state_code(code: Any, where: str) -> None:
        if code not in codes:
            problems.append(f"{where}: {code!r} is not a status code or raw DP of the product")

    def literal(code: str, value: Any, where: str) -> None:
        spec = product.spec(code)
        if spec is None or (value == "toggle" and spec.type == "Boolean") or isinstance(value, dict):
            return
        try:
            validate_value(spec, value)
        except CommandNotSupported as error:
            problems.append(f"{where}: {error.detail}")

    for i, b in enumerate(product.behaviours):
        kind, where = b.get("kind"), f"behaviour {i} ({b.get('kind')})"
        missing = [key for key in _REQUIRED.get(str(kind), ()) if key not in b]
        if kind not in KINDS or missing:
            problems.append(f"{where}: unknown kind or missing {missing}")
            continue
        for code in b.get("while") or {}:
            state_code(code, where)
        if kind == "set_on_command":
            trigger = product.function(b["when"]["code"])
            if trigger is None:
                problems.append(f"{where}: {b['when']['code']} is not a function of the product")
            elif "value" in b["when"]:
                wanted = b["when"]["value"]
                for option in wanted if isinstance(wanted, list) else [wanted]:
                    literal(trigger.code, option, where)
            changes = b["set"]
        else:
            state_code(b["code"], where)
            changes = b.get("on_zero", {})
            spec = product.spec(b["code"])
            numeric = ("move_toward", "countdown", "accumulate", "follow", "sensor")
            if kind in numeric and spec is not None and spec.type != "Integer":
                problems.append(f"{where}: {kind} needs an Integer DP, {b['code']} is {spec.type}")
        for code, value in changes.items():
            state_code(code, where)
            literal(code, value, where)
            if isinstance(value, dict):
                state_code(value.get("from"), where)
        for key in ("target", "source", "upper", "lower"):
            if isinstance(b.get(key), str):
                state_code(b[key], where)
        for key in ("above", "below", "normal", "otherwise"):
            if key in b:
                literal(b["code"], b[key], where)
        for value in b.get("choices", []):
            literal(b["code"], value, where)
        for key in ("on", "off"):
            if key in b:
                literal(b["code"], b[key], where)
        if any(b.get(key, 1) <= 0 for key in ("report_every_s", "unit_s", "period_s")) or (
            kind == "move_toward" and b["rate_per_s"] <= 0
        ):
            problems.append(f"{where}: rates and periods must be positive")
    return problems
