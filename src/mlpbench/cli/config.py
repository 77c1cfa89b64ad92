"""``--config FILE.toml`` and ``--print-config`` for every subcommand that has them.

A config file contains one ``key = value`` line per flag. Keys are the long flag names
without the leading dashes; ``batch-size`` is the written form (``--print-config``
uses it) and ``batch_size`` is accepted too, as is a flag's other long name. Values
go through the flag's own type and choices, so ``hidden = [256, 128]`` and
``hidden = "256,128"`` both work, and a bad value fails like the same flag would,
naming the file and the key. Flags given on the command line override the file.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mlpbench.cli.options import parse_hidden
from mlpbench.training.names import NO_COUNTERPART, name_hint, suggest_names

# Flags that control the config machinery or the logging and are never read from a file.
NOT_CONFIGURABLE = frozenset({"help", "config", "print_config", "verbose", "quiet"})


def find_subparser(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser:
    """Return the parser of subcommand ``command`` of the top-level ``parser``."""
    subcommands = _subcommands(parser)
    if command not in subcommands:
        raise KeyError(f"the parser has no subcommand {command!r}")
    return subcommands[command]


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Return the subcommands of the top-level ``parser``, by name."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def config_keys(subparser: argparse.ArgumentParser) -> dict[str, str]:
    """Return every config key of ``subparser``, with dashes, mapped to its name in ``config_actions``.

    Every long name of a flag is a key, so sweep's --batch-size, an alias of
    --batch-sizes, works in its file as it does on its command line.
    """
    return {
        option[2:].replace("_", "-"): name
        for name, action in config_actions(subparser).items()
        for option in action.option_strings
        if option.startswith("--")
    }


def config_actions(subparser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    """Return the configurable flags of ``subparser`` keyed by their name with dashes (``batch-size``)."""
    actions = {}
    for action in subparser._actions:
        long_names = [name for name in action.option_strings if name.startswith("--")]
        if not long_names or action.dest in NOT_CONFIGURABLE:
            continue
        actions[long_names[0][2:]] = action
    return actions


def parse_arguments(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace:
    """Parse ``argv`` and apply the subcommand's ``--config`` file, if any.

    The result also has ``explicit_options`` (the dests set on the command line or in
    the config file, so a command can tell a user's choice from a default) and
    ``config_sources`` (dest -> ``"FILE, key 'name'"`` for values that came from the
    file). Exits with status 2 on an unreadable file, an unknown key or a bad value.
    """
    args = _parse_all(parser, argv)
    subparser = find_subparser(parser, args.command)
    on_command_line = _dests_given(parser, subparser, argv)
    config_path = getattr(args, "config", None)
    from_file: dict[str, Any] = {}
    sources: dict[str, str] = {}
    if config_path is not None:
        from_file, sources = load_config(config_path, subparser, _subcommands(parser))
        subparser.set_defaults(**from_file)
        args = parser.parse_args(argv)
    args.explicit_options = frozenset(on_command_line | set(from_file))
    args.config_sources = {dest: source for dest, source in sources.items() if dest not in on_command_line}
    return args


def _parse_all(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace:
    """Parse ``argv``, reporting arguments no flag takes with the subcommand's usage.

    ``parse_args`` reports them with the top-level usage, which lists no flag of the
    subcommand; here a mistyped flag also gets the closest real one.
    """
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        subparser = find_subparser(parser, args.command)
        # Compared without their dashes, which every long flag shares and which would make
        # any word look close to some flag.
        names = [name for action in subparser._actions for name in action.option_strings]
        flags = [name[2:] for name in names if name.startswith("--")]
        valued = [
            name[2:] for action in subparser._actions if action.nargs != 0 for name in action.option_strings
        ]
        guesses = []
        lacking = []
        for position, word in enumerate(unknown):
            if word == "--":
                # argparse reads every word after it as a plain word, flags included.
                lacking.append("'--' ends the flags, so the words after it are not read as flags; remove it")
                break
            name = word.split("=")[0]
            if not name.startswith("--"):
                continue
            if args.command == "sweep" and name == "--hidden":
                note = SWEEP_HIDDEN_NOTE.format(name="--hidden-sizes", widths="512,256")
                lacking.append(f"sweep has no --hidden: {note}")
                continue
            # A flag given a value is taken to mean one that takes a value: --out FILE is
            # not --json where --json is a switch that prints to stdout.
            following = unknown[position + 1] if position + 1 < len(unknown) else ""
            # argparse reads a negative number such as -1 or -0.1 as a value, not as a flag.
            is_value = following != "" and (
                not following.startswith("-") or re.fullmatch(r"-\d+|-\d*\.\d+", following) is not None
            )
            has_value = "=" in word or is_value
            candidates = valued if has_value else flags
            # Flags must be written in full, so a shortened one is most likely meant as
            # the flag it starts; other names get the flag they name elsewhere, or the
            # closest spelling.
            close = [flag for flag in candidates if flag.startswith(name[2:])]
            if not close:
                reason = NO_COUNTERPART.get(name[2:].replace("-", "_").lower())
                if reason is not None:
                    lacking.append(f"mlpbench has no {name}: {reason}")
                    continue
                close = suggest_names(name[2:], candidates, separator="-")
            if close:
                options = " or ".join(f"--{flag}" for flag in close)
                guesses.append(f"{options} instead of {name}")
        guesses += _spaced_list_hints(subparser, argv, unknown)
        hint = f"; did you mean {', '.join(guesses)}?" if guesses else ""
        hint += "".join(f"; {line}" for line in lacking)
        subparser.error(f"unrecognized arguments: {' '.join(unknown)}{hint}")
    return args


def _spaced_list_hints(
    subparser: argparse.ArgumentParser, argv: Sequence[str], unknown: list[str]
) -> list[str]:
    """Return ``--flag A,B instead of --flag A B`` for each comma-list flag whose value went past a space.

    ``argv`` is scanned in order: the words right after a comma-list flag's value that
    argparse left over are that value's continuation. Finding them by position, not by
    text, keeps a repeated word (``--threads 1 2 --batch-size 2``) with its own flag.
    """
    left_over = list(unknown)
    hints = []
    index = 0
    while index < len(argv):
        if argv[index] == "--":
            break  # the words after it are no flag's values
        flag, equals, first = argv[index].partition("=")
        action = next((action for action in subparser._actions if flag in action.option_strings), None)
        index += 1
        if action is None or "comma list" not in (action.help or ""):
            continue
        if not equals:
            if index >= len(argv):
                break
            first = argv[index]
            index += 1
        values = [first]
        while index < len(argv) and not argv[index].startswith("-") and argv[index] in left_over:
            left_over.remove(argv[index])
            values.append(argv[index])
            index += 1
        if len(values) == 1:
            continue
        try:
            action.type(",".join(values))  # type: ignore[misc]
        except (argparse.ArgumentTypeError, ValueError, TypeError):
            # Not a value the flag takes even with commas: another mistake, which gets no hint.
            continue
        written = f"{flag}={first}" if equals else f"{flag} {first}"
        spaced = " ".join(values[1:])
        hints.append(f"{flag} {','.join(values)} instead of {written} {spaced} (one comma list, no spaces)")
    return hints


def _dests_given(
    parser: argparse.ArgumentParser, subparser: argparse.ArgumentParser, argv: Sequence[str]
) -> set[str]:
    """Return the dests of ``subparser`` that ``argv`` sets, found by parsing without defaults."""
    saved = {action: action.default for action in subparser._actions}
    try:
        for action in saved:
            action.default = argparse.SUPPRESS
        namespace = parser.parse_args(argv)
    finally:
        for action, default in saved.items():
            action.default = default
    dests = {action.dest for action in saved}
    return set(vars(namespace)) & dests


def load_config(
    path: str | Path,
    subparser: argparse.ArgumentParser,
    subcommands: Mapping[str, argparse.ArgumentParser] | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Read a TOML config file and convert each value with its flag's type.

    ``subcommands`` (all commands' parsers, by name) lets the error for an unknown key
    name the commands that take it.

    Returns
    -------
    values
        dest -> converted value, ready for ``subparser.set_defaults``.
    sources
        dest -> ``"FILE, key 'name'"``, for error messages about the value.
    """
    path = Path(path)
    try:
        with path.open("rb") as handle:
            table = tomllib.load(handle)
    except FileNotFoundError:
        subparser.error(f"config file {path} not found")
    except OSError as error:
        subparser.error(f"cannot read config file {path}: {error.strerror or error}")
    except tomllib.TOMLDecodeError as error:
        subparser.error(f"config file {path} is not valid TOML: {error}")
    except UnicodeDecodeError as error:
        subparser.error(f"config file {path} is not valid UTF-8 TOML: {error}")

    actions = config_actions(subparser)
    by_normalized = config_keys(subparser)
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for key, raw in table.items():
        name = by_normalized.get(key.replace("_", "-"))
        if name is None:
            if isinstance(raw, dict):
                subparser.error(
                    f"{path}: [{key}] starts a TOML table, but the settings go at the top of the file, "
                    f"outside any table; remove the [{key}] line"
                )
            command_line_only = _command_line_only(subparser, key)
            if command_line_only:
                subparser.error(
                    f"{path}: key {key!r} cannot be set in a config file; give {command_line_only} "
                    "on the command line"
                )
            command = subparser.prog.split()[-1]
            owners = [
                other
                for other, other_parser in (subcommands or {}).items()
                if other != command and key.replace("_", "-") in config_keys(other_parser)
            ]
            subparser.error(f"{path}: {_unknown_key_message(key, list(actions), command, owners)}")
        action = actions[name]
        source = f"{path}, key {key!r}"
        if action.dest in sources:
            subparser.error(f"{source} sets the same flag as {sources[action.dest]}; keep one of them")
        try:
            values[action.dest] = _convert(action, raw)
        except (argparse.ArgumentTypeError, ValueError, TypeError) as error:
            subparser.error(f"{source}: {error}")
        sources[action.dest] = source
    return values, sources


SWEEP_HIDDEN_NOTE = (
    "sweep times networks of one hidden layer, and {name} lists their widths, so {widths} "
    "there means two networks; use compare --hidden 512,256 for one network with both layers"
)
"""The reason sweep takes no hidden, with ``{name}`` and ``{widths}`` written as a flag's or a file key's."""

KEYS_LEFT_OUT = {
    ("profile", "epochs"): ", which times one epoch of each engine",
    ("profile", "schedule"): ", which times one epoch, so a schedule over epochs has nothing to change",
    ("sweep", "hidden"): "; " + SWEEP_HIDDEN_NOTE.format(name="hidden-sizes", widths="[512, 256]"),
}
"""Reasons why a command lacks a key that other commands take, keyed by (command, key)."""


def _command_line_only(subparser: argparse.ArgumentParser, key: str) -> str | None:
    """Return the flags of ``key`` (``-v or --verbose``) when it names one that files may not set."""
    for action in subparser._actions:
        long_names = [name[2:] for name in action.option_strings if name.startswith("--")]
        if action.dest in NOT_CONFIGURABLE and key.replace("_", "-") in long_names:
            return " or ".join(action.option_strings)
    return None


def _unknown_key_message(key: str, valid: list[str], command: str = "", owners: Sequence[str] = ()) -> str:
    hint = name_hint(key, valid, separator="-")
    if owners:
        # One file is often tried with several commands.
        names = owners[0] if len(owners) == 1 else f"{', '.join(owners[:-1])} and {owners[-1]}"
        reason = KEYS_LEFT_OUT.get((command, key.replace("_", "-")), "")
        key = f"{key!r} (a setting of {names}, not of {command}{reason})"
        # A reason of its own replaces the closest spelling, which it explains.
        hint = "" if reason.startswith(";") else hint
        hint = hint or "; remove it, or use one file per command"
    else:
        key = repr(key)
    return f"unknown key {key}{hint} (valid keys: {', '.join(valid)})"


def _convert(action: argparse.Action, raw: Any) -> Any:
    """Convert one TOML value the way argparse converts the flag's text."""
    if isinstance(raw, dict):
        raise TypeError("expected a value or a list, got a table")
    if action.nargs == 0:
        # A switch such as --print-config or --no-progress: true means "given".
        if not isinstance(raw, bool):
            quoted = " (a TOML boolean is written without quotes)" if isinstance(raw, str) else ""
            raise TypeError(f"expected true or false, got {raw!r}{quoted}")
        return action.const if raw else action.default

    takes_list = action.nargs in ("*", "+") or isinstance(action.nargs, int)
    if isinstance(raw, list):
        if takes_list:
            return [_convert_text(action, _to_text(item)) for item in raw]
        if not raw and action.type is parse_hidden:
            # hidden = [] lists no hidden layers, as --hidden 0 does.
            return []
        # A list for a single-valued flag is written as the flag's comma list (--hidden 256,128).
        return _convert_text(action, ",".join(_to_text(item) for item in raw))
    if isinstance(raw, bool):
        # The flag's own message would quote 'true' as if it were text.
        text = _to_text(raw)
        try:
            _convert_text(action, text)
        except (argparse.ArgumentTypeError, ValueError, TypeError) as error:
            raise ValueError(str(error).replace(repr(text), f"the TOML boolean {text}")) from None
        raise ValueError(f"expected a string, got the TOML boolean {text}")
    value = _convert_text(action, _to_text(raw))
    return [value] if takes_list else value


def _to_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        raise TypeError(f"expected a single value, got {value!r}")
    return str(value)


def _convert_text(action: argparse.Action, text: str) -> Any:
    if action.type is None:
        value: Any = text
    elif action.type in (int, float):
        try:
            value = action.type(text)
        except ValueError:
            kind = "an integer" if action.type is int else "a number"
            raise ValueError(f"expected {kind}, got {text!r}") from None
    else:
        value = action.type(text)  # type: ignore[operator]
    if action.choices is not None and value not in action.choices:
        choices = ", ".join(str(choice) for choice in action.choices)
        raise ValueError(f"invalid choice {value!r} (choose from {choices})")
    return value


# ----- --print-config ---------------------------------------------------------------------


def format_config(args: argparse.Namespace, subparser: argparse.ArgumentParser) -> str:
    """Return the effective values of ``subparser``'s configurable flags as TOML.

    Unset values (None) appear as comments because TOML has no null.
    """
    lines = [f"# {subparser.prog} configuration: load it with --config FILE.toml"]
    for name, action in config_actions(subparser).items():
        value = getattr(args, action.dest, None)
        if value is None:
            lines.append(f"# {name} is not set")
        else:
            lines.append(f"{name} = {toml_value(value)}")
    return "\n".join(lines) + "\n"


def toml_value(value: Any) -> str:
    """Format a flat value (bool, int, float, str, path, or a list of those) as TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str | Path):
        # A JSON string is a valid TOML basic string once DEL, which TOML also requires
        # to be escaped, is escaped too.
        return json.dumps(str(value), ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} value {value!r} as TOML")
