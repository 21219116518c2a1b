"""Words as evidence: names and docstrings split into lightly stemmed words.

``customerEmail``, ``customer_email`` and "the customer's e-mail" all give ``customer`` and
``email``; ``sent``, ``sends`` and ``sending`` all give ``send``. Generic words (``value``,
``text``, ``id``, …) and English function words carry no evidence and are dropped.
"""

from __future__ import annotations

import functools
import re

#: Words that say nothing about what a value is.
GENERIC = frozenset(
    """value text path id ids data info result results item items field object number num
    string str int float bool flag type kind the a an of for to in on by with and or is are be
    been was were from at as this that it its their them they given return returns get gets
    fetch fetches give gives new current which what when where who how per into out over
    under than then there these those some any all each every one two use uses used using
    also not no yes if do does done can may must should will would could""".split()
)

_IRREGULAR = {
    "sent": "send",
    "bought": "buy",
    "paid": "pay",
    "made": "make",
    "gave": "give",
    "given": "give",
    "found": "find",
    "built": "build",
    "written": "write",
    "wrote": "write",
    "kept": "keep",
    "sold": "sell",
    "told": "tell",
    "held": "hold",
    "shipped": "ship",
    "shipping": "ship",
    "children": "child",
    "people": "person",
    "men": "man",
    "women": "woman",
    "addresses": "address",
    "statuses": "status",
    "e": "",
}

_SPLIT = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


@functools.lru_cache(maxsize=4096)
def stem(word: str) -> str:
    """A light stem: ``sent`` → ``send``, ``cities`` → ``city``, ``booked`` → ``book``."""
    word = word.lower()
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    for suffix, replacement, minimum in (
        ("ies", "y", 5),
        ("sses", "ss", 5),
        ("ing", "", 6),
        ("ed", "", 5),
        ("es", "", 5),
        ("s", "", 4),
    ):
        if word.endswith(suffix) and len(word) >= minimum:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                continue
            if suffix == "es" and not word.endswith(("shes", "ches", "xes", "zes", "sses")):
                continue
            base = word[: len(word) - len(suffix)] + replacement
            if (
                suffix in ("ing", "ed")
                and len(base) > 2
                and base[-1] == base[-2]
                and base[-1] not in "lsz"
            ):
                base = base[:-1]  # stopped -> stop
            return base
    return word


@functools.lru_cache(maxsize=4096)
def words(text: str) -> frozenset[str]:
    """The evidence words of a name or a sentence (stemmed, generic words left out)."""
    found = set()
    for token in _SPLIT.findall(text or ""):
        stemmed = stem(token)
        if stemmed and stemmed not in GENERIC and len(stemmed) > 1:
            found.add(stemmed)
    return frozenset(found)


__all__ = ["words", "stem", "GENERIC"]
