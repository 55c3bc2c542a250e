"""What the PyInstaller bundle leaves out, and the version it is stamped with.

PyInstaller's hooks collect whole packages (all of torch, every Qt plugin and translation) and
follow optional imports into tools that happen to be installed next to the app (IPython, pytest,
scipy ...). Nothing listed here is imported by `ukan-studio` or `ukan`; dropping it makes the
bundle smaller without changing what it does. `installer/README.md` lists the sizes.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from pathlib import Path

# Python packages reached only through optional imports of torch, matplotlib, pyqtgraph or PySide6
# (interactive shells, test frameworks, SciPy, Tk, networking). The app and the CLI never import them.
EXCLUDED_MODULES: list[str] = [
    # interactive shells and their helpers
    "IPython", "jedi", "parso", "prompt_toolkit", "pygments", "traitlets", "matplotlib_inline",
    "stack_data", "executing", "asttokens", "pure_eval", "backcall", "pickleshare", "pexpect",
    "ptyprocess", "decorator", "wcwidth",
    # test frameworks and build tools
    "pytest", "_pytest", "pytestqt", "pluggy", "iniconfig", "py", "hypothesis", "sortedcontainers",
    "setuptools", "pkg_resources", "distutils", "_distutils_hack", "pip",
    # networking, crypto, async frameworks
    "requests", "urllib3", "idna", "charset_normalizer", "cryptography", "cffi", "pycparser",
    "trio", "outcome", "sniffio", "yaml",
    # GUI toolkits and libraries nothing here uses
    "tkinter", "_tkinter", "scipy", "pandas", "PySide6.QtNetwork",
    # torch extras: TensorBoard logging (needs the tensorboard package, which the app does not use)
    "tensorboard", "torch.utils.tensorboard",
    # GPL-3.0 decoders that must never be bundled (see REFUSED_DISTRIBUTIONS)
    "libjpeg",
]

# Distributions a bundle must never carry, with their top-level module: pylibjpeg-libjpeg is GPL-3.0
# (pydicom and pylibjpeg would pick it up as a JPEG decoder if it were installed next to them; the
# project decodes those JPEGs with imagecodecs and pylibjpeg-openjpeg instead). Its module is in
# EXCLUDED_MODULES, the spec stops when the analysis still finds it, and build.py stops when the
# licence notice lists it or any other GPL-only component.
REFUSED_DISTRIBUTIONS: dict[str, str] = {"pylibjpeg-libjpeg": "libjpeg"}

# The image and mask formats (compressed TIFF and DICOM, NIfTI, DICOM SEG) load parts of themselves
# by name at run time, which PyInstaller's import analysis cannot see. The spec collects, for each:
FORMAT_SUBMODULES: tuple[str, ...] = (
    "imagecodecs",           # imports its `_<codec>` extension modules by name (imagecodecs.imagecodecs)
    "pylibjpeg",             # pydicom imports pylibjpeg.utils lazily
    "openjpeg",              # pylibjpeg-openjpeg: found only through its entry points
    "jpeg_ls",               # pyjpegls (highdicom's JPEG-LS codec; its _CharLS module follows)
)
FORMAT_DATA: tuple[str, ...] = (
    "highdicom",             # _standard/*.json (IOD and attribute tables) and _icc_profiles/*.icc, read by pkgutil
    "nibabel",               # whatever non-code files it ships outside its tests
)
FORMAT_DYNAMIC_LIBS: tuple[str, ...] = ("imagecodecs", "openjpeg", "jpeg_ls")   # DLLs beside the modules (Windows, macOS)
# Metadata (dist-info) to copy: pylibjpeg finds its decoder plugins through entry points, which live
# in the plugins' metadata; pylibjpeg and pyjpegls read their own version with importlib.metadata.
FORMAT_METADATA: tuple[str, ...] = ("pylibjpeg", "pylibjpeg-openjpeg", "pyjpegls", "imagecodecs",
                                    "highdicom", "nibabel", "tifffile")
# Sub-modules left out of FORMAT_SUBMODULES: test suites, examples, command-line mains and an optional
# bridge to numcodecs (not installed).
FORMAT_SKIPPED_SUBMODULES: tuple[str, ...] = ("imagecodecs.numcodecs", ".tests", ".testing", ".__main__", ".example")
# Files of FORMAT_DATA packages left out: test data, benchmarks, type stubs and version-control files.
FORMAT_SKIPPED_DATA: list[str] = ["**/tests/**", "**/testing/**", "**/benchmarks/**", "**/*.pyi", "**/.gitignore"]


def keep_format_submodule(name: str) -> bool:
    """True for a sub-module of FORMAT_SUBMODULES that the bundle should carry (not a test, not numcodecs)."""
    return not any(skip in name for skip in FORMAT_SKIPPED_SUBMODULES)


def refused_modules(toc: list) -> list[str]:
    """The entries of a PyInstaller TOC (`(dest_name, src_name, typecode)`) that belong to a module of
    REFUSED_DISTRIBUTIONS: its Python modules (`libjpeg`, `libjpeg.utils`) and the files in its package
    folder (`libjpeg/_libjpeg.cpython-311-x86_64-linux-gnu.so`). A system library such as
    `libjpeg.so.8` (the IJG/libjpeg-turbo library, not GPL) is not one of them."""
    modules = set(REFUSED_DISTRIBUTIONS.values())
    found = []
    for dest_name, _src, typecode in toc:
        name = _posix(dest_name)
        top = name.split(".")[0] if typecode == "PYMODULE" else name.split("/")[0] if "/" in name else None
        if top in modules:
            found.append(name)
    return found


# Files (destination paths inside the bundle, `/`-separated, fnmatch patterns) that the hooks collect
# but nothing loads: torch's C++ test binaries and headers, Qt translations (the app is English only),
# Qt plugins for embedded displays, VNC, network status and TLS. Shared libraries that only these
# files needed are dropped with them (see `without_orphans`).
DROPPED_FILES: list[str] = [
    "torch/test/*",
    "torch/include/*",
    "torch/share/*",
    "torch/bin/*",                 # C++ tests and protoc; torch_shm_manager is kept (see KEPT_FILES)
    "torch/lib/*test*",
    "torch/lib/*backend_with_compiler*",
    "torch/lib/*aoti_custom_ops*",
    # Qt keeps plugins and translations in PySide6/Qt/ on Linux and macOS, in PySide6/ on Windows
    "PySide6/*translations/*",
    "PySide6/*plugins/egldeviceintegrations/*",
    "PySide6/*plugins/generic/*",
    "PySide6/*plugins/networkinformation/*",
    "PySide6/*plugins/tls/*",
    "PySide6/*plugins/platforms/*eglfs*",
    "PySide6/*plugins/platforms/*linuxfb*",
    "PySide6/*plugins/platforms/*minimalegl*",
    "PySide6/*plugins/platforms/*vkkhrdisplay*",
    "PySide6/*plugins/platforms/*vnc*",
    # the GTK theme plugin would load the build machine's GTK stack (cairo, pango, gio ...) next to the
    # user's own GTK; the app draws its own Fusion theme, so it only changed the file dialogs
    "PySide6/*plugins/platformthemes/*gtk3*",
]

# Exceptions to DROPPED_FILES: torch's shared-memory helper for data loaders.
KEPT_FILES: list[str] = ["torch/bin/torch_shm_manager*"]


def is_dropped(dest_name: str) -> bool:
    """True when a bundle path matches DROPPED_FILES and not KEPT_FILES."""
    path = _posix(dest_name)
    if any(fnmatch.fnmatchcase(path, pattern) for pattern in KEPT_FILES):
        return False
    return any(fnmatch.fnmatchcase(path, pattern) for pattern in DROPPED_FILES)


def trim(toc: list) -> list:
    """A PyInstaller TOC (entries `(dest_name, src_name, typecode)`) without the dropped files."""
    return [entry for entry in toc if not is_dropped(entry[0])]


def trim_analysis(binaries: list, datas: list) -> tuple[list, list]:
    """The Analysis' binaries and datas without the dropped files, the shared libraries that only
    dropped binaries linked to, and the symbolic links that pointed at any of them."""
    kept = without_orphans(trim(binaries), [entry for entry in binaries if is_dropped(entry[0])])
    datas = trim(datas)
    present = {_posix(entry[0]) for entry in kept + datas if entry[2] != "SYMLINK"}
    return _without_dangling_links(kept, present), _without_dangling_links(datas, present)


def _posix(path: str) -> str:
    return path.replace("\\", "/")


def _without_dangling_links(toc: list, present: set[str]) -> list:
    """`toc` minus SYMLINK entries (`(link, target relative to the link's folder, "SYMLINK")`) whose
    target is not in `present`."""
    def target(entry: tuple) -> str:
        return posixpath.normpath(posixpath.join(posixpath.dirname(_posix(entry[0])), _posix(entry[1])))

    return [entry for entry in toc if entry[2] != "SYMLINK" or target(entry) in present]


def without_orphans(kept: list, dropped: list) -> list:
    """`kept` minus the shared libraries that a dropped binary links to and no kept binary does.

    PyInstaller collects a plugin's dependencies (Qt's own libraries, system libraries) along with
    it; after the plugin is dropped they would stay behind unused. Repeats until nothing changes (a
    dependency's own dependencies can become orphans in turn). Python extension modules and Qt
    plugins are never removed here: they are loaded by name at run time, not linked to.
    """
    from PyInstaller.depend.bindepend import get_imports

    links: dict[str, set[str]] = {}

    def imported_names(entries: list) -> set[str]:
        names: set[str] = set()
        for _dest_name, src_name, typecode in entries:
            if typecode in ("BINARY", "EXTENSION", "EXECUTABLE"):
                if src_name not in links:
                    links[src_name] = {Path(name).name for name, _ in get_imports(src_name)}
                names |= links[src_name]
        return names

    def removable(entry: tuple) -> bool:
        return entry[2] in ("BINARY", "SYMLINK") and "/plugins/" not in _posix(entry[0])

    while dropped:
        candidates = imported_names(dropped) - imported_names(kept)
        orphans = [entry for entry in kept if removable(entry) and Path(entry[0]).name in candidates]
        kept = [entry for entry in kept if entry not in orphans]
        dropped = orphans
    return kept


def project_version(root: Path) -> str:
    """The version in `pyproject.toml` (read as text, so this works on Python 3.10 without tomllib)."""
    text = (root / "pyproject.toml").read_text(encoding="utf-8")
    match = re.search(r'^version\s*=\s*"([^"]+)"', text, flags=re.MULTILINE)
    if match is None:
        raise ValueError(f"no version found in {root / 'pyproject.toml'}")
    return match.group(1)
