"""The third-party licence notice of the UKAN Studio bundle, built from installed package metadata.

    python installer/third_party.py OUT.txt

The bundle ships the Python runtime and every package `ukan-studio` needs at run time (Qt through
PySide6, torch, NumPy, OpenCV with its FFmpeg libraries, matplotlib, ...). Their licences ask for
their notices to travel with the binaries, so `build.py` writes `THIRD_PARTY_LICENSES.txt` beside
the executables. Everything here comes from what is installed (`importlib.metadata`: the
requirements, the licence fields and the licence files each distribution ships); nothing is
downloaded and no licence text is written from memory: a distribution that ships no licence file
gets its stated licence and a line saying so.
"""

from __future__ import annotations

import importlib.metadata
import platform
import re
import sys
import sysconfig
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from ukan_core.atomic import atomic_write_text

HERE = Path(__file__).resolve().parent
PRODUCT = "UKAN Studio"
PROJECT_DIST = "ukan-studio"
NOTICE_NAME = "THIRD_PARTY_LICENSES.txt"
# `patents`: a patent licence that travels with a bundled codec (imagecodecs' PATENTS-rav1e)
LICENSE_PREFIXES = ("license", "licence", "copying", "notice", "authors", "patents")
# files whose name starts like a licence file but that are code (e.g. a module named `license.py`)
CODE_SUFFIXES = frozenset({".py", ".pyc", ".pyi", ".pyo", ".pyd", ".so", ".dll", ".dylib", ".exe"})
# Licence texts for components that state a licence but ship no file of it (PySide6's wheels state
# "LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only" and ship none): the FSF's verbatim texts, kept in
# installer/licenses/. LGPL-3.0 is a set of permissions added to GPL-3.0, so both travel together.
SHIPPED_TEXTS = {"LGPL-3.0": ("LGPL-3.0.txt", "GPL-3.0.txt")}
# Licence texts of what a distribution compiles in without shipping their files, kept in
# installer/licenses/: pyjpegls states MIT and ships no licence file, and its `_CharLS` extension
# module is CharLS (BSD-3-Clause; the text is CharLS's own, as imagecodecs ships it in LICENSE-charls).
# (distribution, file, what it covers)
EMBEDDED_TEXTS: dict[str, tuple[tuple[str, str], ...]] = {
    "pyjpegls": (("pyjpegls-MIT.txt", "pyjpegls's MIT License; its wheel ships no licence file"),
                 ("CharLS-BSD-3-Clause.txt", "CharLS, BSD-3-Clause, compiled into pyjpegls's _CharLS module")),
}
MAX_LICENSE_FIELD = 200  # a longer `License:` field is a whole licence text, not a name
RULE = "=" * 78

sys.path.insert(0, str(HERE))
from bundle_contents import EXCLUDED_MODULES, REFUSED_DISTRIBUTIONS  # noqa: E402 - imported from beside this script


@dataclass(frozen=True)
class LicenseFile:
    """One licence file a distribution ships: its path as the distribution names it, and its text."""

    path: str
    text: str


@dataclass(frozen=True)
class Notice:
    """What the notice says about one bundled distribution."""

    name: str
    version: str
    license: str                      # as stated in the metadata; "" when it states none
    url: str                          # homepage or another project URL; "" when there is none
    files: tuple[LicenseFile, ...]    # every licence file it ships, in full


def bundled_distributions(root: str = PROJECT_DIST, excluded_modules: Iterable[str] = EXCLUDED_MODULES) -> list[str]:
    """The installed distributions `root` needs at run time, sorted by name, `root` itself left out.

    Follows the requirements in the installed metadata recursively. A requirement counts only when
    its marker applies here; one that applies only to an extra nobody asked for (`extra == "test"`)
    does not. Distributions whose every top-level module is in `excluded_modules` are left out: the
    spec excludes them, so the bundle does not carry them (setuptools, which torch requires).
    PackageNotFoundError when `root` itself is not installed.
    """
    importlib.metadata.distribution(root)  # PackageNotFoundError when the project is not installed
    excluded = {name for name in excluded_modules if "." not in name}
    pending: list[tuple[str, frozenset[str]]] = [(root, frozenset())]
    done: set[tuple[str, str]] = set()
    found: dict[str, importlib.metadata.Distribution] = {}
    while pending:
        name, extras = pending.pop()
        key = canonicalize_name(name)
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue  # not installed here, so not in a bundle built here either
        new = {extra for extra in {"", *extras} if (key, extra) not in done}
        if not new:
            continue
        done.update((key, extra) for extra in new)
        found[key] = dist
        for text in dist.requires or ():
            try:
                requirement = Requirement(text)
            except InvalidRequirement:
                continue
            marker = requirement.marker
            if marker is None or any(marker.evaluate({"extra": extra}) for extra in new):
                pending.append((requirement.name, frozenset(canonicalize_name(e) for e in requirement.extras)))
    found.pop(canonicalize_name(root), None)
    return [found[key].metadata["Name"] or key for key in sorted(found)
            if not _left_out(found[key], excluded)]


