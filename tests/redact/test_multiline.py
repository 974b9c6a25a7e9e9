"""Rules that read more than one line: a Kubernetes Secret, SQL echo parameters, loguru's values; and the
stream that must never cut what they read apart."""

from __future__ import annotations

import io

import pytest

from evidence_kit.redact import redactor
from evidence_kit.redact.redactor import Redactor
from evidence_kit.redact.rules import fill

SECRET = fill("{alnum:10}-{hex:12}", "multiline")[0]
MANIFESTS = {
    "kubectl order": f"apiVersion: v1\ndata:\n  username: {SECRET}\nkind: Secret\nmetadata:\n  name: db\n",
    "hand-written": f"kind: Secret\nmetadata:\n  name: db\ntype: Opaque\nstringData:\n  url: '{SECRET}'\n",
    "block scalar": f"kind: Secret\nstringData:\n  app.ini: |\n    [db]\n    url = {SECRET}\n",
    "list item": f"items:\n- apiVersion: v1\n  data:\n    ca: {SECRET}\n  kind: Secret\n- kind: Pod\n",
    "JSON": (
        f'{{\n    "apiVersion": "v1",\n    "data": {{\n        "ca": "{SECRET}"\n    }},\n'
        '    "kind": "Secret"\n}\n'
    ),
    "escaped JSON": f'{{"note": "{{\\"data\\":{{\\"ca\\":\\"{SECRET}\\"}},\\"kind\\":\\"Secret\\"}}"}}\n',
}


@pytest.mark.parametrize("text", MANIFESTS.values(), ids=list(MANIFESTS))
def test_every_value_of_a_kubernetes_secret_is_masked(text: str) -> None:
    masked, count = Redactor().mask_text(text)
    assert SECRET not in masked and count >= 1, masked


def test_only_the_values_of_the_secret_are_masked() -> None:
    """A ConfigMap next to it, the Secret's metadata and a template keep their bytes."""
    text = (
        "apiVersion: v1\nkind: ConfigMap\ndata:\n  LOG_LEVEL: info\n---\n"
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: jobs-db\n  labels:\n    data: kept\n"
        f"data:\n  password: {{{{ .Values.password | b64enc }}}}\n  ca: {SECRET}\n"
        "---\nkind: Deployment\ndata:\n  also: kept\n"
    )
    expected = text.replace(SECRET, "[REDACTED]")
    assert Redactor().mask_text(text) == (expected, 1)


STATEMENTS = {
    "qmark": (
        "INSERT INTO users (email, password_hash) VALUES (?, ?)",
        f"('a@example.com', '{SECRET}')",
    ),
    "numbered": (
        "SELECT users.id FROM users WHERE users.api_token = $2 AND users.email = $1",
        f"('a@example.com', '{SECRET}')",
    ),
    "multi-line": (
        "SELECT users.id \nFROM users \nWHERE users.email = %s AND users.password_hash = %s",
        f"('a@example.com', '{SECRET}')",
    ),
    "executemany": (
        "INSERT INTO tokens (user_id, token) VALUES (?, ?)",
        f"[(1, '{SECRET}'), (2, '{SECRET}')]",
    ),
    "literal between": (
        "INSERT INTO keys (created, label, secret) VALUES (now(), ?, ?)",
        f"('ci', '{SECRET}')",
    ),
    "upsert": (
        "INSERT INTO users (email, api_token) VALUES ($1::VARCHAR, $2::VARCHAR) "
        "ON CONFLICT (email) DO UPDATE SET api_token = excluded.api_token",
        f"('a@example.com', '{SECRET}')",
    ),
    "subquery": (
        "UPDATE users SET display_name=? WHERE users.id IN "
        "(SELECT tokens.user_id FROM tokens WHERE tokens.api_token = ?)",
        f"('Alice Example', '{SECRET}')",
    ),
    "VALUES on the next line": (
        "INSERT INTO users (email, api_token)\nVALUES (?, ?)",
        f"('a@example.com', '{SECRET}')",
    ),
    "IN": ("SELECT * FROM users WHERE api_token IN (?, ?)", f"('{SECRET}', '{SECRET}')"),
    "ANY": ("SELECT * FROM users WHERE api_token = ANY(?)", f"(['{SECRET}', '{SECRET}'],)"),
    "no column for a placeholder": (
        "INSERT INTO users (email, api_token) SELECT ?, ?",
        f"('{SECRET}', '{SECRET}')",
    ),
}


