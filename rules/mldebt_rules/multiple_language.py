"""MLD901-MLD903: the multiple-language smell — SQL in strings, other interpreters called
through subprocess, notebook cells in another language."""

from __future__ import annotations

import re

import libcst as cst

from mldebt.findings import Severity
from mldebt.literals import string_value
from mldebt.resolve.kinds import argument, keyword
from mldebt.rule import BAD, GOOD, FileRule
from mldebt_rules._arrays import TextGate, source
from mldebt_rules._languages import (
    CELL_MAGICS,
    LINE_MAGICS,
    command_languages,
    shell_languages,
)

_WHY_SCULLEY = (
    'Sculley et al. (NIPS 2015), "ML-System Anti-Patterns", *Multiple-Language Smell*: '
    "writing a system's pieces in several languages is tempting when each language has a "
    "convenient library, but it makes testing harder and hands the system to a team that "
    "must know every language; ownership moves between people and the seams between the "
    "languages are tested by nobody."
)

# --- MLD901 --------------------------------------------------------------------------------------

#: Calls that run a query: method name -> argument (position, keyword) of the query.
_SQL_METHODS: dict[str, tuple[int, str]] = {
    "read_sql": (0, "sql"),
    "read_sql_query": (0, "sql"),
    "read_gbq": (0, "query"),
    "execute": (0, "sql"),
    "executemany": (0, "sql"),
    "executescript": (0, "sql_script"),
    "exec_driver_sql": (0, "statement"),
    "sql": (0, "sqlQuery"),
    "query": (0, "query"),
    "raw": (0, "raw_query"),
}
#: Receivers of ``.query(...)`` / ``.sql(...)`` that are not SQL engines (pandas' query
#: language, for instance) are told apart by the query text: it must start like SQL.
_SQL_START = re.compile(
    r"\s*(?:--[^\n]*\n\s*)*(SELECT|WITH|INSERT|CREATE|UPDATE|DELETE|REPLACE|MERGE|DROP|ALTER"
    r"|TRUNCATE)\b",
    re.IGNORECASE,
)
_READ = re.compile(r"\b(?:FROM|JOIN|USING)\s+([A-Za-z_][\w.\"`\[\]]*)", re.IGNORECASE)
_WRITE = re.compile(
    r"\b(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMP\w*\s+)?"
    r"(?:TABLE|VIEW)(?:\s+IF\s+NOT\s+EXISTS)?|UPDATE|DELETE\s+FROM|REPLACE\s+INTO|MERGE\s+INTO"
    r"|DROP\s+(?:TABLE|VIEW)(?:\s+IF\s+EXISTS)?|ALTER\s+TABLE|TRUNCATE(?:\s+TABLE)?)\s+"
    r"([A-Za-z_][\w.\"`\[\]]*)",
    re.IGNORECASE,
)
_CTE = re.compile(r"(?:\bWITH|,)\s*(?:RECURSIVE\s+)?([A-Za-z_]\w*)\s+AS\s*\(", re.IGNORECASE)
_WORK: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a join", re.compile(r"\bJOIN\b", re.IGNORECASE)),
    ("an aggregation", re.compile(r"\bGROUP\s+BY\b|\bHAVING\b", re.IGNORECASE)),
    ("a window function", re.compile(r"\bOVER\s*\(", re.IGNORECASE)),
    ("a CTE", re.compile(r"^\s*WITH\b", re.IGNORECASE)),
    ("a subquery", re.compile(r"\(\s*SELECT\b", re.IGNORECASE)),
    ("a UNION", re.compile(r"\bUNION\b", re.IGNORECASE)),
    ("a CASE expression", re.compile(r"\bCASE\s+WHEN\b", re.IGNORECASE)),
    (
        "DDL/DML",
        re.compile(
            r"^\s*(?:INSERT|CREATE|UPDATE|DELETE|REPLACE|MERGE|DROP|ALTER|TRUNCATE)\b",
            re.IGNORECASE,
        ),
    ),
)
_KEYWORDS = frozenset({"select", "lateral", "unnest", "dual", "values"})


def query_work(text: str) -> list[str]:
    """What a query does beyond reading one table: ``["a join", "an aggregation"]``."""
    return [what for what, pattern in _WORK if pattern.search(text)]


def query_tables(text: str) -> tuple[list[str], list[str]]:
    """(tables read, tables written) by a query; CTE names are not tables."""
    ctes = {name.lower() for name in _CTE.findall(text)}
    written = sorted({_table(t) for t in _WRITE.findall(text)} - {""} - ctes)
    read = sorted(
        {_table(t) for t in _READ.findall(text)} - {""} - ctes - _KEYWORDS - set(written)
    )
    return read, written


