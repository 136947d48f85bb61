"""The flashing gates and the one summary table: p50 against a ceiling, accuracy against a floor, a new report
against an old one (`edge-bench compare OLD NEW --max-slowdown R --max-accuracy-drop P`).

A flashing script reads the exit status: 0 every gate passed (or none was asked for), EXIT_BELOW_FLOOR an
accuracy gate failed, EXIT_TOO_SLOW a speed gate failed (both failing: EXIT_BELOW_FLOOR, the graver one).
"""

from __future__ import annotations

from typing import Any, Sequence

EXIT_BELOW_FLOOR = 3  # distinct from argparse's 2, so a flashing script can tell "too inaccurate" from "bad call"
EXIT_TOO_SLOW = 4  # a measured p50 above --max-p50-ms, or slower than --max-slowdown times the old report's

ROLES = ("face", "voice", "text")  # a sidecar's task: what a model is for, whatever its file is called


def status_code(accuracy_failed: bool, speed_failed: bool) -> int:
    return EXIT_BELOW_FLOOR if accuracy_failed else EXIT_TOO_SLOW if speed_failed else 0


def _models(rows: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r["model"], []).append(r)
    return out


def p50_gate(rows: Sequence[dict[str, Any]], max_ms: float) -> list[dict[str, Any]]:
    """One entry per model: its slowest measured p50 against `max_ms`; a model with no measured case fails (a gate
    that measured nothing must not pass a flash)."""
    out = []
    for model, cases in _models(rows).items():
        ok = [r for r in cases if r.get("status") == "ok"]
        if not ok:
            out.append({"model": model, "p50_ms": None, "max_p50_ms": max_ms, "passed": False,
                        "reason": "not measured (" + "; ".join(sorted({str(r.get("status")) for r in cases})) + ")"})
            continue
        worst = max(ok, key=lambda r: r["p50_ms"])
        passed = worst["p50_ms"] <= max_ms
        out.append({"model": model, "case": worst["id"], "p50_ms": worst["p50_ms"], "max_p50_ms": max_ms,
                    "passed": passed,
                    "reason": "" if passed else f"p50 {worst['p50_ms']:.4g} ms > {max_ms:g} ms ({worst['id']})"})
    return out


def summary_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per model file, as `yolo benchmark` prints: model, format, size, accuracy, p50, status."""
    accuracy = {a["model"]: a for a in report.get("accuracy", [])}
    speed = {g["model"]: g for g in report.get("speed_gate", [])}
    out = []
    for model, cases in _models(report["results"]).items():
        first = cases[0]
        ok = [r for r in cases if r.get("status") == "ok"]
        problems = []
        if not ok:
            problems.append(f"{cases[0].get('status')}: {cases[0].get('error', '')}".rstrip(": "))
        a = accuracy.get(model)
        if a is not None and not a["passed"]:
            problems.append(f"FAIL accuracy {a['accuracy']:.4f} < {a['floor']}")
        g = speed.get(model)
        if g is not None and not g["passed"] and ok:
            problems.append(f"FAIL {g['reason']}")
        if first.get("macs_note"):
            problems.append(f"note: {first['macs_note']}")
        out.append({"model": model, "format": f"{first.get('format')} {first.get('precision')}",
                    "size_mb": first["size_kb"] / 1024 if first.get("size_kb") is not None else None,
                    "accuracy": a["accuracy"] if a else None,
                    "p50_ms": max(r["p50_ms"] for r in ok) if ok else None,
                    "status": "; ".join(problems) or "ok"})
    return out


# -- comparing two reports ---------------------------------------------------------------------------------------
def _role(row: dict[str, Any]) -> str | None:
    return row.get("task") if row.get("task") in ROLES else None


def role_matches(old_rows: Sequence[dict[str, Any]], new_rows: Sequence[dict[str, Any]]) -> dict[str, str]:
    """new row id -> old row id for rows whose ids differ but whose role matches: the only face (voice, text)
    model in each report, on the same backend and thread count (`face_int8.tflite` vs `my_face.tflite`)."""
    old_ids = {r["id"] for r in old_rows}
    new_ids = {r["id"] for r in new_rows}

    def only_model(rows, role):
        names = {r["model"] for r in rows if _role(r) == role}
        return names.pop() if len(names) == 1 else None

    out = {}
    for role in ROLES:
        old_model, new_model = only_model(old_rows, role), only_model(new_rows, role)
        if old_model is None or new_model is None or old_model == new_model:
            continue
        old_by_case = {(r.get("backend"), r.get("threads")): r["id"] for r in old_rows if r["model"] == old_model}
        for r in new_rows:
            if r["model"] == new_model and r["id"] not in old_ids:
                old_id = old_by_case.get((r.get("backend"), r.get("threads")))
                if old_id is not None and old_id not in new_ids:
                    out[r["id"]] = old_id
    return out


def _pairs(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Matched (old row, new row) pairs: by id, else by role."""
    by_id = {r["id"]: r for r in old["results"]}
    roles = role_matches(old["results"], new["results"])
    return [(by_id[roles.get(r["id"], r["id"])], r) for r in new["results"] if roles.get(r["id"], r["id"]) in by_id]


