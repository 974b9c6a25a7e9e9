"""HTTP routes between two bundles, from their OpenAPI documents: what clients of the old API break on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from evidence_kit.diff.fingerprint import fingerprint, refs
from evidence_kit.diff.model import Changes, Section, plural, section
from evidence_kit.diff.read import Side, items, mapping, one_sided
from evidence_kit.evidence import openapi

KIND = "routes"
TITLE = "Routes"
ARTIFACT = openapi.path(openapi.DOCUMENT)
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
MAX_DEPTH = 12


@dataclass(frozen=True)
class Prop:
    """One property of a request or response body, flattened: whether required, and its type."""

    required: bool
    type: str


class _Spec:
    """An OpenAPI document with `$ref` resolution."""

    def __init__(self, doc: Mapping[str, Any]) -> None:
        self.doc = doc

    def resolve(self, node: Any, seen: frozenset[str] = frozenset()) -> tuple[Any, frozenset[str]]:
        """Follow `$ref`s to the node they name; stops at a cycle or a dangling reference."""
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if ref in seen or not ref.startswith("#/"):
                return {}, seen
            seen = seen | {ref}
            target = self.pointer(ref)
            node = target if target is not None else {}
        return node, seen

    def pointer(self, ref: str) -> Any:
        """The node a `#/...` reference names, one step (no further `$ref`), None for none."""
        target: Any = self.doc
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            target = target.get(part) if isinstance(target, dict) else None
        return target

    def type_name(self, node: Any) -> str:
        """A short name of a schema's type: `string`, `integer?`, `RunOut`, `array[RunOut]`."""
        if isinstance(node, dict) and isinstance(node.get("$ref"), str):
            return str(node["$ref"]).rsplit("/", 1)[-1]
        node, _ = self.resolve(node)
        if not isinstance(node, dict):
            return "any"
        variants = node.get("anyOf") or node.get("oneOf")
        if isinstance(variants, list):
            names = [self.type_name(v) for v in variants]
            real = [n for n in names if n != "null"]
            return (" | ".join(real) or "null") + ("?" if len(real) < len(names) else "")
        kind = node.get("type")
        if isinstance(kind, list):
            return " | ".join(map(str, kind))
        if kind == "array":
            return f"array[{self.type_name(node.get('items'))}]"
        if "enum" in node:
            return f"{kind or 'enum'}{sorted(map(str, node['enum']))}"
        return str(kind or ("object" if "properties" in node else "any"))

    def props(
        self, node: Any, prefix: str = "", seen: frozenset[str] = frozenset(), depth: int = 0
    ) -> dict[str, Prop]:
        """Every property reachable in a schema, by dotted path (`[]` for array items)."""
        found: dict[str, Prop] = {}
        if depth > MAX_DEPTH:
            return found
        node, seen = self.resolve(node, seen)
        if not isinstance(node, dict):
            return found
        for part in items(node.get("allOf")):
            found.update(self.props(part, prefix, seen, depth + 1))
        variants = [v for v in items(node.get("anyOf")) + items(node.get("oneOf")) if v != {"type": "null"}]
        for variant in variants:
            for path, prop in self.props(variant, prefix, seen, depth + 1).items():
                # NOTE: a property only some variants have is not guaranteed, so it is not required.
                found[path] = Prop(prop.required and len(variants) == 1, prop.type)
        if node.get("type") == "array" or "items" in node:
            found.update(self.props(node.get("items"), f"{prefix}[].", seen, depth + 1))
        required = set(map(str, items(node.get("required"))))
        for name, sub in mapping(node.get("properties")).items():
            path = f"{prefix}{name}"
            found[path] = Prop(name in required, self.type_name(sub))
            found.update(self.props(sub, f"{path}.", seen, depth + 1))
        return found

    def operations(self) -> dict[str, dict[str, Any]]:
        """`METHOD /path` and `METHOD webhook:name` -> the operation, with the item's parameters merged in."""
        ops: dict[str, dict[str, Any]] = {}
        named = [(str(p), i) for p, i in mapping(self.doc.get("paths")).items()]
        named += [(f"{openapi.WEBHOOK}:{n}", i) for n, i in mapping(self.doc.get("webhooks")).items()]
        for path, item in sorted(named):
            item, _ = self.resolve(item)
            if not isinstance(item, dict):
                continue
            shared = items(item.get("parameters"))
            for method in METHODS:
                op = item.get(method)
                if isinstance(op, dict):
                    ops[f"{method.upper()} {path}"] = {
                        **op,
                        "parameters": shared + items(op.get("parameters")),
                    }
        return ops

    def parameters(self, op: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        """`in:name` -> parameter; an operation's own parameter overrides the path item's."""
        found: dict[str, dict[str, Any]] = {}
        for raw in items(op.get("parameters")):
            param, _ = self.resolve(raw)
            if isinstance(param, dict) and param.get("name"):
                found[f"{param.get('in', 'query')}:{param['name']}"] = param
        return found

    def content(self, node: Any) -> tuple[dict[str, Any], bool]:
        """A request body's or response's media types -> schema, and whether the body is required."""
        node, _ = self.resolve(node)
        node = mapping(node)
        media = {str(k): mapping(v).get("schema") for k, v in mapping(node.get("content")).items()}
        return media, bool(node.get("required"))


class _Unchanged:
    """Decides which operations need no comparison: the same on both sides, with all they reach.

    An operation is unchanged when its fingerprints agree and so do those of the node every
    `$ref` it reaches, directly or through other nodes, names in each document. Everything the
    comparison reads is then the same on both sides, and it could find no change.
    """

    def __init__(self, a: _Spec, b: _Spec) -> None:
        self.a, self.b = a, b
        self._same: dict[str, bool] = {}
        self._refs: dict[str, set[str]] = {}
        rest = fingerprint({k: v for k, v in a.doc.items() if k != "paths"})
        # NOTE: when all but `paths` is the same, so is what any reference outside `paths` names.
        self._rest_same = rest is not None and rest == fingerprint(
            {k: v for k, v in b.doc.items() if k != "paths"}
        )

    def operation(self, a: Any, b: Any, same_source: bool = False) -> bool:
        """True when operation `a` (old) and `b` (new) need no comparison.

        `same_source`: both were built from the very same path item object (see Side.json).
        """
        blob = fingerprint(a)
        if blob is None or (not same_source and blob != fingerprint(b)):
            return False
        # NOTE: every string of the operation is in its fingerprint, so no reference in it starts
        # with `#/paths` (the only way to point into `paths`) unless these bytes are there.
        if self._rest_same and b"#/paths" not in blob:
            return True
        todo = list(refs(a))
        seen = set(todo)
        while todo:
            ref = todo.pop()
            if not self._target(ref):
                return False
            for more in self._refs[ref] - seen:
                seen.add(more)
                todo.append(more)
        return True

    def _target(self, ref: str) -> bool:
        if ref not in self._same:
            if not ref.startswith("#/"):
                # NOTE: resolve() follows only local references; others resolve to nothing on both sides.
                self._same[ref], self._refs[ref] = True, set()
            else:
                target = self.a.pointer(ref)
                blob = fingerprint(target)
                self._same[ref] = blob is not None and blob == fingerprint(self.b.pointer(ref))
                self._refs[ref] = refs(target) if self._same[ref] else set()
        return self._same[ref]


def _top(paths: set[str]) -> list[str]:
    """The paths not below another path of the set: a removed object's properties go with it."""
    return sorted(p for p in paths if not any(p.startswith(f"{q}.") for q in paths if q != p))


class _Ops(Changes):
    """Collects the changes of one OpenAPI comparison."""

    def __init__(self, a: _Spec, b: _Spec) -> None:
        super().__init__(KIND)
        self.a, self.b = a, b

    def parameters(self, op: str, a: Mapping[str, Any], b: Mapping[str, Any]) -> None:
        pa, pb = self.a.parameters(a), self.b.parameters(b)
        for key in sorted(pa.keys() - pb.keys()):
            self.add(
                f"{op} parameter {key} removed",
                "breaking",
                self.a.type_name(pa[key].get("schema")),
                None,
                "clients that send it are no longer understood",
            )
        for key in sorted(pb.keys() - pa.keys()):
            if pb[key].get("required"):
                self.add(
                    f"{op} required parameter {key} added",
                    "breaking",
                    None,
                    self.b.type_name(pb[key].get("schema")),
                    "clients that do not send it now fail",
                )
            else:
                self.add(
                    f"{op} optional parameter {key} added",
                    "safe",
                    None,
                    self.b.type_name(pb[key].get("schema")),
                )
        for key in sorted(pa.keys() & pb.keys()):
            ra, rb = bool(pa[key].get("required")), bool(pb[key].get("required"))
            if rb and not ra:
                self.add(
                    f"{op} parameter {key} made required",
                    "breaking",
                    "optional",
                    "required",
                    "clients that do not send it now fail",
                )
            elif ra and not rb:
                self.add(f"{op} parameter {key} made optional", "safe", "required", "optional")
            ta, tb = self.a.type_name(pa[key].get("schema")), self.b.type_name(pb[key].get("schema"))
            if ta != tb:
                self.add(f"{op} parameter {key} type changed", "risky", ta, tb)

    def request(self, op: str, a: Mapping[str, Any], b: Mapping[str, Any]) -> None:
        media_a, required_a = self.a.content(a.get("requestBody"))
        media_b, required_b = self.b.content(b.get("requestBody"))
        if not media_a and media_b:
            self.add(
                f"{op} request body added",
                "breaking" if required_b else "safe",
                None,
                ", ".join(sorted(media_b)),
                "clients that send no body now fail" if required_b else "",
            )
            return
        if media_a and not media_b:
            self.add(
                f"{op} request body removed",
                "risky",
                ", ".join(sorted(media_a)),
                None,
                "what clients send is no longer read",
            )
            return
        if required_b and not required_a:
            self.add(
                f"{op} request body made required",
                "breaking",
                "optional",
                "required",
                "clients that send no body now fail",
            )
        for media in sorted(media_a.keys() - media_b.keys()):
            self.add(
                f"{op} request content type {media} removed",
                "breaking",
                media,
                None,
                "clients that send it are refused",
            )
        props_a: dict[str, Prop] = {}
        props_b: dict[str, Prop] = {}
        for media in sorted(media_a.keys() & media_b.keys()):
            props_a.update(self.a.props(media_a[media]))
            props_b.update(self.b.props(media_b[media]))
        where = f"{op} request property"
        for path in _top(props_a.keys() - props_b.keys()):
            self.add(
                f"{where} {path} removed",
                "breaking",
                props_a[path].type,
                None,
                "clients that send it are ignored or refused",
            )
        for path in _top(props_b.keys() - props_a.keys()):
            if props_b[path].required:
                self.add(
                    f"{where} {path} added as required",
                    "breaking",
                    None,
                    props_b[path].type,
                    "clients that do not send it now fail",
                )
            else:
                self.add(f"{where} {path} added", "safe", None, props_b[path].type)
        for path in sorted(props_a.keys() & props_b.keys()):
            pa, pb = props_a[path], props_b[path]
            if pb.required and not pa.required:
                self.add(
                    f"{where} {path} made required",
                    "breaking",
                    "optional",
                    "required",
                    "clients that do not send it now fail",
                )
            if pa.type != pb.type:
                self.add(f"{where} {path} type changed", "risky", pa.type, pb.type)

    def responses(self, op: str, a: Mapping[str, Any], b: Mapping[str, Any]) -> None:
        ra, rb = mapping(a.get("responses")), mapping(b.get("responses"))
        for code in sorted(ra.keys() - rb.keys()):
            self.add(
                f"{op} response {code} removed", "breaking", code, None, "clients that handle it never get it"
            )
        for code in sorted(rb.keys() - ra.keys()):
            self.add(f"{op} response {code} added", "info", None, code)
        for code in sorted(ra.keys() & rb.keys()):
            media_a, _ = self.a.content(ra[code])
            media_b, _ = self.b.content(rb[code])
            props_a: dict[str, Prop] = {}
            props_b: dict[str, Prop] = {}
            for media in sorted(media_a.keys() & media_b.keys()):
                props_a.update(self.a.props(media_a[media]))
                props_b.update(self.b.props(media_b[media]))
            for media in sorted(media_a.keys() - media_b.keys()):
                self.add(
                    f"{op} response {code} content type {media} removed",
                    "breaking",
                    media,
                    None,
                    "clients that ask for it no longer get it",
                )
            where = f"{op} response {code} property"
            for path in _top(props_a.keys() - props_b.keys()):
                self.add(
                    f"{where} {path} removed",
                    "breaking",
                    props_a[path].type,
                    None,
                    "clients that read it no longer get it",
                )
            for path in _top(props_b.keys() - props_a.keys()):
                self.add(f"{where} {path} added", "safe", None, props_b[path].type)
            for path in sorted(props_a.keys() & props_b.keys()):
                pa, pb = props_a[path], props_b[path]
                if pa.required and not pb.required:
                    self.add(
                        f"{where} {path} no longer required",
                        "breaking",
                        "required",
                        "optional",
                        "clients that rely on it may not get it",
                    )
                elif pb.required and not pa.required:
                    self.add(f"{where} {path} made required", "safe", "optional", "required")
                if pa.type != pb.type:
                    self.add(f"{where} {path} type changed", "risky", pa.type, pb.type)


def diff(old: Side, new: Side) -> Section | None:
    """Compare the operations of the two OpenAPI documents."""
    a, b = old.json(ARTIFACT, split="paths"), new.json(ARTIFACT, split="paths")
    if not isinstance(a, dict) or not isinstance(b, dict):
        return one_sided(KIND, TITLE, old, new, isinstance(a, dict), isinstance(b, dict), "openapi")
    spec_a, spec_b = _Spec(a), _Spec(b)
    ops_a, ops_b = spec_a.operations(), spec_b.operations()
    out = _Ops(spec_a, spec_b)
    for op in sorted(ops_b.keys() - ops_a.keys(), key=_route_order):
        summary = str(ops_b[op].get("summary") or ops_b[op].get("operationId") or "")
        out.add(f"{op} added", "safe", None, summary or None)
    for op in sorted(ops_a.keys() - ops_b.keys(), key=_route_order):
        out.add(
            f"{op} removed",
            "breaking",
            str(ops_a[op].get("summary") or "") or None,
            None,
            "clients that call it get 404 or 405",
        )
    unchanged = _Unchanged(spec_a, spec_b)
    paths_a, paths_b = mapping(a.get("paths")), mapping(b.get("paths"))
    for op in sorted(ops_a.keys() & ops_b.keys(), key=_route_order):
        oa, ob = ops_a[op], ops_b[op]
        item = paths_a.get(op.partition(" ")[2])
        # NOTE: a path item shared by both parses, and not a reference, makes equal operations.
        shared = item is paths_b.get(op.partition(" ")[2]) and not (
            isinstance(item, dict) and isinstance(item.get("$ref"), str)
        )
        if unchanged.operation(oa, ob, shared):
            continue
        out.parameters(op, oa, ob)
        out.request(op, oa, ob)
        out.responses(op, oa, ob)
        if ob.get("deprecated") and not oa.get("deprecated"):
            out.add(f"{op} deprecated", "info")
    added = len(ops_b.keys() - ops_a.keys())
    removed = len(ops_a.keys() - ops_b.keys())
    touched = len({c.what.split(" ", 2)[1] for c in out.found})
    # NOTE: a webhook is an operation the service calls, not one it serves: counted apart, as the report does.
    hooks_a, hooks_b = (len([op for op in ops if _is_webhook(op)]) for ops in (ops_a, ops_b))
    hooks = f", {hooks_a} → {plural(hooks_b, 'webhook')}" if hooks_a or hooks_b else ""
    summary = (
        f"{len(ops_a) - hooks_a} → {plural(len(ops_b) - hooks_b, 'operation')}{hooks}: {added} added, "
        f"{removed} removed, {plural(touched, 'path')} touched"
    )
    facts = {
        "operations_before": len(ops_a) - hooks_a,
        "operations_after": len(ops_b) - hooks_b,
        "webhooks_before": hooks_a,
        "webhooks_after": hooks_b,
        "added": sorted(ops_b.keys() - ops_a.keys(), key=_route_order),
        "removed": sorted(ops_a.keys() - ops_b.keys(), key=_route_order),
    }
    return section(KIND, TITLE, out.found, summary, facts)


def _is_webhook(op: str) -> bool:
    return op.partition(" ")[2].startswith(f"{openapi.WEBHOOK}:")


def _route_order(op: str) -> tuple[str, int]:
    method, _, path = op.partition(" ")
    return path, METHODS.index(method.lower()) if method.lower() in METHODS else len(METHODS)