def _left_out(dist: importlib.metadata.Distribution, excluded: set[str]) -> bool:
    """True when every top-level module of `dist` is excluded from the bundle."""
    modules = top_level_modules(dist)
    return bool(modules) and modules <= excluded


def top_level_modules(dist: importlib.metadata.Distribution) -> set[str]:
    """The top-level import names a distribution installs (from its file list, else `top_level.txt`)."""
    names: set[str] = set()
    for file in dist.files or ():
        first = file.parts[0]
        if first in ("..", "__pycache__") or first.endswith((".dist-info", ".egg-info", ".data")):
            continue
        if len(file.parts) > 1:
            names.add(first)
        elif file.suffix in (".py", ".so", ".pyd"):
            names.add(first.split(".")[0])
    if not names:
        names = {line.strip() for line in (dist.read_text("top_level.txt") or "").splitlines() if line.strip()}
    return names


def collect_notices(distributions: Iterable[str] | None = None, *,
                    excluded_modules: Iterable[str] = EXCLUDED_MODULES) -> list[Notice]:
    """A notice for each of `distributions` (default: `bundled_distributions()`), sorted by name.

    `excluded_modules` only matters for the default: pass `()` for a bundle built without trimming.
    Names that are not installed are skipped; each distribution appears once.
    """
    if distributions is None:
        distributions = bundled_distributions(excluded_modules=excluded_modules)
    notices: dict[str, Notice] = {}
    for name in distributions:
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        key = canonicalize_name(dist.metadata["Name"] or name)
        if key not in notices:
            notices[key] = notice_of(dist)
    return [notices[key] for key in sorted(notices)]


def notice_of(dist: importlib.metadata.Distribution) -> Notice:
    """Name, version, stated licence, project URL and licence files of one installed distribution."""
    metadata = dist.metadata
    files = license_files(dist)
    field = _decode((metadata.get("License") or "").encode("utf-8"))
    if not files and field is not None and len(field) >= MAX_LICENSE_FIELD:
        files = [LicenseFile("License field of its metadata", field)]  # a whole licence text, kept as is
    if not files:
        files = shipped_texts(stated_license(dist))
    files = files + [file for file in embedded_texts(metadata["Name"] or "") if file.text not in {f.text for f in files}]
    return Notice(name=metadata["Name"], version=dist.version, license=stated_license(dist),
                  url=project_url(dist), files=tuple(files))


def shipped_texts(license_expression: str) -> list[LicenseFile]:
    """The installer's own copies of the licence texts that `license_expression` names (see SHIPPED_TEXTS)."""
    files: list[LicenseFile] = []
    for licence, names in SHIPPED_TEXTS.items():
        if licence in license_expression:
            files += [LicenseFile(f"{name} (the FSF's text, as the component states {licence})",
                                  (HERE / "licenses" / name).read_text(encoding="utf-8")) for name in names]
    return files


def embedded_texts(name: str) -> list[LicenseFile]:
    """The installer's copies of the licences of what distribution `name` compiles in (see EMBEDDED_TEXTS)."""
    return [LicenseFile(f"{file} ({covers})", (HERE / "licenses" / file).read_text(encoding="utf-8"))
            for file, covers in EMBEDDED_TEXTS.get(canonicalize_name(name), ())]


def is_gpl_only(license_expression: str) -> bool:
    """True when every alternative of `license_expression` (split at OR, or at `;` between classifiers)
    is GPL or AGPL: a copyleft licence the bundle cannot carry. An LGPL choice (PySide6's
    "LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only") or a permissive one is fine."""
    alternatives = [part.strip().upper() for part in re.split(r"\bOR\b|;", license_expression) if part.strip()]

    def copyleft(part: str) -> bool:
        lesser = "LGPL" in part or "LESSER" in part or "LIBRARY GENERAL" in part
        return not lesser and ("GPL" in part or "GENERAL PUBLIC LICENSE" in part)

    return bool(alternatives) and all(copyleft(part) for part in alternatives)


