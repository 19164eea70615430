"""Crontab text: lava's managed block between its markers, words for cron's command field, cron syntax.

Everything here is plain text work; nothing runs a process or reads the realm.
"""

from __future__ import annotations

import difflib
import re
import shlex

START = "#### Lava Schedules Start ####"
END = "#### Lava Schedules End ####"
# Debian's crontab refuses a command longer than this ("command too long"); env lines are held to
# the same limit because the daemon reads them into a buffer of about that size.
MAX_LINE = 998
AT_FORMS = frozenset({"@reboot", "@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"})
_MONTHS = frozenset(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])
_DAYS = frozenset(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])
_FIELD_NAMES = ("minute", "hour", "day of month", "month", "day of week")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LINE_BREAKS = ("\n", "\r", "\0")


class CrontabError(ValueError):
    """The crontab (or a line lavasched would write into it) cannot be handled as asked."""


# ---------------------------------------------------------------------- the command field
def cron_word(word: str) -> str:
    """``word`` as one shell word inside cron's command field.

    Shell quoting as usual, plus cron's own escapes: an unescaped ``%`` ends the
    command (the rest becomes its stdin), ``\\%`` stands for ``%`` and Debian's
    cron also turns ``\\\\`` into ``\\``. A word holding ``%`` or ``\\`` is
    single-quoted with each ``%`` written outside the quotes as ``\\%`` and each
    backslash followed by a closing and reopening quote, so no backslash is ever
    followed by ``%`` or another backslash except in the ``\\%`` escapes: the
    line means the same to crons that collapse ``\\\\`` and crons that do not.
    """
    if any(c in word for c in _LINE_BREAKS):
        msg = f"{word!r}: a crontab line cannot hold a line break or NUL"
        raise CrontabError(msg)
    if "%" not in word and "\\" not in word:
        return shlex.quote(word)
    body = word.replace("'", "'\"'\"'").replace("\\", "\\''").replace("%", "'\\%'")
    return f"'{body}'"


def command(words: list[str], log: str) -> str:
    """The command field of one entry: the quoted words, output appended to ``log``."""
    return " ".join(cron_word(w) for w in words) + " >> " + cron_word(log) + " 2>&1"


# ---------------------------------------------------------------------- environment lines
def env_name_problem(name: str) -> str | None:
    if not _ENV_NAME.match(name):
        return "not a variable name (letters, digits and _, not starting with a digit)"
    return None


def env_line(name: str, value: str) -> str:
    """``NAME=value`` as cron reads it: bare when that keeps the value exact, else quoted.

    cron strips blanks around the value and removes one pair of matching quotes
    around it, so a value with blanks at either end, a leading quote or no
    characters at all is written in quotes. A value cron cannot carry (a line
    break, or both kinds of quote where quoting is needed) is refused.
    """
    if any(c in value for c in _LINE_BREAKS):
        msg = "a crontab variable cannot hold a line break or NUL"
        raise CrontabError(msg)
    if value and value == value.strip() and value[0] not in "'\"" and value[-1] not in "'\"":
        line = f"{name}={value}"
    elif '"' not in value:
        line = f'{name}="{value}"'
    elif "'" not in value:
        line = f"{name}='{value}'"
    else:
        msg = "cron cannot carry this value exactly (it needs quoting and holds both kinds of quote)"
        raise CrontabError(msg)
    if len(line.encode()) > MAX_LINE:
        msg = f"the crontab line would be {len(line.encode())} bytes; cron takes at most {MAX_LINE}"
        raise CrontabError(msg)
    return line


# ---------------------------------------------------------------------- the time fields
def cron_syntax_problem(crontab: str) -> str | None:
    """Why the host's cron would refuse or misread a crontab that croniter accepts, or None.

    cron takes five fields of numbers, ``*``, ``,``, ``-`` and ``/`` (three-letter
    names in the month and weekday fields) or one of its ``@`` forms. croniter's
    extensions (a seconds field, ``L``, ``W``, ``#``, ``?``, hashed ``H``) are
    refused here rather than written where cron would reject the whole file or,
    for a sixth field, silently run the rest of the line as the command.
    """
    if crontab.startswith("@"):
        return None if crontab in AT_FORMS else f"cron has no {crontab.split(maxsplit=1)[0]} form"
    fields = crontab.split()
    if len(fields) == 6:
        return ("has a seconds field, which cron cannot express (it would read the sixth field as the "
                "start of the command); drop it, or use the embedded dispatcher (lava dispatcher run)")
    if len(fields) != 5:
        return f"expected 5 fields, got {len(fields)}"
    for name, text in zip(_FIELD_NAMES, fields, strict=True):
        names = _MONTHS if name == "month" else _DAYS if name == "day of week" else frozenset()
        for part in re.split(r"[,/-]", text.lower()):
            if part == "*" or part.isdigit() or part in names:
                continue
            if not part:
                return f"{name} field {text!r} is not valid for cron"
            return f"{name} field {text!r}: {part!r} is a croniter extension cron does not understand"
    return None


# ---------------------------------------------------------------------- the managed block
def _lines(text: str) -> list[str]:
    """Lines with their ``\\n`` kept; only ``\\n`` separates lines (as for cron)."""
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _is(line: str, marker: str) -> bool:
    return line.strip() == marker


def splice(old: str, block: str) -> str:
    """``old`` with lava's block (``block``: its lines, markers included) replaced, or appended when there is none.

    Every line outside the markers is kept byte for byte; only a missing newline
    at the very end is added, since crontab refuses a file without one. Markers
    that do not form exactly one start-then-end pair are an error: guessing
    where lava's lines end could delete the user's.
    """
    lines = _lines(old)
    starts = [i for i, line in enumerate(lines) if _is(line, START)]
    ends = [i for i, line in enumerate(lines) if _is(line, END)]
    if not starts and not ends:
        before, after = lines, []
    elif len(starts) == 1 and len(ends) == 1 and starts[0] < ends[0]:
        before, after = lines[:starts[0]], lines[ends[0] + 1:]
    else:
        raise CrontabError(_marker_problem(starts, ends))
    if before and not before[-1].endswith("\n"):
        before[-1] += "\n"
    text = "".join(before) + block + "".join(after)
    return text if text.endswith("\n") else text + "\n"


def _marker_problem(starts: list[int], ends: list[int]) -> str:
    where = "; ".join([*(f"{START!r} on line {i + 1}" for i in starts), *(f"{END!r} on line {i + 1}" for i in ends)])
    if len(starts) == 1 and not ends:
        why = "a start marker without an end marker after it, so lava cannot tell where its lines stop"
    elif len(starts) == 1 and len(ends) == 1:
        why = "the end marker comes before the start marker"
    elif not starts:
        why = "an end marker without a start marker"
    else:
        why = "more than one start or end marker"
    return (f"the crontab has {why} ({where}). Nothing was changed: fix the markers by hand (crontab -e) so "
            "that lava's lines sit between one start and one end marker, or remove lava's lines and both markers.")


def diff(old: str, new: str) -> str:
    """A unified diff of the two crontabs with one line of context."""
    return "".join(difflib.unified_diff(_lines(old), _lines(new), "crontab.old", "crontab.new", n=1))
