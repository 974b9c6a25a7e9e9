"""Which variable, key, header and option names are secret: whole name parts, as data in rules.yaml.

A name is split into parts at anything that is not a letter or digit, where a lowercase letter meets an
uppercase one, before the last capital of a run of capitals followed by a lowercase letter, and where
letters meet digits: ``APP_POSTGRES_PWD`` is ``app postgres pwd``, ``X-Api-Key`` is ``x api key``,
``dbPassword`` is ``db password``, ``spring.datasource.password`` is ``spring datasource password``.
Of a dotted name only the last part counts (``spring.datasource.password``, not ``token.content``).
It is secret when a part is one of the secret `words`, or ends with one of the `suffixes` (``PGPASSWORD``,
``csrftoken``), or two parts in a row are one of the `pairs` (``api key``, ``signing key``), unless its
last part is a `qualifier` (``TOKEN_TTL``, ``PASSWORD_FILE``, ``SECRET_NAME``: settings about a secret) or
it is written as a `reference` (``existingSecret``, ``existingSecretKey``: a Kubernetes Secret that holds it;
``EXISTING_DB_PASSWORD`` and ``existingPassword`` are secrets).
So ``SORT_KEY``, ``IDEMPOTENCY_KEY`` and ``CACHE_KEY`` are not secret, and neither is ``APP_UI_URL``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

_SEPARATORS = re.compile(r"[^A-Za-z0-9]+")
_PARTS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
# NOTE: what a name looks like written as a value: letters, digits and separators, no blank.
_IDENTIFIER = re.compile(r"[A-Za-z_][\w.-]*")


def parts(name: str) -> tuple[str, ...]:
    """The lowercase parts of a name."""
    out: list[str] = []
    for chunk in _SEPARATORS.split(name):
        out += [p.lower() for p in _PARTS.findall(chunk)]
    return tuple(out)


# NOTE: eq=False keeps identity hashing, so the loaded rules can key the cache of answers.
@dataclass(frozen=True, eq=False)
class NameRules:
    """The data that decides whether a name is secret."""

    words: frozenset[str]
    suffixes: tuple[str, ...]
    pairs: frozenset[tuple[str, str]]
    qualifiers: frozenset[str]
    profiles: Mapping[str, frozenset[str]]
    human: frozenset[str] = frozenset()
    references: re.Pattern[str] | None = None
    object_prefixes: frozenset[str] = frozenset()
    object_suffixes: frozenset[str] = frozenset()

    def secret(self, name: str, profile: str = "") -> bool:
        """True when `name` names a secret (with the extra words of `profile`, e.g. `query`)."""
        return _secret(self, name, profile)

    def chosen(self, name: str) -> bool:
        """True when `name` names a secret a person chooses (a password), not a machine-made token."""
        split = parts(name.rpartition(".")[2])
        glued = tuple(self.human)
        return any(p in self.human or (len(p) > 4 and p.endswith(glued)) for p in split) or any(
            pair == ("basic", "auth") for pair in itertools.pairwise(split)
        )

    def named_by(self, value: str, name: str) -> bool:
        """True when `value` is the name of a database object made of `name`, not its value: the whole name
        with a naming convention's prefix before it or PostgreSQL's kind of object after it
        (`pk_organization_secret`, `organization_secret_pkey`, `organization_secret_id_seq`), or the whole
        name of two words or more, as written (an enum member: `credential_off_site = "credential_off_site"`).
        A value made of some of its key's words (`REDIS_PASSWORD=redis`), of more
        (`JWT_SECRET=jwt-secret-key`) or of them written otherwise (`JWT_SECRET=jwt-secret`) is a password
        like any other."""
        if not _IDENTIFIER.fullmatch(value):
            return False
        own, given = parts(name.rpartition(".")[2]), parts(value)
        if not own:
            return False
        if value == name.rpartition(".")[2] and len(own) > 1:
            return True  # NOTE: a member named as its value (`credential_off_site = "credential_off_site"`)
        for i in range(len(given) - len(own) + 1):
            if given[i : i + len(own)] == own:
                before, after = given[:i], given[i + len(own) :]
                if not before and not after:
                    return False
                # NOTE: `id` only inside a suffix (`…_id_seq`), never as its last part.
                return all(p in self.object_prefixes for p in before) and (
                    not after
                    or (
                        after[-1] in self.object_suffixes
                        and all(p in self.object_suffixes or p == "id" for p in after)
                    )
                )
        return False

    def plural(self, name: str) -> bool:
        """True when the last part of `name` is a secret word in the plural (`secrets`, `tokens`): a
        number given to it counts them."""
        split = parts(name.rpartition(".")[2])
        return bool(split) and split[-1].endswith("s") and split[-1][:-1] in self.words


@lru_cache(maxsize=4096)
def _secret(rules: NameRules, name: str, profile: str) -> bool:
    # NOTE: `token.content` sets an attribute of a token object; `settings.password` is a password.
    split = parts(name.rpartition(".")[2])
    if not split or split[-1] in rules.qualifiers:
        return False
    if rules.references is not None and rules.references.fullmatch(name.rpartition(".")[2]):
        return False
    words = rules.words | rules.profiles.get(profile, frozenset())
    for i, part in enumerate(split):
        if part in words or (len(part) > 4 and part.endswith(rules.suffixes)):
            return True
        if i and (split[i - 1], part) in rules.pairs:
            return True
    return False
