"""A JQL subset: parse once into a predicate over stored issues plus an ORDER BY.

Supported: project, key/issuekey/id/issue, status, statusCategory, issuetype/type, priority,
resolution, labels, assignee/reporter, created/updated/resolved (=, !=, <, <=, >, >=),
summary/description/comment/text (~, !~), issue.property[key].path (=, !=, IN), AND, OR, NOT,
parentheses, IN/NOT IN lists, IS [NOT] EMPTY/NULL, ORDER BY. Anything else (functions,
WAS/CHANGED, other fields) is a 400 naming what is not supported. Dates are epoch milliseconds
or ``yyyy/MM/dd [HH:mm]`` (also with dashes) read in UTC, the seeded accounts' time zone, or
relative (``-5d``, ``-2h``, ``-30m``, ``-1w``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from . import refdata, seed
from .errors import JiraError

Pred = Callable[[dict[str, Any]], bool]
TextOf = Callable[[dict[str, Any], str], str]
TOKEN = re.compile(
    r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\')|(?P<op>!=|>=|<=|!~|=|>|<|~)'
    r"|(?P<punct>[(),])|(?P<word>[^\s\"'(),=!<>~]+))"
)
KEYWORDS = {"and", "or", "not", "in", "is", "empty", "null", "order", "by", "asc", "desc"}
DATE_FIELDS = {
    "created": "created",
    "createddate": "created",
    "updated": "updated",
    "updateddate": "updated",
    "resolved": "resolved",
    "resolutiondate": "resolved",
}
TEXT_FIELDS = {"summary", "description", "comment", "text"}
SORTS = {"created", "updated", "key", "id", "priority", "status", "summary", "resolved"}
WORD = re.compile(r"[\w\x00]+")
PROPERTY = re.compile(r"^issue\.property\[([^\]]+)\]((?:\.[A-Za-z0-9_]+)*)$", re.IGNORECASE)


def error(message: str) -> JiraError:
    return JiraError(400, [message])


@dataclass
class Tok:
    kind: str  # str, op, punct, word
    text: str

    def kw(self, word: str) -> bool:
        return self.kind == "word" and self.text.lower() == word


def tokenize(jql: str) -> list[Tok]:
    tokens, pos = [], 0
    while pos < len(jql):
        if jql[pos:].strip() == "":
            break
        match = TOKEN.match(jql, pos)
        if match is None or match.end() == pos:
            raise error(
                "Error in the JQL Query: The character "
                f"'{jql[pos:].strip()[0]}' is a reserved JQL character."
            )
        kind = match.lastgroup or "word"
        text = match.group(kind)
        if kind == "str":
            text = re.sub(r"\\(.)", r"\1", text[1:-1])
        tokens.append(Tok(kind, text))
        pos = match.end()
    return tokens


@dataclass
class Query:
    where: Pred | None
    order: list[tuple[str, bool]]  # (field, descending)

    def run(self, issues: list[dict[str, Any]]) -> list[dict[str, Any]]:
        hits = [i for i in issues if self.where is None or self.where(i)]
        order = self.order or [("created", True)]
        for name, desc in reversed([*order, ("id", order[-1][1])]):
            hits.sort(key=functools.partial(_sort_key, name=name), reverse=desc)
        return hits


def _sort_key(issue: dict[str, Any], name: str) -> Any:
    if name in {"key", "id"}:
        return (issue["project"], int(issue["id"])) if name == "key" else int(issue["id"])
    if name == "resolved":
        return issue["resolved"] or 0.0
    if name in {"priority", "status"}:
        return int(issue[name])
    return issue[name]


def _words_match(terms: list[str], text: str) -> bool:
    """Jira's ``~`` on whole words (``term*`` as a prefix), every term present; no stemming."""
    words = set(WORD.findall(text.lower()))
    for term in terms:
        stem = term.rstrip("\x00")
        if term.endswith("\x00"):
            if not any(w.startswith(stem) for w in words):
                return False
        elif stem not in words:
            return False
    return True


