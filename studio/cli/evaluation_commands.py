"""Evaluate a model, choose its threshold, compare two models."""
from __future__ import annotations

import argparse

from studio.cli.credentials import actor, add_credentials, reason, signed_in
from studio.cli.output import emit


def share_arg(text: str) -> float:
    """A share as 0.995 or 99.5%."""
    t = text.strip()
    try:
        return float(t[:-1]) / 100.0 if t.endswith("%") else float(t)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a share: write e.g. 0.995 or 99.5%") from None


def add_parsers(sub: argparse._SubParsersAction) -> None:
    h = __name__ + ":"
    ev = sub.add_parser("evaluate", help="score the test split: metrics with confidence intervals, the operating point")
    ev.add_argument("project")
    ev.add_argument("--model", help="model id (default: the newest)")
    ev.add_argument("--json", action="store_true")
    ev.set_defaults(handler=h + "cmd_evaluate")

    th = sub.add_parser("threshold", help="set a model's decision threshold: a value, by cost, or by a target",
                        description="Choose one way: --value, the cost model (all three of --escape-cost, "
                                    "--false-reject-cost, --defect-rate), --recall-target, or "
                                    "--false-reject-target (the way when the test split has no defects).")
    th.add_argument("project")
    th.add_argument("--model", help="model id (default: the newest)")
    th.add_argument("--value", type=float, help="the threshold itself")
    th.add_argument("--escape-cost", type=float, metavar="X", help="cost of one defective part that passes")
    th.add_argument("--false-reject-cost", type=float, metavar="Y", help="cost of scrapping one good part")
    th.add_argument("--defect-rate", type=share_arg, metavar="R", help="expected share of defective parts, e.g. 0.02")
    th.add_argument("--review-cost", type=float, metavar="Z",
                    help="with the cost model: cost of one manual review; the cheapest review band is chosen too")
    th.add_argument("--recall-target", type=share_arg, metavar="T",
                    help="catch at least this share of defects (e.g. 0.995); the most precise such threshold")
    th.add_argument("--critical", action="store_true",
                    help="with --recall-target: count only the classes the criteria mark critical")
    th.add_argument("--classes", help="with --recall-target: count only these defect classes (comma-separated)")
    th.add_argument("--false-reject-target", type=share_arg, metavar="F",
                    help="reject at most this share of good parts; the lowest such threshold")
    th.add_argument("--review-up-to", type=float, metavar="H",
                    help="review band: parts scoring from the threshold up to H go to manual review")
    th.add_argument("--json", action="store_true")
    add_credentials(th, reason=True)
    th.set_defaults(handler=h + "cmd_threshold")

    sp = sub.add_parser("split", help="the test split: freeze it, check it for changes and leaks, keep parts together")
    sp.add_argument("project")
    act = sp.add_mutually_exclusive_group()
    act.add_argument("--freeze", action="store_true", help="make the current test split the frozen reference")
    act.add_argument("--unfreeze", action="store_true", help="forget the frozen test split")
    act.add_argument("--regroup", action="store_true", help="move images so no part straddles train and test")
    sp.add_argument("--json", action="store_true")
    add_credentials(sp, reason=True)
    sp.set_defaults(handler=h + "cmd_split")

    co = sub.add_parser("compare", help="compare two models on the same test split")
    co.add_argument("project")
    co.add_argument("models", nargs=2, metavar="MODEL")
    co.add_argument("--json", action="store_true")
    co.set_defaults(handler=h + "cmd_compare")


def _fmt(v):
    return "n/a" if v is None else f"{v:.3f}"


def report_text(result: dict) -> str:
    from studio.evaluation.operating import describe

    c = result["confusion"]
    from studio.evaluation.choose import how_in_words

    how = how_in_words(result.get("operating_point"))
    lines = [f"model {result['model_id']}: {result['n']} test images, {result['n_defective']} defective",
             f"image AUROC {_fmt(result['image_auroc'])}, average precision {_fmt(result['average_precision'])}",
             f"operating point: threshold {result['threshold']:.4g} (chosen {how})",
             f"at threshold {result['threshold']:.4g}: precision {_fmt(result['precision'])}, "
             f"recall {_fmt(result['recall'])}",
             f"confusion: tp {c['tp']}  fp {c['fp']}  tn {c['tn']}  fn {c['fn']}"]
    point = {"intervals": result["intervals"], "per_class": result["per_class_recall"],
             "warnings": result["warnings"], "review": result.get("review_band"), "n": result["n"]}
    return "\n".join(lines + describe(point))


def cmd_evaluate(args: argparse.Namespace) -> int:
    from studio.evaluation.evaluate import evaluate
    from studio.project import Project

    project = Project.open(args.project)
    result = evaluate(project, args.model)
    summary = {k: v for k, v in result.items() if k not in ("curve", "roc", "scores")}
    emit(args, {**summary, "scores": result.get("scores", [])} if args.json else summary, report_text(result))
    return 0