def _table(name: str) -> str:
    return name.strip('"`[]').lower()


def _sql_text(resolver_constant: cst.BaseExpression | None) -> str | None:
    node = resolver_constant
    if isinstance(node, cst.FormattedString):
        return "".join(
            part.value if isinstance(part, cst.FormattedStringText) else "x"
            for part in node.parts
        )
    if isinstance(node, cst.Call):  # sqlalchemy.text("...")
        func = node.func
        name = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", "")
        if name == "text" and node.args:
            return _sql_text(node.args[0].value)
        return None
    return string_value(node)


class EmbeddedSql(TextGate, FileRule):
    code = "MLD901"
    name = "embedded-sql"
    category = "multiple-language"
    severity = Severity.INFO
    debt_minutes = 15.0
    tags = ("sql", "pandas", "spark")
    gates = (("SELECT", "select", "INSERT", "insert", "CREATE", "create", "UPDATE", "WITH"),)
    summary = "A SQL query that does real work lives in a Python string."
    what = (
        "SQL passed as a string to an API that runs it (`pd.read_sql`, `read_sql_query`, "
        "`cursor.execute`, `executemany`, `executescript`, `conn.exec_driver_sql`, "
        "`spark.sql`, `pd.read_gbq`, `client.query`, `sqlalchemy.text`) when the query does "
        "real work: a join, an aggregation (`GROUP BY`, `HAVING`), a window function, a "
        "CTE, a subquery, a UNION, a CASE expression, or DDL/DML (`INSERT`, `CREATE TABLE`, "
        "`UPDATE`, `DELETE`, ...). "
        "One finding per query, naming the tables it reads and writes; the string may be "
        "written at the call, in an f-string, or in a constant of the file. The tables are "
        "artifacts of the project graph (reads and writes edges), so pipeline rules see them."
    )
    why = (
        _WHY_SCULLEY + " A join or an aggregation in a Python string is a second program: "
        "no SQL linter, formatter or test sees it, its tables are invisible to the Python "
        "side, and its logic (the feature definitions) is duplicated the day someone writes "
        "the same join in pandas."
    )
    limits = (
        "A trivial read (`SELECT a, b FROM t WHERE ...` without joins, grouping or "
        "subqueries, and a bare `SELECT COUNT(*) FROM t`) is not reported: loading a table by "
        "a query is glue, not a second program. Queries built at run time from pieces the "
        "file does not spell out are not seen; the table names come from a regular "
        "expression, not a SQL parser, so quoted names with spaces or dialect-specific "
        "syntax may be misnamed. ORM query builders (SQLAlchemy Core expressions) are "
        "Python, not SQL strings, and are not reported."
    )
    examples = (
        BAD(
            """
            import sqlite3
            import pandas as pd

            con = sqlite3.connect("warehouse.db")
            features = pd.read_sql(
                '''
                SELECT c.customer_id, COUNT(o.id) AS n_orders, SUM(o.amount) AS revenue
                FROM customers c JOIN orders o ON o.customer_id = c.customer_id
                GROUP BY c.customer_id
                ''',
                con,
            )
            """
        ),
        BAD(
            """
            import sqlite3

            DAILY = '''
            WITH daily AS (SELECT store, date(ts) AS day, SUM(qty) AS qty FROM sales GROUP BY 1, 2)
            INSERT INTO store_daily SELECT * FROM daily
            '''

            def refresh(db: str) -> None:
                with sqlite3.connect(db) as con:
                    con.execute(DAILY)
                    con.execute("DELETE FROM store_daily WHERE qty < 0")
            """,
            expect=2,
        ),
        BAD(
            """
            # %%
            from pyspark.sql import SparkSession
            spark = SparkSession.builder.getOrCreate()
            # %%
            day = "2024-05-01"
            clicks = spark.sql(
                f"SELECT user_id, count(*) AS n FROM events WHERE day = '{day}' GROUP BY user_id"
            )
            """,
            path="explore.ipynb",
        ),
        GOOD(
            """
            import sqlite3
            import pandas as pd

            con = sqlite3.connect("warehouse.db")
            customers = pd.read_sql("SELECT customer_id, tenure, plan FROM customers", con)
            orders = pd.read_sql_table("orders", con)
            n_orders = orders.groupby("customer_id").size().rename("n")
            features = customers.merge(n_orders, on="customer_id")
            """
        ),
        GOOD(
            """
            import pandas as pd

            df = pd.read_parquet("events.parquet")
            recent = df.query("days_since_signup < 30 and country == 'FR'")
            print("SELECT your features from the list below")
            """
        ),
        GOOD(
            """
            from sqlalchemy import select, func

            def order_counts(session, orders):
                stmt = select(orders.c.customer_id, func.count()).group_by(orders.c.customer_id)
                return session.execute(stmt).all()
            """
        ),
    )

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute):
            if not (isinstance(func, cst.Name) and func.value in ("read_sql", "read_sql_query")):
                return
            method = func.value
        else:
            method = func.attr.value
        where = _SQL_METHODS.get(method)
        if where is None:
            return
        query = argument(node, *where)
        if query is None:
            return
        text = _sql_text(query)
        if text is None and isinstance(query, cst.Name):
            text = _sql_text(self.context.resolver.constant(query))
        if text is None or not _SQL_START.match(text):
            return
        work = query_work(text)
        if not work:
            return
        read, written = query_tables(text)
        parts = []
        if read:
            parts.append("reads " + ", ".join(read))
        if written:
            parts.append("writes " + ", ".join(written))
        tables = "; ".join(parts) or "no table named"
        self.report(
            node,
            f"SQL with {_join(work)} embedded in `{source(self.context.module, func)}()` "
            f"({tables}): keep the query in a .sql file or view that SQL tools can test",
        )


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


