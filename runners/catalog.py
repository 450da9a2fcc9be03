"""What the config tree offers: experiments with their one-line descriptions, group choices.

Used before Hydra starts so that a missing or misspelt name gets a list of valid names and
exit status 2 instead of a traceback.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
from datetime import datetime
from pathlib import Path

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"
# flags after which Hydra itself answers and no experiment is needed
HYDRA_INFO_FLAGS = {"--help", "-h", "--hydra-help", "--info", "-i", "--version", "--cfg", "-c"}
HYDRA_INFO_FLAGS |= {"--shell-completion", "-sc", "--resolve"}


def new_run_stamp() -> str:
    """``date/time-pid`` naming one command's run or sweep folder (unique per process)."""
    return f"{datetime.now():%Y-%m-%d/%H-%M-%S}-{os.getpid()}"


def describe(path: Path) -> str:
    """First comment line of a config file: what the preset does or shows."""
    for line in path.read_text().splitlines():
        text = line.lstrip("# ").strip()
        if line.startswith("#") and text and not text.startswith("@package"):
            return text
    return ""


def choices(group: str) -> dict[str, str]:
    """All configs of a group (``experiment`` includes sub-folders) mapped to descriptions."""
    root = CONF_DIR / group
    return {
        p.relative_to(root).with_suffix("").as_posix(): describe(p)
        for p in sorted(root.rglob("*.yaml"))
    }


def format_choices(group: str) -> str:
    """The choices of ``group`` one per line, aligned, with their descriptions."""
    items = choices(group)
    width = max((len(k) for k in items), default=0)
    return "\n".join(f"  {name:<{width}}  {text}".rstrip() for name, text in items.items())


def check_argv(argv: list[str]) -> str | None:
    """Message for a missing/unknown experiment or group choice in ``argv``, else None."""
    if any(a.split("=")[0] in HYDRA_INFO_FLAGS for a in argv):
        return None
    if any(a.startswith(("+experiment=", "++experiment=")) for a in argv):
        return "write experiment=<name> without '+': the root config already has the group"
    overrides = [a.lstrip("+~") for a in argv if "=" in a and not a.startswith("-")]
    pairs = [o.split("=", 1) for o in overrides]
    groups = {p.name for p in CONF_DIR.iterdir() if p.is_dir() and p.name != "hydra"}

    if not any(key == "experiment" and value not in ("", "null") for key, value in pairs):
        return (
            "no experiment given. Run one with\n"
            "  python -m runners.run experiment=<name> [key=value ...]\n"
            f"Available experiments:\n{format_choices('experiment')}"
        )
    for key, value in pairs:
        if key not in groups:
            continue
        valid, names = choices(key), _sweep_values(value)
        for name in [] if names is None else names or [value]:
            if name not in valid:
                return f"unknown {key} '{name}'. Valid choices for {key}=:\n{format_choices(key)}"
    return None


def check_keys(argv: list[str]) -> str | None:
    """Message for an override of a key the composed config does not have, naming the
    valid keys at that level; None when the overrides compose (or fail for another reason,
    which Hydra then reports itself). Sweeps (``-m``) are left to Hydra."""
    if any(a in ("-m", "--multirun") or a.split("=")[0] in HYDRA_INFO_FLAGS for a in argv):
        return None
    overrides = [a for a in argv if "=" in a and not a.startswith("-")]
    mine = [o for o in overrides if not o.startswith(("hydra.", "hydra/", "+", "~"))]
    from hydra import compose, initialize_config_dir
    from omegaconf import DictConfig, OmegaConf

    def composed(items: list[str]):
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            return compose("config", overrides=items)

    try:
        composed(mine)
        return None
    except Exception as err:
        match = re.search(r"Could not override '([^']+)'", str(err))
        if not match or "To append to your config" not in str(err):
            return None
    key = match.group(1)
    rest = [o for o in mine if o.split("=", 1)[0] != key]
    try:
        cfg = composed(rest)
    except Exception:
        return None
    # walk down to the deepest existing parent of the misspelt key
    parts, prefix = key.split("."), []
    node = cfg
    while parts and isinstance(node, DictConfig) and parts[0] in node:
        prefix.append(parts.pop(0))
        node = node[prefix[-1]]
    if not isinstance(node, DictConfig):
        return None
    where = ".".join(prefix)
    valid = ", ".join(sorted(str(k) for k in OmegaConf.to_container(node, resolve=False)))
    close = difflib.get_close_matches(parts[0], [str(k) for k in node], n=1)
    hint = f" Did you mean {'.'.join([*prefix, close[0], *parts[1:]])}?" if close else ""
    return f"unknown key {key}.{hint} Valid keys{' of ' + where if where else ''}: {valid}"


def _sweep_values(value: str) -> list[str] | None:
    """Names in a plain, comma-separated (``a,b``) or ``choice(a,b)`` value; None for other
    sweep functions (``glob(...)``), which Hydra checks itself."""
    if value.startswith("choice(") and value.endswith(")"):
        value = value[len("choice(") : -1]
    elif value.startswith(("range(", "glob(", "interval(")):
        return None
    return [v.strip().strip("'\"") for v in value.split(",") if v.strip()]


def exit_on_bad_argv(argv: list[str] | None = None) -> None:
    """Print the message of :func:`check_argv` to stderr and exit 2 when there is one."""
    argv = sys.argv[1:] if argv is None else argv
    message = check_argv(argv) or check_keys(argv)
    if message:
        print(message, file=sys.stderr)
        sys.exit(2)
