"""MLD307: API keys, tokens, passwords and connection strings written into the code."""

from __future__ import annotations

import hashlib
import re

import libcst as cst

from mldebt.findings import Severity
from mldebt.graph import is_test_path
from mldebt.literals import string_value
from mldebt.rule import BAD, GOOD, FileRule
from mldebt.secrets import entropy, is_placeholder, mask, token_shape, url_password
from mldebt_rules._arrays import TextGate

#: Words of a name that say its value is a credential (``HF_TOKEN``, ``db_password``, ``apiKey``).
_SECRET_WORDS = frozenset(
    {"password", "passwd", "pwd", "passphrase", "secret", "apikey", "credential", "credentials"}
)
#: Token words that name a credential only as the name's last word (``hf_token``,
#: ``access_token``), never tokenizer vocabulary (``pad_token``, ``eos_token``).
_TOKENIZER_WORDS = frozenset(
    {
        "pad", "eos", "bos", "unk", "sep", "cls", "mask", "special", "start", "end", "image",
        "audio", "video", "vision", "boi", "eoi", "img", "decoder", "encoder", "sot", "eot",
        "prefix", "suffix", "middle", "split", "max", "num", "first", "last", "next", "new",
        "added", "default", "placeholder", "ignore", "control", "break", "separator", "delimiter",
        "fim", "think", "tool", "pause", "space", "word", "line", "blank", "null", "none",
    }
)  # fmt: skip
_CREDENTIAL_TOKENS = frozenset(
    {
        "access",
        "auth",
        "api",
        "hf",
        "hub",
        "github",
        "gh",
        "bearer",
        "bot",
        "slack",
        "oauth",
        "refresh",
        "session",
        "secret",
        "private",
        "personal",
        "wandb",
        "openai",
        "comet",
        "neptune",
        "kaggle",
    }
)
_KEY_OWNERS = frozenset(
    {
        "api",
        "secret",
        "access",
        "private",
        "aws",
        "openai",
        "wandb",
        "comet",
        "neptune",
        "kaggle",
        "client",
        "service",
        "account",
        "license",
    }
)
_WORDS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
_GATE = (
    *("hf_", "sk-", "AKIA", "ASIA", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    *("glpat-", "xox", "AIza", "wandb_v1", "://", "oken", "OKEN", "ecret", "ECRET", "assw"),
    *("ASSW", "pwd", "PWD", "key", "KEY", "Key", "redential", "REDENTIAL"),
)
_NAME_PARTS = ("pass", "pwd", "secret", "token", "key", "credential")
#: What a literal's source must hold to be worth evaluating for a token format or a URL password.
_MAYBE_SECRET = re.compile(r"hf_|sk-|AKIA|ASIA|gh[pousr]_|github_pat_|glpat-|xox|AIza|wandb_v1_|://")
#: How random a value under a token or key name must look (bits per character).
_MIN_ENTROPY = 3.0
_TOKEN_VALUE = re.compile(r"^[A-Za-z0-9_\-+/=.:~]{16,}$")


def secret_name(name: str) -> bool:
    """Does the name say its value is a credential?"""
    lowered = name.lower()
    if not any(part in lowered for part in _NAME_PARTS):
        return False
    words = [w.lower() for w in _WORDS.findall(name)]
    if not words:
        return False
    if any(w in _SECRET_WORDS for w in words):
        return not any(w in ("name", "names", "id", "file", "path", "env", "var", "field",
                             "prompt", "hash", "length", "len", "min", "max", "policy", "manager",
                             "type", "label", "help", "url", "dir", "salt", "rounds")
                       for w in words[1:])  # fmt: skip
    last, before = words[-1], words[:-1]
    if last in ("token", "tokens") and before:
        return before[-1] in _CREDENTIAL_TOKENS and not any(w in _TOKENIZER_WORDS for w in before)
    if last == "token":
        return True
    if last in ("key", "keys") and before:
        return before[-1] in _KEY_OWNERS
    return False


def looks_secret(value: str, password: bool) -> bool:
    """A value under a credential name: a password (any non-placeholder word without spaces)
    or a token (16+ token characters, random enough)."""
    if is_placeholder(value) or any(c.isspace() for c in value):
        return False
    if password:
        return 6 <= len(value) <= 128
    return (
        bool(_TOKEN_VALUE.match(value))
        and entropy(value) >= _MIN_ENTROPY
        and any(c.isdigit() for c in value)
    )


def _is_password(name: str) -> bool:
    return any(
        w.lower() in ("password", "passwd", "pwd", "passphrase") for w in _WORDS.findall(name)
    )


class HardCodedSecret(TextGate, FileRule):
    gates = (_GATE,)
    code = "MLD307"
    name = "hard-coded-secret"
    category = "configuration-debt"
    severity = Severity.ERROR
    debt_minutes = 15.0
    tags = ("huggingface", "openai", "aws", "databases")
    summary = "An API key, token, password or connection-string password written into the code."
    what = (
        "String literals that are credentials: values of well-known token formats anywhere "
        "(Hugging Face `hf_…`, OpenAI `sk-…`, AWS `AKIA…`, GitHub `ghp_…`, GitLab `glpat-…`, "
        "Slack `xox?-…`, Google `AIza…`, Weights & Biases), URLs with a `user:password@` part "
        "(database connection strings, MLflow or feature-store URIs), and literals bound to a "
        "credential name — `HF_TOKEN = …`, `db_password = …`, `api_key=…`, "
        "`use_auth_token=…`, `{'password': …}`, `os.environ['OPENAI_API_KEY'] = …` — when the "
        "value looks like a secret (a password without spaces; a token of 16+ characters "
        "with a digit and at least 3 bits of entropy per character). Placeholders (`''`, "
        "`changeme`, `<your key>`, `xxxx`, `${TOKEN}`, `%(password)s`) and values read from "
        "the environment, `getpass()` or a secret store are not reported. In test files only "
        "well-known token formats are. The message shows the secret masked (`hf_…(37 chars)`) "
        "and the finding marks the literal so that no report quotes it."
    )
    why = (
        "Sculley et al., §Configuration Debt: configuration scattered through code is debt, and "
        "a credential is the configuration that costs most when it leaks — it is copied with "
        "every clone, fork, notebook export and CI log, cannot be rotated without a code "
        "change, and ties the code to one person's account (the token of whoever wrote the "
        "notebook). Training code is a common place for it: hub tokens in `from_pretrained`, "
        "database passwords in the query that builds the training set."
    )
    limits = (
        "Secrets built at run time (concatenated from parts, base64-decoded) and secrets in "
        "configuration files (YAML, .env) are not found; neither are passwords under names that "
        "do not say so. A high-entropy value under a credential name that is in fact a public "
        "identifier (a client id, a public key) is reported: suppress it on the line."
    )
    examples = (
        BAD(
            """
            from transformers import AutoModelForSequenceClassification

            HF_TOKEN = "hf_kTqW3ZbLmR8xYvN2pJdC5sHfA9gUeK4oQi"

            model = AutoModelForSequenceClassification.from_pretrained(
                "acme/fraud-bert", token=HF_TOKEN
            )
            """
        ),
        BAD(
            """
            import pandas as pd
            from sqlalchemy import create_engine

            engine = create_engine("postgresql://ml_reader:Tr4in!ngData@db.acme.internal/fraud")
            transactions = pd.read_sql("SELECT * FROM transactions", engine)
            """
        ),
        BAD(
            """
            # %%
            import openai
            import wandb
            # %%
            client = openai.OpenAI(api_key="sk-proj-9fKd02LmQx7RtYzWp3NvB8cHs1JaE6gU")
            WANDB_API_KEY = "5d8f2a9c41e07b3f6a2d9e8c7b1a0f4e3d2c1b0a"
            """,
            path="explore.ipynb",
            expect=2,
        ),
        BAD(
            """
            import os
            import boto3

            os.environ["AWS_SECRET_ACCESS_KEY"] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYz8q3Lk2Mn"
            s3 = boto3.client("s3", aws_access_key_id="AKIAZ7QW3RT5YU8IOP2M")
            db = {"host": "warehouse", "user": "etl", "password": "s3cr3t-Winter24"}
            """,
            expect=3,
        ),
        GOOD(
            """
            import os
            from getpass import getpass

            from transformers import AutoModelForSequenceClassification

            HF_TOKEN = os.environ["HF_TOKEN"]
            DB_PASSWORD = getpass("database password: ")
            model = AutoModelForSequenceClassification.from_pretrained(
                "acme/fraud-bert", token=HF_TOKEN, use_auth_token=True
            )
            """
        ),
        GOOD(
            """
            import os
            from sqlalchemy import create_engine

            url = f"postgresql://{os.environ['DB_USER']}:{os.environ['DB_PASSWORD']}@db/fraud"
            engine = create_engine(url)
            EXAMPLE_URL = "postgresql://user:password@localhost:5432/mydb"
            api_key = "<your OpenAI key here>"
            password = ""
            """
        ),
        GOOD(
            """
            from transformers import AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased", revision="86b5e09")
            tokenizer.add_special_tokens({"pad_token": "[PAD]", "cls_token": "<|startoftext|>"})
            eos_token = "<|endoftext|>"
            PASSWORD_ENV_VAR = "DB_PASSWORD"
            cache_key = "f3a9c2e17b4d8e0a6c5b"
            """
        ),
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.test = is_test_path(self.context.path)
        self.seen: set[int] = set()

    # credential names ---------------------------------------------------------------------

    def visit_Assign(self, node: cst.Assign) -> None:
        if self.test:
            return
        for target in node.targets:
            name = _target_name(target.target)
            if name is not None:
                self._named(name, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if self.test or node.value is None:
            return
        name = _target_name(node.target)
        if name is not None:
            self._named(name, node.value)

    def visit_Arg(self, node: cst.Arg) -> None:
        if self.test or node.keyword is None:
            return
        self._named(node.keyword.value, node.value)

    def visit_Param(self, node: cst.Param) -> None:
        if self.test or node.default is None:
            return
        self._named(node.name.value, node.default)

    def visit_DictElement(self, node: cst.DictElement) -> None:
        if self.test:
            return
        key = string_value(node.key)
        if key is not None and len(key) <= 64:
            self._named(key, node.value)

    # well-known formats anywhere ------------------------------------------------------------

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        if id(node) in self.seen or not _MAYBE_SECRET.search(node.value):
            return
        value = string_value(node)
        if value:
            self._shaped(node, value)

    def visit_FormattedStringText(self, node: cst.FormattedStringText) -> None:
        if id(node) in self.seen or not _MAYBE_SECRET.search(node.value):
            return
        self._shaped(node, node.value)

    def _shaped(self, node: cst.CSTNode, value: str) -> None:
        found = token_shape(value)
        if found is not None:
            shape, match = found
            shown = mask(match.group(), shape.prefix)
            self._report(node, f"hard-coded {shape.kind} `{shown}`", match.group())
            return
        if self.test:
            return
        creds = url_password(value)
        if creds is not None:
            where = creds.group().split("://", 1)[0]
            shown = mask(creds.group(1))
            self._report(
                node,
                f"hard-coded password `{shown}` in a {where}:// connection string",
                creds.group(1),
            )

    def _named(self, name: str, value: cst.BaseExpression) -> None:
        if not secret_name(name):
            return
        literal = string_value(value)
        if literal is None or id(value) in self.seen:
            return
        if token_shape(literal) is not None or url_password(literal) is not None:
            return  # reported with its format by visit_SimpleString
        if not looks_secret(literal, _is_password(name)):
            return
        self._report(value, f"hard-coded secret `{mask(literal)}` in `{name}`", literal)

    def _report(self, node: cst.CSTNode, what: str, secret: str) -> None:
        self.seen.add(id(node))
        if isinstance(node, cst.ConcatenatedString):
            self.seen.update(id(part) for part in (node.left, node.right))
        digest = hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        self.report(
            node,
            f"{what}: read it from the environment or a secret store "
            "(os.environ, a .env file kept out of git, the platform's secrets) and rotate it",
            basis=f"secret:{digest}",
            redact=[node],
        )


def _target_name(target: cst.BaseExpression) -> str | None:
    """``NAME``, ``obj.NAME`` or ``mapping["NAME"]`` (``os.environ["HF_TOKEN"] = …``)."""
    if isinstance(target, cst.Name):
        return target.value
    if isinstance(target, cst.Attribute):
        return target.attr.value
    if isinstance(target, cst.Subscript) and len(target.slice) == 1:
        index = target.slice[0].slice
        if isinstance(index, cst.Index):
            return string_value(index.value)
    return None