# --- MLD902 --------------------------------------------------------------------------------------

_RUNNERS = frozenset(
    {
        "subprocess.run",
        "subprocess.call",
        "subprocess.check_call",
        "subprocess.check_output",
        "subprocess.Popen",
        "subprocess.getoutput",
        "subprocess.getstatusoutput",
        "os.system",
        "os.popen",
        "os.execvp",
        "os.execv",
        "os.spawnvp",
        "asyncio.create_subprocess_exec",
        "asyncio.create_subprocess_shell",
    }
)
_RUNNER_NAMES = frozenset(name.rsplit(".", 1)[1] for name in _RUNNERS)
#: Runners whose argument is one shell string.
_SHELL_RUNNERS = frozenset(
    {
        "os.system",
        "os.popen",
        "subprocess.getoutput",
        "subprocess.getstatusoutput",
        "asyncio.create_subprocess_shell",
    }
)


class ForeignLanguageCall(TextGate, FileRule):
    code = "MLD902"
    name = "foreign-language-call"
    category = "multiple-language"
    severity = Severity.WARNING
    debt_minutes = 30.0
    tags = ("subprocess",)
    gates = (("subprocess", "os.system", "popen", "system(", "create_subprocess", "exec"),)
    summary = "Python runs another language's interpreter or script through a subprocess."
    what = (
        "`subprocess.run` / `call` / `check_call` / `check_output` / `Popen`, `os.system`, "
        "`os.popen`, `os.exec*`, `asyncio.create_subprocess_*` whose command (a literal "
        "argument list or string, or a constant of the file) starts another language: R "
        "(`Rscript`, `R`, `*.R`), Julia, Java (`java -jar`), Scala / Spark (`spark-submit`, "
        "`sbt`), shell scripts (`bash x.sh`, `./prepare.sh`), JavaScript (`node`), MATLAB, "
        "Octave, Perl, Ruby, SQL clients (`psql`, `bq`, `hive`) and others. The message "
        "names the language and the program; every command of a shell string "
        "(`cd r && Rscript fit.R`) is looked at."
    )
    why = (
        _WHY_SCULLEY + " A call into another interpreter is the smell's seam: the data "
        "crosses it as files or text, nothing type-checks the interface, and a failure on "
        "the other side shows up as an exit code."
    )
    limits = (
        "Commands built at run time from values the file does not spell out are not seen. "
        "Tools (`git`, `pip`, `nvidia-smi`, `ls`) and Python itself (`sys.executable`, "
        "`python`) are not another language and are not reported. A shell one-liner run "
        "with `shell=True` counts only when it starts one of the programs above."
    )
    examples = (
        BAD(
            """
            import subprocess

            def fit_survival_model(train_csv: str) -> None:
                subprocess.run(["Rscript", "models/survival.R", train_csv], check=True)
            """
        ),
        BAD(
            """
            import os
            import subprocess

            os.system("cd features && bash build_features.sh data/raw")
            out = subprocess.check_output("julia --project=. solve.jl", shell=True)
            """,
            expect=2,
        ),
        BAD(
            """
            # %%
            import subprocess
            SPARK_JOB = ["spark-submit", "--master", "yarn", "jobs/sessionize.jar"]
            # %%
            subprocess.Popen(SPARK_JOB).wait()
            """,
            path="etl.ipynb",
        ),
        GOOD(
            """
            import subprocess
            import sys

            subprocess.run([sys.executable, "-m", "pip", "install", "-r", "requirements.txt"])
            subprocess.run(["python", "train.py", "--epochs", "3"], check=True)
            """
        ),
        GOOD(
            """
            import subprocess

            commit = subprocess.check_output(["git", "rev-parse", "HEAD"]).decode().strip()
            gpus = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True)
            """
        ),
        GOOD(
            """
            import subprocess

            def run(command: list[str]) -> int:
                return subprocess.call(command)
            """
        ),
    )

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, (cst.Attribute, cst.Name)):
            return
        last = func.attr.value if isinstance(func, cst.Attribute) else func.value
        if last not in _RUNNER_NAMES:
            return
        name = self.context.resolver.call_name(node)
        if name not in _RUNNERS:
            return
        command = argument(node, 0, "args")
        if command is None and name in _SHELL_RUNNERS:
            command = keyword(node, "command") or keyword(node, "cmd")
        if name in ("os.execvp", "os.execv", "os.spawnvp"):
            command = argument(node, 1, "args") if name != "os.spawnvp" else argument(node, 2, "")
        if command is None:
            return
        found = self._languages(command, shell=name in _SHELL_RUNNERS)
        if not found:
            return
        languages = sorted({language for language, _ in found})
        programs = ", ".join(f"`{program}`" for _, program in found)
        self.report(
            node,
            f"`{name}` runs {' and '.join(languages)} ({programs}): a second language whose "
            "interface to this code is files and exit codes; port it, or wrap it as a tested, "
            "declared pipeline step",
        )

    def _languages(self, command: cst.BaseExpression, shell: bool) -> list[tuple[str, str]]:
        if isinstance(command, cst.Name):
            literal = self.context.resolver.constant(command)
            if literal is None:
                return []
            command = literal
        if isinstance(command, (cst.List, cst.Tuple)):
            words: list[str] = []
            for element in command.elements:
                if isinstance(element, cst.StarredElement):  # [*ARIMA, path]
                    spliced = self.context.resolver.constant(element.value)
                    if isinstance(spliced, (cst.List, cst.Tuple)):
                        words.extend(string_value(e.value) or "{}" for e in spliced.elements)
                        continue
                    if not words:
                        return []
                    words.append("{}")
                    continue
                text = string_value(element.value)
                if text is None:
                    if not words:
                        return []
                    text = "{}"
                words.append(text)
            if len(words) >= 3 and words[1] == "-c" and words[0] in ("bash", "sh", "zsh"):
                return shell_languages(words[2])
            return command_languages(words)
        text = string_value(command)
        if text is None and isinstance(command, cst.FormattedString):
            text = "".join(
                part.value if isinstance(part, cst.FormattedStringText) else "{}"
                for part in command.parts
            )
        if text is None:
            return []
        return shell_languages(text)