@pytest.mark.parametrize(("statement", "parameters"), STATEMENTS.values(), ids=list(STATEMENTS))
def test_sql_echo_parameters_are_masked_by_their_column(statement: str, parameters: str) -> None:
    prefix = "INFO sqlalchemy.engine.Engine "
    text = f"{prefix}{statement}\n{prefix}[generated in 0.00012s] {parameters}\n"
    assert Redactor().mask_text(text)[0] == text.replace(SECRET, "[REDACTED]")


def test_sql_echo_parameters_of_innocent_columns_are_kept() -> None:
    text = (
        "INSERT INTO users (email, display_name) VALUES (?, ?)\n"
        f"[generated in 0.00012s] ('a@example.com', '{SECRET}')\n"
        f"[generated in 0.00012s] ('{SECRET}', 1)\n"
    )
    assert Redactor().mask_text(text) == (text, 0)


def test_postgres_detail_masks_by_position_or_all_when_unsure() -> None:
    red = Redactor()
    assert red.mask_text(f"DETAIL:  Key (tenant_id, api_token)=(7, {SECRET}) already exists.")[0] == (
        "DETAIL:  Key (tenant_id, api_token)=(7, [REDACTED]) already exists."
    )
    assert red.mask_text(f"DETAIL:  Key (api_token, note)=({SECRET}, a, b) already exists.")[0] == (
        "DETAIL:  Key (api_token, note)=([REDACTED]) already exists."
    )
    assert red.mask_text(
        f"DETAIL:  Key (api_token)=({SECRET}) conflicts with existing key (api_token)=({SECRET[::-1]})."
    ) == ("DETAIL:  Key (api_token)=([REDACTED]) conflicts with existing key (api_token)=([REDACTED]).", 2)


def test_loguru_values_are_masked_under_secret_named_variables_only() -> None:
    text = (
        "    login(user, db_password, settings.api_token)\n"
        f"    │     │     │            └ '{SECRET}'\n"
        f"    │     │     └ '{SECRET}'\n"
        "    │     └ 'alice'\n"
        "    └ <function login at 0x7f3a2c1e0d30>\n"
    )
    masked, count = Redactor().mask_text(text)
    assert SECRET not in masked and count == 2 and "'alice'" in masked


def test_loguru_value_of_an_attribute_is_masked() -> None:
    """`settings.db_password`: the mark is under `db_password`, after the `.`."""
    text = (
        "    return connect(host, settings.db_password)\n"
        f"           │       │     │        └ '{SECRET}'\n"
        "           │       │     └ <__main__.Settings object at 0x7fc82ff1ae10>\n"
        "           │       └ 'db.internal'\n"
        "           └ <function connect at 0x7fc83010df80>\n"
    )
    assert Redactor().mask_text(text) == (text.replace(SECRET, "[REDACTED]"), 1)