class Parser:
    def __init__(self, jql: str, now: float, text_of: TextOf, indexed: set[str]) -> None:
        self.tokens = tokenize(jql)
        self.pos = 0
        self.now = now
        self.text_of = text_of
        self.indexed = indexed

    def peek(self) -> Tok | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> Tok:
        tok = self.peek()
        if tok is None:
            raise error("Error in the JQL Query: Expecting more input at the end of the query.")
        self.pos += 1
        return tok

    def parse(self) -> Query:
        where = None
        tok = self.peek()
        if tok is not None and not tok.kw("order"):
            where = self.or_expr()
        order: list[tuple[str, bool]] = []
        tok = self.peek()
        if tok is not None and tok.kw("order"):
            self.take()
            if not self.take().kw("by"):
                raise error("Error in the JQL Query: Expecting 'by' after 'order'.")
            while True:
                name = self.take().text.lower()
                if name not in SORTS:
                    raise error(
                        f"Not able to sort using field '{name}'. "
                        f"The emulator sorts by {', '.join(sorted(SORTS))}."
                    )
                desc = False
                nxt = self.peek()
                if nxt is not None and (nxt.kw("asc") or nxt.kw("desc")):
                    desc = self.take().kw("desc")
                order.append((DATE_FIELDS.get(name, name), desc))
                nxt = self.peek()
                if nxt is None or nxt.text != ",":
                    break
                self.take()
        if self.peek() is not None:
            raise error(
                "Error in the JQL Query: Expecting either 'OR' or 'AND' "
                f"but got '{self.take().text}'."
            )
        return Query(where, order)

    def or_expr(self) -> Pred:
        parts = [self.and_expr()]
        while (tok := self.peek()) is not None and tok.kw("or"):
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else (lambda i: any(p(i) for p in parts))

    def and_expr(self) -> Pred:
        parts = [self.not_expr()]
        while (tok := self.peek()) is not None and tok.kw("and"):
            self.take()
            parts.append(self.not_expr())
        return parts[0] if len(parts) == 1 else (lambda i: all(p(i) for p in parts))

    def not_expr(self) -> Pred:
        tok = self.take()
        if tok.kw("not"):
            inner = self.not_expr()
            return lambda i: not inner(i)
        if tok.text == "(" and tok.kind == "punct":
            inner = self.or_expr()
            if self.take().text != ")":
                raise error("Error in the JQL Query: Expecting ')'.")
            return inner
        return self.clause(tok)

    def value(self) -> str:
        tok = self.take()
        nxt = self.peek()
        if tok.kind == "word" and nxt is not None and nxt.text == "(" and nxt.kind == "punct":
            raise error(
                f"The emulator does not support the JQL function '{tok.text}()'; "
                "use literal values."
            )
        if tok.kind not in {"str", "word"} or tok.kw("empty") or tok.kw("null"):
            raise error(f"Error in the JQL Query: Expecting a value but got '{tok.text}'.")
        return tok.text

    def clause(self, field_tok: Tok) -> Pred:
        if field_tok.kind not in {"word", "str"}:
            raise error(
                f"Error in the JQL Query: Expecting a field name but got '{field_tok.text}'."
            )
        name = field_tok.text
        tok = self.take()
        if tok.kw("is"):
            negate = bool((nxt := self.peek()) and nxt.kw("not") and self.take())
            if not (self.take().kw("empty") or self.tokens[self.pos - 1].kw("null")):
                raise error("Error in the JQL Query: Expecting EMPTY or NULL after IS.")
            test = self.emptiness(name)
            return (lambda i: not test(i)) if negate else test
        if tok.kw("not") or tok.kw("in"):
            negate = tok.kw("not")
            if negate and not self.take().kw("in"):
                raise error("Error in the JQL Query: Expecting 'IN' after 'NOT'.")
            if self.take().text != "(":
                raise error("Error in the JQL Query: Expecting '(' after IN.")
            values = [self.value()]
            while (sep := self.take()).text == ",":
                values.append(self.value())
            if sep.text != ")":
                raise error("Error in the JQL Query: Expecting ')' to close the IN list.")
            tests = [self.compare(name, "=", v) for v in values]
            return (
                (lambda i: not any(t(i) for t in tests))
                if negate
                else (lambda i: any(t(i) for t in tests))
            )
        if tok.kind != "op":
            if tok.text.lower() in {"was", "changed"}:
                raise error(f"The emulator does not support the JQL operator '{tok.text.upper()}'.")
            raise error(
                f"Error in the JQL Query: Expecting an operator after '{name}' "
                f"but got '{tok.text}'."
            )
        return self.compare(name, tok.text, self.value())

    def emptiness(self, name: str) -> Pred:
        low = name.lower()
        if low in {"labels", "assignee", "resolution", "description"}:
            return lambda i: not i[low]
        if low in {"resolved", "resolutiondate"}:
            return lambda i: i["resolved"] is None
        raise error(f"The emulator does not support IS EMPTY on the field '{name}'.")

    def compare(self, name: str, op: str, value: str) -> Pred:
        low = name.lower()
        prop = PROPERTY.match(name)
        if prop:
            return self.property_clause(prop.group(1), prop.group(2), op, value)
        if low in DATE_FIELDS:
            return self.date_clause(DATE_FIELDS[low], op, value)
        if low in TEXT_FIELDS:
            if op not in {"~", "!~"}:
                raise error(f"The operator '{op}' is not supported by the '{name}' field.")
            terms = [t.lower() for t in WORD.findall(value.replace("*", "\x00"))]
            hit: Pred = lambda i: _words_match(terms, self.text_of(i, low))  # noqa: E731
            return (lambda i: not hit(i)) if op == "!~" else hit
        if op not in {"=", "!="}:
            raise error(f"The operator '{op}' is not supported by the '{name}' field.")
        match = self.equality(low, name, value)
        return (lambda i: not match(i)) if op == "!=" else match

    def equality(self, low: str, name: str, value: str) -> Pred:
        v = value.lower()
        if low == "project":
            try:
                key = refdata.project(value)["key"]
            except JiraError:
                key = next((p["key"] for p in seed.PROJECTS if p["name"].lower() == v), None)
                if key is None:
                    raise error(
                        f"The value '{value}' does not exist for the field 'project'."
                    ) from None
            return lambda i: i["project"] == key
        if low in {"key", "issuekey", "id", "issue"}:
            return lambda i: v in {i["id"], i["key"].lower(), *(k.lower() for k in i["old_keys"])}
        if low == "labels":
            return lambda i: value in i["labels"]
        tables = {
            "status": seed.STATUSES,
            "priority": seed.PRIORITIES,
            "resolution": seed.RESOLUTIONS,
            "issuetype": seed.ISSUE_TYPES,
            "type": seed.ISSUE_TYPES,
        }
        if low in tables:
            found = next((x for x in tables[low] if v in {x["id"], x["name"].lower()}), None)
            if low == "resolution" and v == "unresolved":
                return lambda i: i["resolution"] is None
            if found is None:
                raise error(f"The value '{value}' does not exist for the field '{name}'.")
            column = "issuetype" if low == "type" else low
            return lambda i: i[column] == found["id"]
        if low == "statuscategory":
            cat = next(
                (
                    k
                    for k, c in seed.STATUS_CATEGORIES.items()
                    if v in {k, str(c["id"]), c["name"].lower()}
                ),
                None,
            )
            if cat is None:
                raise error(f"The value '{value}' does not exist for the field 'statusCategory'.")
            return lambda i: refdata.status_category(i["status"]) == cat
        if low in {"assignee", "reporter", "creator"}:
            user = refdata.find_user(value)
            account = user["accountId"] if user else None
            return lambda i: account is not None and i[low] == account
        raise error(f"Field '{name}' does not exist or the emulator does not support it.")

    def date_clause(self, column: str, op: str, value: str) -> Pred:
        if op not in {"=", "!=", "<", "<=", ">", ">="}:
            raise error(f"The operator '{op}' is not supported by the '{column}' field.")
        bound = self.moment(value)
        ops: dict[str, Callable[[float, float], bool]] = {
            "=": lambda a, b: a == b,
            "!=": lambda a, b: a != b,
            "<": lambda a, b: a < b,
            "<=": lambda a, b: a <= b,
            ">": lambda a, b: a > b,
            ">=": lambda a, b: a >= b,
        }
        test = ops[op]
        return lambda i: i[column] is not None and test(i[column] * 1000, bound)

    def moment(self, value: str) -> float:
        """Epoch milliseconds for a JQL date literal."""
        if value.isdigit():
            return float(value)
        rel = re.fullmatch(r"([-+]?)(\d+)([wdhm])", value.strip().lower())
        if rel:
            size = {"w": 604800, "d": 86400, "h": 3600, "m": 60}[rel.group(3)] * int(rel.group(2))
            return (self.now + (-size if rel.group(1) == "-" else size)) * 1000
        for pattern in ("%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y-%m-%d"):
            try:
                return datetime.strptime(value, pattern).replace(tzinfo=UTC).timestamp() * 1000
            except ValueError:
                continue
        raise error(
            f"Date value '{value}' for field is invalid. Valid formats include: "
            "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', "
            "epoch milliseconds, or a period such as '-5d'."
        )

    def property_clause(self, key: str, path: str, op: str, value: str) -> Pred:
        if op not in {"=", "!="}:
            raise error(
                f"The operator '{op}' is not supported on issue properties by the emulator."
            )
        steps = [s for s in path.split(".") if s]
        alias = key + path
        if key not in self.indexed and alias not in self.indexed:
            # Jira indexes a property only when an app declares it; otherwise nothing matches.
            return lambda i: op == "!="

        def read(issue: dict[str, Any]) -> Any:
            node = issue["properties"].get(key)
            for step in steps:
                node = node.get(step) if isinstance(node, dict) else None
            return node

        def equal(issue: dict[str, Any]) -> bool:
            found = read(issue)
            return found is not None and str(found).lower() == value.lower()

        return (lambda i: not equal(i)) if op == "!=" else equal


def parse(jql: str, *, now: float, text_of: TextOf, indexed: set[str]) -> Query:
    return Parser(jql, now, text_of, indexed).parse()