def _accuracy_pairs(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Matched accuracy entries: the same model file, else the same role (the only model of it gated in each)."""
    def task(report, a):
        return a.get("task") or next((r.get("task") for r in report["results"] if r["model"] == a["model"]), None)
    olds = old.get("accuracy", [])
    out = []
    for a in new.get("accuracy", []):
        same = [o for o in olds if o["model"] == a["model"] and o.get("data") == a.get("data")]
        if not same:
            role = task(new, a)
            same = [o for o in olds if task(old, o) == role and role in ROLES]
            same = same if len(same) == 1 and sum(task(new, x) == role for x in new.get("accuracy", [])) == 1 else []
        if same:
            out.append((same[0], a))
    return out


def flags(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What changed besides the figures: a model file's bytes (sha256), the run's settings, a model's precision."""
    out, seen = [], set()
    roles = role_matches(old["results"], new["results"])
    for o, n in _pairs(old, new):
        if "model" not in o or "model" not in n:  # pipeline reports: stages, not models
            continue
        key = (o["model"], n["model"])
        if key in seen:
            continue
        seen.add(key)
        how = f" (matched by role {n.get('task')!r})" if n["id"] in roles else ""
        if o.get("sha256") and n.get("sha256") and o["sha256"] != n["sha256"]:
            out.append(f"sha256 changed: {o['model']} {o['sha256'][:12]} -> {n['model']} {n['sha256'][:12]}{how}")
        elif how:
            out.append(f"{n['model']} compared with {o['model']}{how}")
        for k in ("precision", "format", "input"):
            if o.get(k) != n.get(k):
                out.append(f"{k} changed: {o['model']} {o.get(k)} -> {n['model']} {n.get(k)}")
    s_old, s_new = old.get("settings") or {}, new.get("settings") or {}
    for k in sorted(set(s_old) | set(s_new)):
        if s_old.get(k) != s_new.get(k):
            out.append(f"setting changed: {k} {s_old.get(k)!r} -> {s_new.get(k)!r}")
    return out


def compare_gates(old: dict[str, Any], new: dict[str, Any], max_slowdown: float | None,
                  max_drop: float | None) -> tuple[list[str], int]:
    """FAIL lines for every regression beyond the limits, and the exit status they give."""
    lines, slow, worse = [], False, False
    if max_slowdown is not None:
        timed = [(o, n) for o, n in _pairs(old, new)
                 if o.get("status") == "ok" and n.get("status") == "ok" and o.get("p50_ms")]
        if not timed:
            lines.append("FAIL no measured case of the new report matches one of the old (model or role, backend, "
                         "threads)")
            slow = True
        for o, n in timed:
            ratio = n["p50_ms"] / o["p50_ms"]
            if ratio > max_slowdown:
                slow = True
                lines.append(f"FAIL {n['id']}: p50 {n['p50_ms']:.4g} ms is {ratio:.2f}x {o['id']}'s "
                             f"{o['p50_ms']:.4g} ms (--max-slowdown {max_slowdown:g})")
    if max_drop is not None:
        pairs = _accuracy_pairs(old, new)
        if not pairs:
            lines.append("FAIL no accuracy to compare: run both reports with --accuracy DATA")
            worse = True
        for o, n in pairs:
            drop = o["accuracy"] - n["accuracy"]
            if drop > max_drop:
                worse = True
                lines.append(f"FAIL {n['model']}: accuracy {n['accuracy']:.4f}, {o['model']} had {o['accuracy']:.4f} "
                             f"(drop {drop:.4f} > --max-accuracy-drop {max_drop:g})")
    return lines, status_code(worse, slow)