@pytest.mark.parametrize(
    "text",
    [
        f"apiVersion: v1\ndata:\n  a: b\n  username: {SECRET}\nkind: Secret\n",
        f"kind: Secret\nmetadata:\n  name: x\ndata:\n  a: b\n  username: {SECRET}\n",
        f"INSERT INTO users (email, password_hash) VALUES (?, ?)\n[generated in 0.1s] ('a', '{SECRET}')\n",
        f"  File \"app.py\", line 3, in f\n    f(db_password)\n    │ └ '{SECRET}'\n    └ <function f>\n",
        f'SECRET_KEY = (\n    "{SECRET}"\n    "{SECRET}"\n    "{SECRET}"\n)\n',
        f"db:\n  password: >-\n    {SECRET}\n    {SECRET}\n  host: db\n",
        # NOTE: lines of a key that look like a name and `=` (the line naming a value below) are no cut.
        "-----BEGIN PRIVATE KEY-----\n"
        + "".join(f"{SECRET[:6]}{i}{SECRET[-6:]}=\n" for i in range(6))
        + f'-----END PRIVATE KEY-----\nAPI_TOKEN = (\n    "{SECRET}"\n)\n',
    ],
)
def test_a_stream_never_cuts_a_line_from_the_lines_it_is_read_with(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Wherever a block ends, the line that opens what a later line is read with goes with that line."""
    filler = "".join(
        f"2026-05-02T10:11:{i % 60:02d}Z INFO worker-1 GET /healthz status=200\n" for i in range(40)
    )
    data = (filler + text + filler).encode()
    red = Redactor()
    whole = red.mask(data)
    assert SECRET.encode() not in whole[0]
    monkeypatch.setattr(redactor, "_CONTEXT", 512)
    for chunk in range(len(filler) + 1, len(filler) + len(text), 7):
        monkeypatch.setattr(redactor, "CHUNK", chunk)
        out = io.BytesIO()
        count, _ = red.stream(io.BytesIO(data), out.write)
        assert (out.getvalue(), count) == whole, chunk


def test_a_stream_keeps_a_secret_longer_than_its_context_with_its_kind_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A Secret's value far below its `kind: Secret` (a long block scalar), a block boundary in between."""
    head = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: cfg\nstringData:\n  config.yaml: |\n"
    body = "".join(f"    setting_{i}: value number {i}\n" for i in range(200))
    data = (head + body + f"    conn: {SECRET}\n" + "    last: one\n").encode()
    red = Redactor()
    whole = red.mask(data)
    assert SECRET.encode() not in whole[0]
    monkeypatch.setattr(redactor, "_CONTEXT", 64)
    for chunk in (len(head) + 100, len(head) + len(body) // 2, len(head) + len(body) - 10):
        monkeypatch.setattr(redactor, "CHUNK", chunk)
        out = io.BytesIO()
        count, _ = red.stream(io.BytesIO(data), out.write)
        assert (out.getvalue(), count) == whole, chunk


def test_a_flow_mapping_under_data_is_read() -> None:
    text = (
        f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata: {{DB_URL: {SECRET}, user: '{SECRET}'}}\n"
    )
    assert Redactor().mask_text(text) == (text.replace(SECRET, "[REDACTED]"), 2)


CONTINUED = {
    "a long string wrapped in brackets": f'SECRET_KEY = (\n    "{SECRET}"\n)\n',
    "strings that go on": f'SECRET_KEY = (\n    "{SECRET}"  # first part\n    "{SECRET}"\n)\n',
    "annotated": f'    api_token: str = (\n        "{SECRET}"\n    )\n',
    "a dict's key": f'CONFIG = {{\n    "api_key": (\n        "{SECRET}"\n    ),\n}}\n',
    "an attribute": f'        self.client_secret = (\n            b"{SECRET}"\n        )\n',
    "a backslash": f"DB_PASSWORD = \\\n    '{SECRET}'\n",
    "a bare key, the string below": f'  "db_password":\n    "{SECRET}",\n',
    "a YAML literal block": f"auth:\n  api_token: |\n    {SECRET}\n  region: eu-west-1\n",
    "a YAML folded block": f"db:\n  password: >-\n    {SECRET}\n\n    {SECRET}\n  host: db\n",
    "a diff's added lines": f'+    api_token: str = (\n+        "{SECRET}"\n+    )\n',
    "a diff's changed value": f' SECRET_KEY = (\n-    "{SECRET}"\n+    "{SECRET}"\n )\n',
    "a diff, its key a context line": f" auth:\n   api_token: |\n-    {SECRET}\n+    {SECRET}\n other: 1\n",
    "a comment and a blank line in the brackets": (
        f'SECRET_KEY = (\n    # rotated in May\n    "{SECRET}"\n\n    # second half\n    "{SECRET}"\n)\n'
    ),
    "a YAML block's indicators in the other order": f"db:\n  password: |-2\n    {SECRET}\n  host: db\n",
    "a diff's YAML blocks": (
        f"@@ -1,3 +1,3 @@\n-password: |\n-  {SECRET}\n+password: |\n+  {SECRET}\n other: 1\n"
    ),
}


@pytest.mark.parametrize("text", CONTINUED.values(), ids=list(CONTINUED))
def test_a_value_below_the_line_naming_it_is_masked(text: str) -> None:
    masked, count = Redactor().mask_text(text)
    assert SECRET not in masked and count == text.count(SECRET), masked
    assert masked == text.replace(SECRET, "[REDACTED]")


@pytest.mark.parametrize(
    "text",
    [
        'SECRET_KEY = (\n    os.environ.get("SECRET_KEY")\n)\n',
        'TOKEN_TYPES = (\n    "access",\n    "refresh",\n)\n',
        'API_KEY = (\n    "API_KEY"\n)\n',
        "PASSWORD_MIN_LENGTH = (\n    12\n)\n",
        'SECRET_KEY = (\n    f"{prefix}-{suffix}"\n)\n',
        # NOTE: Django's lists of classes, a YAML block holding a script, code after a blank line.
        'PASSWORD_HASHERS = (\n    "django.contrib.auth.hashers.Argon2PasswordHasher",\n)\n',
        'AUTH_PASSWORD_VALIDATORS = (\n    "django.contrib.auth.password_validation.Validator",\n)\n',
        "secret: |\n  set -e\n  echo done\n",
        'SECRET_KEY = (\n\n    os.environ["SECRET_KEY"]\n)\n',
        "export API_KEY=${API_KEY:-dev} && make run\n",
        "INFO failed to validate token: ExpiredSignatureError raised\n",
        "secrets:\n  - name: db\n    key: url\n",
        "password:\n  min_length: 12\n  require_digit: true\n",
        'def check_password(\n    "plain text",\n)\n',
        "token: |\n  one\n  two\n",
        "api_key: >-\n  must be set in the environment before the service starts\n",
        f'SECRET_KEY = (\n    "{SECRET}" + suffix\n)\n',
    ],
)
def test_what_follows_a_secret_name_and_is_no_value_is_kept(text: str) -> None:
    """Code, a list of names, a nested mapping, a template, a description; a string joined with code is
    one expression (as on one line)."""
    assert Redactor().mask_text(text) == (text, 0)


def test_a_continued_value_ends_where_its_bracket_closes() -> None:
    """The strings after the closing line belong to the next statement."""
    text = f'SECRET_KEY = (\n    "{SECRET}"\n)\n"{SECRET}"\nNAME = (\n    "jobs"\n)\n'
    masked, count = Redactor().mask_text(text)
    assert (
        count == 1 and masked.count(SECRET) == 1 and masked.endswith(f'"{SECRET}"\nNAME = (\n    "jobs"\n)\n')
    )


def test_a_token_before_a_log_separator_is_the_value_and_the_rest_of_the_line_stays() -> None:
    """`password=<token> - {}`: the token is masked, the message after the separator is kept; a passphrase
    of several words is still masked whole."""
    token = fill("{b64url:12}-{b64url:12}", "log-separator")[0]
    for line in (f"login attempt user=admin password={token} - {{}}", f"INFO api_key={token} | worker-2"):
        masked, count = Redactor().mask_text(line)
        assert (masked, count) == (line.replace(token, "[REDACTED]"), 1)
    assert Redactor().mask_text("password=correct horse battery staple") == ("password=[REDACTED]", 1)