def cmd_threshold(args: argparse.Namespace) -> int:
    from studio.core.errors import StudioError
    from studio.evaluation import choose
    from studio.evaluation.evaluate import evaluate
    from studio.inference.model import InspectionModel
    from studio.project import Project

    project = Project.open(args.project)
    signed_in(args, "engineer", project=project, action="threshold.set")
    model_id = args.model or InspectionModel.load(project).model_id
    only = None
    if args.critical or args.classes:
        if args.recall_target is None:
            raise StudioError("--critical and --classes go with --recall-target",
                              hint="e.g. --recall-target 0.995 --critical")
        only = project.criteria.critical_classes() if args.critical else []
        only += [c.strip() for c in (args.classes or "").split(",") if c.strip()]
        if not only:
            raise StudioError("the criteria document marks no defect class critical",
                              file=project.root / "criteria.yaml",
                              hint="set 'severity: critical' on a class, or name classes with --classes")
    kwargs = dict(value=args.value, escape_cost=args.escape_cost, false_reject_cost=args.false_reject_cost,
                  defect_rate=args.defect_rate, recall_target=args.recall_target, only=only,
                  false_reject_target=args.false_reject_target)
    if choose.way(**kwargs) != "cost" and args.review_cost is not None:   # argument errors before scoring
        raise StudioError("--review-cost goes with the cost model",
                          hint="add --escape-cost, --false-reject-cost and --defect-rate")
    result = evaluate(project, model_id) if args.value is None or args.review_up_to is not None else {}
    chosen = choose.pick(result, review_cost=args.review_cost, **kwargs)
    upper = args.review_up_to if args.review_up_to is not None else chosen.get("review_up_to")
    card = choose.save(project, model_id, result, chosen, review_up_to=upper, actor=actor(args), reason=reason(args))
    at = (card.get("operating_point") or {}).get("at_choice") or {}
    out = {"model_id": model_id, "threshold": card["threshold"], "review_band": card.get("review_band"),
           "operating_point": card["operating_point"]}
    text = [f"{model_id}: threshold set to {card['threshold']:.4g} (chosen {choose.how_in_words(chosen)})"]
    if "evidence" in chosen:
        text.append(f"recall target: {chosen['evidence']}")
    if "cost_per_1000" in chosen:
        what = "the cheapest point" if chosen.get("review_cost") is None else (
            "the cheapest threshold and review band" if chosen.get("review_up_to") is not None
            else "the cheapest point; a review band would not pay off")
        text.append(f"expected cost {chosen['cost_per_1000']:.2f} per 1,000 parts ({what})")
    if card.get("review_band"):
        b = card["review_band"]
        rb = at.get("review_band") or {}
        share = rb.get("review_share")
        text.append(f"review band {b['low']:.4g} … {b['high']:.4g}"
                    + (f": {100 * share:.1f} % of the test parts would go to review" if share is not None else ""))
        if chosen.get("review_share_on_line") is not None:
            text.append(f"on the line ({100 * chosen['defect_rate']:.1f} % defective) about "
                        f"{100 * chosen['review_share_on_line']:.1f} % of the parts would go to review")
    if at:
        from studio.evaluation.intervals import pct

        rb, n_good = at.get("review_band"), at["n"] - at["n_defective"]
        if rb:
            text.append(f"on the test split: {pct(at['recall'])} of the defective parts rejected or reviewed "
                        f"({rb['escapes']} passed); of the {n_good} good parts {rb['false_rejects']} rejected and "
                        f"{rb['review_good']} reviewed")
        else:
            text.append(f"on the test split: precision {pct(at['precision'])}, recall {pct(at['recall'])}, "
                        f"false-reject rate {pct(at['false_reject_rate'])}")
        text += [f"WARNING: {w}" for w in at.get("warnings", [])]
        if chosen["how"] != "value":
            text.append(choose.SAME_SPLIT_NOTE)
    emit(args, out, "\n".join(text))
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from studio.evaluation.compare import compare, compare_text
    from studio.project import Project

    project = Project.open(args.project)
    result = compare(project, *args.models)
    emit(args, result, compare_text(result))
    return 0


def cmd_split(args: argparse.Namespace) -> int:
    from studio.dataset import splits
    from studio.project import Project

    project = Project.open(args.project)
    if args.regroup or args.freeze or args.unfreeze:           # changing the test split: an engineer's
        signed_in(args, "engineer", project=project, action="split")
    done = []
    if args.regroup:
        done.append(f"{splits.regroup(project)} images moved to their part's side")
    if args.freeze:
        record = splits.freeze(project)
        done.append(f"test split frozen: {record['n']} images (digest {record['digest']})")
    if args.unfreeze:
        done.append("test split unfrozen" if splits.unfreeze(project) else "the test split was not frozen")
    if done:
        from studio.audit.trail import AuditTrail

        AuditTrail(project.root).append("split.changed", actor=actor(args), what="test split", after={"done": done},
                                        reason=reason(args))
    report = splits.check(project)
    counts = {k: len(report[k]) for k in ("added", "removed", "moved_to_train", "relabeled",
                                          "straddling_groups", "duplicates")}
    state = (f"frozen {report['frozen']} (digest {report['digest']})" if report["frozen"] else "not frozen")
    parts = report["parts"]
    lines = done + [f"test split: {report['n_test']} images of {parts['test']} parts ({parts['train']} parts in "
                    f"train), {state}"]
    lines += [f"WARNING: {w}" for w in report["warnings"]]
    if report["frozen"] and not report["warnings"]:
        lines.append("no changes and no leaks since it was frozen")
    emit(args, {**report, "counts": counts, "done": done}, "\n".join(lines))
    return 0