# --- MLD903 --------------------------------------------------------------------------------------

_BANG = re.compile(r"^\s*(?:[\w.\[\]'\", ]+?\s*=\s*)?!{1,2}(.*)$")
_LINE_MAGIC = re.compile(r"^\s*(?:[\w.\[\]'\", ]+?\s*=\s*)?%(\w+)\b")


_INSTALL = re.compile(
    r"^\s*(?:sudo\s+)?(?:pip3?|conda|mamba|micromamba|uv|apt(?:-get)?|brew|poetry)\s"
    r"|^\s*python3?\s+-m\s+pip\s"
)


def _installs_only(cell: str) -> bool:
    """Is a shell cell only package installs (``%%bash`` + ``pip install ...``)? That is the
    environment, as ``!pip install`` is, not a second language's logic."""
    body = [
        line
        for line in cell.split("\n")[1:]
        if line.strip() and not line.lstrip().startswith("#")
    ]
    return bool(body) and all(_INSTALL.match(line) for line in body)


class ForeignLanguageCell(FileRule):
    code = "MLD903"
    name = "foreign-language-cell"
    category = "multiple-language"
    severity = Severity.INFO
    debt_minutes = 15.0
    tags = ("jupyter",)
    summary = "A notebook cell runs another language (`%%bash`, `%%R`, `%%sql`, `!Rscript`)."
    what = (
        "Notebook code cells whose cell magic runs another language: `%%bash`, `%%sh`, "
        "`%%script`, `%%R`, `%%sql`, `%%bigquery`, `%%javascript`, `%%julia`, `%%perl`, "
        "`%%ruby`, `%%scala`/`%%spark`, `%%octave`, ...; and cells whose `!` shell lines "
        "start another language's interpreter or script (`!Rscript fit.R`, `!julia x.jl`, "
        "`!bash prepare.sh`) or whose line magics run one (`%sql`, `%R`). One finding per "
        "cell, on its (first) magic line, naming the language."
    )
    why = (
        _WHY_SCULLEY + " In a notebook the second language is also invisible to every "
        "Python tool: the cell is not parsed, its inputs and outputs are not in the "
        "dependency graph, and running the notebook needs that interpreter too."
    )
    limits = (
        "`!pip install`, `!ls`, `!wget` and other tool calls are not another language and "
        "are not reported, nor is a shell cell that only installs packages (`%%bash` with "
        "`pip install` / `conda install` lines); `%%html`, `%%markdown`, `%%latex`, "
        "`%%writefile` and `%%capture` cells are presentation or Python. A notebook whose "
        "kernel is not Python is not analysed at all."
    )
    examples = (
        BAD(
            """
            # %%
            import pandas as pd
            # %%
            %%bash
            mkdir -p data/raw
            python -m scripts.download --out data/raw
            # %%
            df = pd.read_csv("data/raw/transactions.csv")
            """,
            path="eda.ipynb",
        ),
        BAD(
            """
            # %%
            %load_ext sql
            %sql sqlite:///shop.db
            # %%
            %%sql
            SELECT store, SUM(amount) FROM sales GROUP BY store
            # %%
            %%R -i df
            summary(lm(amount ~ store, data = df))
            """,
            path="analysis.ipynb",
            expect=2,
        ),
        BAD(
            """
            # %%
            import json
            # %%
            !Rscript models/arima.R data/weekly.csv > forecasts.csv
            forecasts = json.load(open("forecasts.json"))
            """,
            path="forecast.ipynb",
        ),
        GOOD(
            """
            # %%
            !pip install -q lightgbm
            %matplotlib inline
            # %%
            %%time
            import lightgbm as lgb
            model = lgb.LGBMClassifier().fit(X, y)
            """,
            path="train.ipynb",
        ),
        GOOD(
            """
            # %%
            %%capture
            !wget -q https://example.com/data.zip
            # %%
            %%html
            <b>Results</b>
            # %%
            %%bash
            # the kernel needs these
            pip install -q lightgbm==4.3.0
            conda install -y -c conda-forge shap
            """,
            path="report.ipynb",
        ),
        GOOD(
            """
            import subprocess
            # A comment that mentions %%bash and !Rscript is not a cell magic.
            HELP = "run %%sql cells in the shell"
            """
        ),
    )

    def visit_Module(self, node: cst.Module) -> None:
        magics = self.context.magics
        if not magics:
            return
        starts = self.context.cell_starts
        reported: set[int] = set()
        for line in sorted(magics):
            text = magics[line]
            cell = max((s for s in starts if s <= line), default=line)
            if cell in reported:
                continue
            language, what = self._language(text)
            if language is None:
                continue
            reported.add(cell)
            self.report(
                None,
                f"notebook cell runs {language} ({what}): its inputs and outputs are invisible "
                "to the Python code and to the dependency graph; move it to a script the "
                "pipeline runs and tests",
                line=line,
                basis=f"{language}:{text.strip()[:200]}",
            )

    @staticmethod
    def _language(text: str) -> tuple[str | None, str]:
        first = text.split("\n", 1)[0].strip()
        if first.startswith("%%"):
            words = first[2:].split()
            if not words:
                return None, ""
            magic = words[0]
            if magic == "script" and len(words) > 1:
                found = command_languages(words[1:])
                if found:
                    return found[0][0], f"`%%script {words[1]}`"
            language = CELL_MAGICS.get(magic)
            if language == "shell" and _installs_only(text):
                return None, ""
            return language, f"`%%{magic}`"
        bang = _BANG.match(first)
        if bang is not None:
            found = shell_languages(bang.group(1))
            if found:
                return found[0][0], f"`!{found[0][1]}`"
            return None, ""
        line_magic = _LINE_MAGIC.match(first)
        if line_magic is not None and line_magic.group(1) in LINE_MAGICS:
            name = line_magic.group(1)
            if name == "sql" and not re.search(r"%sql\s+\w+", first):
                return None, ""
            if name == "sql" and re.search(r"%sql\s+\w+://", first):
                return None, ""  # a connection string, not a query
            return LINE_MAGICS[name], f"`%{name}`"
        return None, ""
