"""What language a command line, a notebook magic or a file extension is written in.

Shared by the multiple-language rules (MLD902, MLD903). Only programs that *are* another
language's interpreter, compiler or runner count: ``git``, ``pip``, ``ls`` or ``nvidia-smi``
are tools, not a second language the team has to maintain.
"""

from __future__ import annotations

import re
import shlex

#: Program name (lower case, without a path or ``.exe``) -> language.
PROGRAMS: dict[str, str] = {
    "rscript": "R",
    "r": "R",
    "julia": "Julia",
    "java": "Java",
    "javac": "Java",
    "scala": "Scala",
    "sbt": "Scala",
    "spark-submit": "Spark (JVM)",
    "spark-shell": "Scala",
    "bash": "shell",
    "sh": "shell",
    "zsh": "shell",
    "ksh": "shell",
    "dash": "shell",
    "node": "JavaScript",
    "nodejs": "JavaScript",
    "matlab": "MATLAB",
    "octave": "Octave",
    "octave-cli": "Octave",
    "perl": "Perl",
    "ruby": "Ruby",
    "psql": "SQL",
    "mysql": "SQL",
    "sqlite3": "SQL",
    "sqlcmd": "SQL",
    "hive": "SQL",
    "beeline": "SQL",
    "bq": "SQL",
    "stata": "Stata",
    "sas": "SAS",
    "powershell": "PowerShell",
    "pwsh": "PowerShell",
}
#: A script run directly (``./prepare.sh``, ``fit.R``) -> language, by extension.
SCRIPTS: dict[str, str] = {
    ".sh": "shell",
    ".bash": "shell",
    ".r": "R",
    ".jl": "Julia",
    ".jar": "Java",
    ".scala": "Scala",
    ".js": "JavaScript",
    ".m": "MATLAB",
    ".pl": "Perl",
    ".rb": "Ruby",
    ".sql": "SQL",
    ".ps1": "PowerShell",
}
#: Cell magics whose body is another language -> the language.
CELL_MAGICS: dict[str, str] = {
    "bash": "shell",
    "sh": "shell",
    "script": "shell",
    "system": "shell",
    "R": "R",
    "Rpush": "R",
    "sql": "SQL",
    "bigquery": "SQL",
    "sparksql": "SQL",
    "javascript": "JavaScript",
    "js": "JavaScript",
    "julia": "Julia",
    "perl": "Perl",
    "ruby": "Ruby",
    "scala": "Scala",
    "spark": "Scala",
    "octave": "Octave",
    "matlab": "MATLAB",
    "cmd": "shell",
    "powershell": "PowerShell",
}
#: Line magics (``%sql SELECT ...``, ``%R x <- 1``) that run another language.
LINE_MAGICS: dict[str, str] = {"sql": "SQL", "R": "R", "julia": "Julia", "octave": "Octave"}

_SEGMENTS = re.compile(r"&&|\|\||[;|\n]")
_ASSIGNMENT = re.compile(r"^[A-Za-z_]\w*=")
#: Programs that run the next word as the command (``env X=1 Rscript``, ``nohup julia``).
_WRAPPERS = frozenset({"env", "nohup", "time", "exec", "sudo", "nice", "xargs", "command"})


def program_language(word: str) -> str | None:
    """The language a command's first word runs: ``Rscript`` -> R, ``./fit.R`` -> R."""
    name = word.strip("\"'").replace("\\", "/").rsplit("/", 1)[-1]
    lowered = name.lower()
    if lowered.endswith(".exe"):
        lowered = lowered[:-4]
    found = PROGRAMS.get(lowered)
    if found is not None:
        return found
    stem, dot, extension = lowered.rpartition(".")
    if dot and stem:
        return SCRIPTS.get("." + extension)
    return None


def command_languages(words: list[str]) -> list[tuple[str, str]]:
    """``(language, program)`` of an argument list's command (``["Rscript", "fit.R"]``)."""
    index = 0
    while index < len(words) and (
        words[index] in _WRAPPERS or _ASSIGNMENT.match(words[index]) or words[index] == "-"
    ):
        index += 1
    if index >= len(words):
        return []
    language = program_language(words[index])
    if language is None:
        return []
    # `java -jar x.jar`, `bash run.sh`: the program is the interpreter, the script says more.
    script = next((w for w in words[index + 1 :] if not w.startswith("-")), None)
    shown = words[index] if script is None else f"{words[index]} {script}"
    return [(language, shown)]


def shell_languages(command: str) -> list[tuple[str, str]]:
    """``(language, program)`` of every command of a shell line (``cd r && Rscript fit.R``)."""
    found: list[tuple[str, str]] = []
    for segment in _SEGMENTS.split(command):
        try:
            words = shlex.split(segment, comments=True)
        except ValueError:
            words = segment.split()
        for language, program in command_languages(words):
            if (language, program) not in found:
                found.append((language, program))
    return found