def refused(notices: Iterable[Notice]) -> list[str]:
    """One line per component the bundle must not carry: GPL-only ones and REFUSED_DISTRIBUTIONS."""
    refused_names = {canonicalize_name(name) for name in REFUSED_DISTRIBUTIONS}
    return [f"{notice.name} {notice.version} ({notice.license or 'no licence stated'})" for notice in notices
            if canonicalize_name(notice.name) in refused_names or is_gpl_only(notice.license)]


def stated_license(dist: importlib.metadata.Distribution) -> str:
    """`License-Expression`, else a short `License` field, else the `License ::` classifiers; "" if none."""
    metadata = dist.metadata
    expression = (metadata.get("License-Expression") or "").strip()
    if expression:
        return expression
    field = (metadata.get("License") or "").strip()
    if field and field.upper() != "UNKNOWN" and len(field) < MAX_LICENSE_FIELD and "\n" not in field:
        return field
    classifiers = [c.removeprefix("License ::").strip() for c in metadata.get_all("Classifier") or ()
                   if c.startswith("License ::")]
    return "; ".join(classifiers)


def project_url(dist: importlib.metadata.Distribution) -> str:
    """`Home-page`, else the `Project-URL` labelled as a home page, else the first `Project-URL`."""
    metadata = dist.metadata
    home = (metadata.get("Home-page") or "").strip()
    if home and home.upper() != "UNKNOWN":
        return home
    urls = []
    for entry in metadata.get_all("Project-URL") or ():
        label, _, url = entry.partition(",")
        urls.append((label.strip().lower().replace(" ", "").replace("-", ""), url.strip()))
    for label, url in urls:
        if label in ("homepage", "home", "website"):
            return url
    return urls[0][1] if urls else ""


def license_files(dist: importlib.metadata.Distribution) -> list[LicenseFile]:
    """Every licence file `dist` ships, each text once: first its `License-File` entries (PEP 639),
    then the files in its dist-info's `licenses/` folder and those named LICENSE*, LICENCE*, COPYING*,
    NOTICE*, AUTHORS* or PATENTS* anywhere in it (sorted by path), e.g. imagecodecs' `licenses/` folder
    with one file per library it bundles."""
    files = list(dist.files or ())
    by_path = {PurePosixPath(str(file)): file for file in files}
    found: list[LicenseFile] = []
    seen: set[str] = set()

    def add(path: str, data: bytes | None) -> None:
        text = _decode(data) if data is not None else None
        if text is not None and text not in seen:
            seen.add(text)
            found.append(LicenseFile(path, text))

    for entry in dist.metadata.get_all("License-File") or ():
        data = None
        for candidate in (f"licenses/{entry}", entry):
            matches = [file for path, file in by_path.items()
                       if _in_metadata_folder(path) and path.parts[1:] == PurePosixPath(candidate).parts]
            if matches:
                data = _read(matches[0])
                break
            if not files:
                text = dist.read_text(candidate)
                data = text.encode("utf-8") if text is not None else None
                if data is not None:
                    break
        add(entry, data)
    for path in sorted(by_path):
        if _is_license_path(path):
            add(str(path), _read(by_path[path]))
    return found


def _in_metadata_folder(path: PurePosixPath) -> bool:
    return len(path.parts) > 1 and path.parts[0].endswith((".dist-info", ".egg-info"))


def _is_license_path(path: PurePosixPath) -> bool:
    if _in_metadata_folder(path) and len(path.parts) > 2 and path.parts[1] == "licenses":
        return True
    return path.name.lower().startswith(LICENSE_PREFIXES) and path.suffix.lower() not in CODE_SUFFIXES


def _read(file: importlib.metadata.PackagePath) -> bytes | None:
    try:
        return Path(file.locate()).read_bytes()
    except OSError:
        return None


def _decode(data: bytes) -> str | None:
    """Licence text with `\\n` line ends; None for an empty or binary file."""
    if b"\0" in data:
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    return text + "\n" if text.strip() else None


def python_license() -> tuple[str, str | None]:
    """(where it was found, text) of the running Python's own LICENSE, or ("", None) when not found."""
    major_minor = f"{sys.version_info.major}.{sys.version_info.minor}"
    base = Path(sys.base_prefix)
    candidates = [Path(sysconfig.get_path("stdlib")) / "LICENSE.txt",
                  base / "lib" / f"python{major_minor}" / "LICENSE.txt",
                  base / "Lib" / "LICENSE.txt", base / "LICENSE.txt", base / "LICENSE"]
    for candidate in candidates:
        try:
            text = _decode(candidate.read_bytes())
        except OSError:
            continue
        if text is not None:
            return f"{candidate.parent.name}/{candidate.name}", text
    return "", None


