"""Where a server spends its CPU under load: py-spy samples read from its raw output.

Only samples of the thread holding the GIL are taken (``--gil``): the interpreter's own work,
C extensions called from Python included (grpc.aio's Cython core shows as asyncio's
``Handle._run``). SQLite's statements and fsyncs run without the GIL and do not show here;
the bench's CPU-per-call figures count them.

py-spy's raw format is one collapsed stack a line, outermost frame first, frames joined by
``;`` and the sample count last: ``<module> (x.py:9);outer (x.py:8);inner (x.py:4) 98``.
A frame's *self* samples are those where it is the innermost frame; its *inclusive* samples
those where it is anywhere on the stack (counted once per stack however often it recurs).
"""

from __future__ import annotations

import re
import shutil
import sys
import sysconfig
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

# "function (path/to/file.py:123)": the function and the file, without the line.
_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::-?\d+)?\)$")
# Frames that are on (nearly) every stack of an asyncio server and say nothing about cost.
_PLUMBING = re.compile(r"^(asyncio/|runpy|threading|<frozen|bench/serve_gateway|bench/echo_)")
_PROJECT_PACKAGES = ("gateway", "adapters", "bench", "connectorgateway")
# Where files are shown from: the project, the virtualenv's packages, the standard library.
_ROOTS = sorted(
    {
        str(Path(__file__).resolve().parents[1]) + "/",
        sysconfig.get_paths()["purelib"] + "/",
        sysconfig.get_paths()["platlib"] + "/",
        sysconfig.get_paths()["stdlib"] + "/",
    },
    key=len,
    reverse=True,
)
SAMPLES_PER_S = 200


def py_spy() -> str:
    """The py-spy of this virtualenv (a development dependency), else the one on PATH."""
    beside = Path(sys.executable).with_name("py-spy")
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if found is None:
        raise RuntimeError("--profile needs py-spy: `make .venv/.installed` installs it")
    return found


def record_command(pid: int, seconds: int, out: Path) -> list[str]:
    """Samples ``pid`` for ``seconds`` without pausing it (``--nonblocking``)."""
    return [
        py_spy(),
        "record",
        "--format",
        "raw",
        "-o",
        str(out),
        "--pid",
        str(pid),
        "--duration",
        str(seconds),
        "--rate",
        str(SAMPLES_PER_S),
        "--gil",
        "--nonblocking",
        "--full-filenames",
    ]


@dataclass(frozen=True)
class Frame:
    function: str
    file: str

    def __str__(self) -> str:
        return f"{self.function} ({self.file})"

    @property
    def area(self) -> str:
        """The project package (two levels: ``gateway.store``) or the library or standard
        module (``aiohttp``, ``asyncio``) a frame belongs to."""
        parts = self.file.removesuffix(".py").split("/")
        if parts[0] in _PROJECT_PACKAGES or parts[0] == "google":
            return ".".join(parts[:2])
        return parts[0]


def short_path(path: str) -> str:
    """A file as its import path shows it: relative to the project, the virtualenv's
    packages or the standard library."""
    for root in _ROOTS:
        if path.startswith(root):
            return path[len(root) :]
    for marker in ("site-packages/", "dist-packages/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def parse_frame(text: str) -> Frame:
    match = _FRAME.match(text.strip())
    if match is None:
        return Frame(text.strip(), "?")
    return Frame(match["function"], short_path(match["file"]))


@dataclass(frozen=True)
class Profile:
    total: int
    self_samples: Counter[Frame]
    inclusive: Counter[Frame]
    self_by_area: Counter[str]
    inclusive_by_area: Counter[str]


def parse_raw(text: str) -> Profile:
    self_samples: Counter[Frame] = Counter()
    inclusive: Counter[Frame] = Counter()
    self_by_area: Counter[str] = Counter()
    inclusive_by_area: Counter[str] = Counter()
    total = 0
    for line in text.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [parse_frame(part) for part in stack.split(";") if part]
        if not frames:
            continue
        total += count
        self_samples[frames[-1]] += count
        self_by_area[frames[-1].area] += count
        for frame in set(frames):
            inclusive[frame] += count
        for area in {frame.area for frame in frames}:
            inclusive_by_area[area] += count
    return Profile(total, self_samples, inclusive, self_by_area, inclusive_by_area)


def _share(count: int, total: int) -> str:
    return f"{100 * count / total:.1f} %"


def summary(profile: Profile, *, title: str, top: int = 12) -> list[str]:
    """Markdown: where the samples fall, by area and by function."""
    if profile.total == 0:
        return [f"#### {title}", "", "No samples (py-spy saw no active Python thread).", ""]
    total = profile.total
    lines = [
        f"#### {title}",
        "",
        f"{total} samples. By area: self = innermost frame there; "
        "on stack = that area anywhere on the stack. `Handle._run` as the innermost frame is "
        "C code the event loop runs: asyncio's C task steps and grpc.aio's Cython core.",
        "",
        "| area | self | on stack |",
        "| --- | ---: | ---: |",
    ]
    for area, count in profile.self_by_area.most_common(top):
        lines.append(
            f"| {area} | {_share(count, total)} | "
            f"{_share(profile.inclusive_by_area[area], total)} |"
        )
    lines += ["", "Top functions by self samples:", "", "| function | self |", "| --- | ---: |"]
    for frame, count in profile.self_samples.most_common(top):
        lines.append(f"| `{frame}` | {_share(count, total)} |")
    lines += [
        "",
        "Top functions by inclusive samples (event-loop plumbing left out):",
        "",
        "| function | inclusive |",
        "| --- | ---: |",
    ]
    shown = [
        (frame, count)
        for frame, count in profile.inclusive.most_common()
        if not _PLUMBING.match(frame.file)
    ]
    for frame, count in shown[:top]:
        lines.append(f"| `{frame}` | {_share(count, total)} |")
    lines.append("")
    return lines
