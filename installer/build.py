"""Build the UKAN Studio bundle with PyInstaller.

    python installer/build.py [--dist DIR] [--work DIR] [--no-archive] [--no-trim]

Runs `installer/ukan-studio.spec`, which makes DIST/ukan-studio/: the `ukan-studio` app and the
`ukan` CLI side by side, sharing one copy of torch, Qt and `resources/`. On Linux the desktop
entry, its icon and `install-desktop-entry.sh` are added to that folder and it is packed as
DIST/ukan-studio-<version>-linux-<arch>.tar.gz; on macOS the spec also makes DIST/UKAN Studio.app.
The Windows installer and the macOS disk image are made from these with Inno Setup and hdiutil
(see installer/README.md). Every bundle folder gets THIRD_PARTY_LICENSES.txt beside the
executables (see installer/third_party.py). Prints the bundle's path and size at the end.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import time
from importlib.metadata import PackageNotFoundError
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SPEC = HERE / "ukan-studio.spec"
BUNDLE_NAME = "ukan-studio"
MIN_PYINSTALLER = (6, 10)
INSTALL_HINT = 'python -m pip install "pyinstaller>=6.10"  (or: python -m pip install -e ".[installer]")'
LINUX_FILES = (  # (source, name in the bundle folder, executable)
    (HERE / "linux" / "ukan-studio.desktop", "ukan-studio.desktop", False),
    (HERE / "linux" / "install-desktop-entry.sh", "install-desktop-entry.sh", True),
    (ROOT / "resources" / "icons" / "ukan-studio.png", "ukan-studio.png", False),
)

sys.path.insert(0, str(HERE))
from bundle_contents import EXCLUDED_MODULES, project_version  # noqa: E402 - imported from beside this script
from third_party import NOTICE_NAME, Notice, collect_notices, refused, write_notice  # noqa: E402


class BuildError(Exception):
    """A build step failed; the message is one line for the user."""


def check_pyinstaller() -> str:
    """PyInstaller's version; BuildError (with the pip command) when it is missing or too old."""
    if importlib.util.find_spec("PyInstaller") is None:
        raise BuildError(f"PyInstaller is not installed; install it with: {INSTALL_HINT}")
    from importlib.metadata import version

    found = version("pyinstaller")
    numbers = tuple(int(part) for part in found.split(".")[:2] if part.isdigit())
    if numbers < MIN_PYINSTALLER:
        raise BuildError(f"PyInstaller {found} is too old (6.10 or newer needed); upgrade it with: {INSTALL_HINT}")
    return found


def executable_name(stem: str) -> str:
    """`stem` with the platform's executable suffix."""
    return f"{stem}.exe" if sys.platform == "win32" else stem


def run_pyinstaller(dist: Path, work: Path, *, trim: bool = True) -> Path:
    """Run the spec into `dist` (intermediate files in `work`); returns the bundle folder."""
    command = [sys.executable, "-m", "PyInstaller", str(SPEC), "--noconfirm", "--log-level", "WARN",
               "--distpath", str(dist), "--workpath", str(work)]
    if not trim:
        command += ["--", "--no-trim"]
    result = subprocess.run(command, cwd=ROOT, check=False)
    if result.returncode != 0:
        raise BuildError(f"PyInstaller failed (exit code {result.returncode}); its messages are above")
    bundle = dist / BUNDLE_NAME
    if not (bundle / executable_name("ukan-studio")).is_file() or not (bundle / executable_name("ukan")).is_file():
        raise BuildError(f"PyInstaller finished but {bundle} does not hold both executables")
    return bundle


def add_linux_files(bundle: Path) -> None:
    """Copy the desktop entry, its icon and the menu-entry installer into the bundle folder."""
    for source, name, executable in LINUX_FILES:
        if not source.is_file():
            hint = " (run python installer/make_icon.py)" if source.parent.name == "icons" else ""
            raise BuildError(f"{source} is missing{hint}")
        target = bundle / name
        shutil.copyfile(source, target)
        target.chmod(0o755 if executable else 0o644)


def add_third_party_licenses(bundle: Path, *, trim: bool = True) -> tuple[Path, list[Notice]]:
    """Write THIRD_PARTY_LICENSES.txt into the bundle folder, beside the executables: the licences of
    the Python runtime and of every package the bundle carries, which must travel with it. Built from
    the installed packages' metadata (no network); returns the file and its notices."""
    notices = bundle_notices(trim=trim)
    return write_notice(bundle / NOTICE_NAME, notices), notices