def product_line() -> str:
    """"UKAN Studio <version> is licensed under <licence>." from the project's installed metadata."""
    try:
        dist = importlib.metadata.distribution(PROJECT_DIST)
    except importlib.metadata.PackageNotFoundError:
        return f"{PRODUCT} is licensed under the licence stated in its own files."
    license_ = stated_license(dist) or "the licence stated in its own files"
    return f"{PRODUCT} {dist.version} itself is licensed under {license_}."


def render(notices: Iterable[Notice]) -> str:
    """The text of THIRD_PARTY_LICENSES.txt: header, index, the Python runtime, then one section each."""
    notices = list(notices)
    python_version = platform.python_version()
    python_source, python_text = python_license()
    python_license_name = "PSF License Agreement"
    lines = [
        f"{PRODUCT} - third-party licences",
        RULE,
        "",
        f"This file lists the third-party software included in this {PRODUCT} bundle and the",
        "licence of each, with the full text of every licence file that software ships. It was",
        "written when the bundle was built, from the metadata of the installed packages.",
        "",
        f"The bundle includes the {platform.python_implementation()} {python_version} runtime, licensed under the",
        f"Python Software Foundation's {python_license_name} (its text follows the index),",
        f"and the {len(notices)} components listed below.",
        "",
        product_line(),
        "",
        "Index (name, version, licence as stated by the component)",
        "-" * 78,
    ]
    width = max([len(n.name) for n in notices] + [len("Python")])
    version_width = max([len(n.version) for n in notices] + [len(python_version)])
    lines.append(f"{'Python':<{width}}  {python_version:<{version_width}}  {python_license_name}")
    for notice in notices:
        lines.append(f"{notice.name:<{width}}  {notice.version:<{version_width}}  "
                     f"{notice.license or '(no licence stated)'}")
    lines += ["", "", RULE, f"Python {python_version}", RULE, ""]
    if python_text is not None:
        lines += [f"--- {python_source} ---", python_text.rstrip("\n")]
    else:
        lines.append(f"Python is distributed under the Python Software Foundation's {python_license_name}"
                     " (https://docs.python.org/3/license.html); its LICENSE file was not found on the build machine.")
    for notice in notices:
        lines += ["", "", RULE, f"{notice.name} {notice.version}", RULE,
                  f"Licence: {notice.license or '(none stated in its metadata)'}"]
        if notice.url:
            lines.append(f"Project: {notice.url}")
        if not notice.files:
            lines.append(f"No licence file ships with {notice.name}; its licence is as stated above.")
        for file in notice.files:
            lines += ["", f"--- {file.path} ---", file.text.rstrip("\n")]
    return "\n".join(lines) + "\n"


def write_notice(path: Path, notices: Iterable[Notice]) -> Path:
    """Write the notice (UTF-8) to `path`, or to `path/THIRD_PARTY_LICENSES.txt` when `path` is a
    folder; atomically (ukan_core.atomic: a temporary file beside it, then a rename). Returns the file written."""
    path = Path(path)
    target = path / NOTICE_NAME if path.is_dir() else path
    text = render(notices)
    atomic_write_text(target, text)
    return target


def main(argv: list[str] | None = None) -> int:
    """Command line: write the notice for this environment's bundle to OUT; exit 0, 1 when it lists a GPL
    component (one error line each), or 2 with one line."""
    import argparse

    parser = argparse.ArgumentParser(description=f"Write the third-party licence notice of the {PRODUCT} bundle.")
    parser.add_argument("out", type=Path, help=f"the file to write (or a folder: OUT/{NOTICE_NAME})")
    parser.add_argument("--no-trim", action="store_true",
                        help="also list what a bundle built with build.py --no-trim carries")
    args = parser.parse_args(argv)
    try:
        notices = collect_notices(excluded_modules=() if args.no_trim else EXCLUDED_MODULES)
        written = write_notice(args.out, notices)
    except (OSError, importlib.metadata.PackageNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    gpl = refused(notices)
    for line in gpl:
        print(f"error: GPL component in the bundle's list: {line}", file=sys.stderr)
    missing = sum(1 for notice in notices if not notice.files)
    print(f"{written}: {len(notices)} components, {missing} without a licence file "
          f"({written.stat().st_size / 1024:.0f} KiB)")
    return 1 if gpl else 0


if __name__ == "__main__":
    sys.exit(main())
