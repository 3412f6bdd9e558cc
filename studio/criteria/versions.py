"""Old versions of the criteria document stay readable: ``criteria_versions/v<N>.yaml``.

Every save also writes the document to its version's file; a label made
under version 3 can always be shown next to the rule it applied. Edits that
read, change and save the document hold the project's criteria lock, so two
people adding examples at once both land.
"""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Callable, Iterator

import yaml

from studio.core.atomic import atomic_write_yaml
from studio.core.errors import ProjectError

VERSIONS_DIR = "criteria_versions"


def archive(path: Path, doc: Any) -> None:
    atomic_write_yaml(Path(path).parent / VERSIONS_DIR / f"v{doc.version}.yaml", doc.to_dict())


def versions(root: Path) -> list[int]:
    folder = Path(root) / VERSIONS_DIR
    out = []
    for p in folder.glob("v*.yaml") if folder.is_dir() else []:
        try:
            out.append(int(p.stem[1:]))
        except ValueError:
            continue
    return sorted(out)


def load_version(root: Path, version: int):
    """The document as it was at ``version``."""
    from studio.criteria.document import FILE_NAME, CriteriaDocument

    path = Path(root) / VERSIONS_DIR / f"v{int(version)}.yaml"
    if not path.exists():
        current = CriteriaDocument.load(Path(root) / FILE_NAME)
        if current.version == version:
            return current
        raise ProjectError(f"criteria version {version} is not kept in this project", file=path,
                           hint=f"kept versions: {', '.join(map(str, versions(root))) or 'none'}")
    return CriteriaDocument.load(path)


@contextlib.contextmanager
def editing(project: Any, author: str, reason: str) -> Iterator[Any]:
    """Change the criteria document as one new version: reload under the lock, edit, bump, save."""
    from studio.criteria.document import FILE_NAME, CriteriaDocument
    from studio.core.locking import file_lock

    if not author.strip() or not reason.strip():
        raise ProjectError("a new criteria version needs its author and reason",
                           hint="say who changes the rules and why")
    path = project.root / FILE_NAME
    with file_lock(path):
        doc = CriteriaDocument.load(path)
        before = doc.version
        yield doc
        doc.new_version(author, reason)
        doc.save(path)
    project._criteria = doc
    from studio.audit.trail import AuditTrail

    AuditTrail(project.root).append("criteria.version", actor=author, what=f"criteria.yaml v{doc.version}",
                                    before=before, after=doc.version, reason=reason, meaning="authorship")


def edit(project: Any, author: str, reason: str, change: Callable[[Any], None]) -> Any:
    with editing(project, author, reason) as doc:
        change(doc)
    return project.criteria


def diff(old: Any, new: Any) -> list[str]:
    """What changed between two versions, in words."""
    out = []
    a = {c.name: c.to_dict() for c in old.classes}
    b = {c.name: c.to_dict() for c in new.classes}
    for name in sorted(set(a) | set(b)):
        if name not in a:
            out.append(f"added class {name}")
        elif name not in b:
            out.append(f"removed class {name}")
        else:
            for k in sorted(set(a[name]) | set(b[name])):
                if a[name].get(k) != b[name].get(k):
                    out.append(f"{name}.{k}: {yaml.safe_dump(a[name].get(k)).strip()!s:.60} -> "
                               f"{yaml.safe_dump(b[name].get(k)).strip()!s:.60}")
    return out