def bundle_notices(*, trim: bool = True) -> list[Notice]:
    """The notices of what the bundle carries; BuildError when the project is not installed or when
    a component is GPL-only or refused (pylibjpeg-libjpeg): such a bundle must not be built."""
    try:
        notices = collect_notices(excluded_modules=EXCLUDED_MODULES if trim else ())
    except PackageNotFoundError as exc:
        raise BuildError(f"{exc}; install the project first: python -m pip install -e .") from exc
    gpl = refused(notices)
    if gpl:
        raise BuildError(f"the bundle would carry GPL code: {', '.join(gpl)}; uninstall it and build again")
    return notices


def folder_size(folder: Path) -> tuple[int, int]:
    """(bytes, files) under `folder`; symbolic links count as links, not as their targets."""
    total = count = 0
    for directory, _dirs, files in os.walk(folder):
        for name in files:
            total += os.lstat(os.path.join(directory, name)).st_size
            count += 1
    return total, count


def archive_path(dist: Path, version: str) -> Path:
    """DIST/ukan-studio-<version>-linux-<arch>.tar.gz."""
    return dist / f"{BUNDLE_NAME}-{version}-linux-{platform.machine().lower()}.tar.gz"


def make_tarball(bundle: Path, out: Path) -> Path:
    """Pack `bundle` (as its own folder name) into the gzip tarball `out`, written atomically."""
    partial = out.with_name(out.name + ".partial")
    with tarfile.open(partial, "w:gz", compresslevel=6) as archive:
        archive.add(bundle, arcname=bundle.name)
    os.replace(partial, out)
    return out


def _mib(size: int) -> str:
    return f"{size / 2**20:.0f} MiB"


def build(dist: Path, work: Path, *, archive: bool = True, trim: bool = True) -> Path:
    """Every step for this platform; prints the results and returns the bundle folder."""
    pyinstaller_version = check_pyinstaller()
    bundle_notices(trim=trim)   # refuse GPL components before the long PyInstaller run
    version = project_version(ROOT)
    print(f"building UKAN Studio {version} with PyInstaller {pyinstaller_version} into {dist} ...", flush=True)
    started = time.monotonic()
    bundle = run_pyinstaller(dist, work, trim=trim)
    if sys.platform.startswith("linux"):
        add_linux_files(bundle)
    notice, notices = add_third_party_licenses(bundle, trim=trim)
    missing = sum(1 for entry in notices if not entry.files)
    print(f"licences: {notice} ({len(notices)} components and the Python runtime, "
          f"{missing} without a licence file)")
    size, files = folder_size(bundle)
    print(f"bundle: {bundle} ({_mib(size)}, {files} files, built in {time.monotonic() - started:.0f} s)")
    if sys.platform.startswith("linux"):
        if archive:
            tarball = make_tarball(bundle, archive_path(dist, version))
            print(f"archive: {tarball} ({_mib(tarball.stat().st_size)})")
    elif sys.platform == "win32":
        print(f'next, the installer: iscc /DAppVersion={version} /DBundleDir="{bundle}" '
              f"installer\\windows\\ukan-studio.iss")
    elif sys.platform == "darwin":
        print(f"app: {dist / 'UKAN Studio.app'}")
        print(f"next, the disk image: installer/macos/make_dmg.sh {dist}")
    return bundle


def main(argv: list[str] | None = None) -> int:
    """Command line; exit 0 when the bundle was built, 2 with one line of error otherwise."""
    parser = argparse.ArgumentParser(description="Build the UKAN Studio one-folder bundle with PyInstaller.")
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="output folder (default: dist/)")
    parser.add_argument("--work", type=Path, default=ROOT / "build",
                        help="PyInstaller's intermediate files (default: build/)")
    parser.add_argument("--no-archive", action="store_true", help="Linux: leave the bundle folder, make no tarball")
    parser.add_argument("--no-trim", action="store_true",
                        help="keep all that PyInstaller's hooks collect (to compare sizes, to debug a missing module)")
    args = parser.parse_args(argv)
    try:
        build(args.dist.resolve(), args.work.resolve(), archive=not args.no_archive, trim=not args.no_trim)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
