"""installer/: build.py's checks and archive, the bundle trimming rules and the packaging files (fast, no build)."""

from __future__ import annotations

import configparser
import importlib.util
import sys
import tarfile
from pathlib import Path
from types import ModuleType

import pytest

from tests.installer import INSTALLER, ROOT, load_installer_script

ICONS = ROOT / "resources" / "icons"


@pytest.fixture(scope="module")
def build() -> ModuleType:
    return load_installer_script("build")


@pytest.fixture(scope="module")
def contents() -> ModuleType:
    return load_installer_script("bundle_contents")


def test_missing_pyinstaller_is_one_line_with_the_pip_command(build: ModuleType, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name == "PyInstaller" else real_find_spec(name, *args))
    assert build.main(["--dist", "unused", "--work", "unused"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: PyInstaller is not installed") and "pip install" in err
    assert "\n" not in err
    assert not (ROOT / "unused").exists()


def test_version_is_the_package_version(contents: ModuleType) -> None:
    from ukan_core import __version__

    assert contents.project_version(ROOT) == __version__


@pytest.mark.parametrize("path, dropped", [
    ("torch/bin/test_api", True),
    ("torch/bin/torch_shm_manager", False),
    ("torch/test/atest", True),
    ("torch/lib/libtorchbind_test.so", True),
    ("torch/lib/libtorch_cpu.so", False),
    ("PySide6/Qt/translations/qt_de.qm", True),
    ("PySide6/Qt/plugins/platforms/libqxcb.so", False),
    ("PySide6/Qt/plugins/platforms/libqoffscreen.so", False),
    ("PySide6/Qt/plugins/platforms/libqvnc.so", True),
    ("PySide6/Qt/plugins/platformthemes/libqgtk3.so", True),
    ("PySide6/plugins/tls/qopensslbackend.dll", True),
    ("PySide6/plugins/platforms/qwindows.dll", False),
    ("PySide6/translations/qtbase_de.qm", True),
    ("resources/models/ukan-synthetic-us.safetensors", False),
])
def test_trim_rules(contents: ModuleType, path: str, dropped: bool) -> None:
    assert contents.is_dropped(path) is dropped
    assert contents.is_dropped(path.replace("/", "\\")) is dropped   # Windows destination names


def test_dangling_links_go_with_their_targets(contents: ModuleType) -> None:
    toc = [("libA.so", "PySide6/Qt/lib/libA.so", "SYMLINK"), ("libB.so", "PySide6/Qt/lib/libB.so", "SYMLINK"),
           ("PySide6/Qt/lib/libA.so", "/src/libA.so", "BINARY")]
    present = {"PySide6/Qt/lib/libA.so"}
    assert contents._without_dangling_links(toc, present) == [toc[0], toc[2]]


def test_runtime_modules_are_not_excluded(contents: ModuleType) -> None:
    for module in ("torch", "numpy", "PySide6", "pyqtgraph", "matplotlib", "sympy", "cv2", "pydicom", "tifffile",
                   "safetensors", "platformdirs", "tqdm", "PIL", "ukan_core", "ukan_studio"):
        assert module not in contents.EXCLUDED_MODULES


def test_tarball_holds_the_bundle_folder(build: ModuleType, tmp_path: Path) -> None:
    bundle = tmp_path / "dist" / "ukan-studio"
    (bundle / "_internal").mkdir(parents=True)
    (bundle / "ukan-studio").write_text("app")
    (bundle / "_internal" / "lib.so").write_bytes(b"x" * 100)
    (bundle / "link.so").symlink_to("_internal/lib.so")
    assert build.folder_size(bundle) == (3 + 100 + len("_internal/lib.so"), 3)
    out = build.make_tarball(bundle, build.archive_path(tmp_path / "dist", "9.9"))
    assert out.name.startswith("ukan-studio-9.9-linux-") and out.name.endswith(".tar.gz")
    with tarfile.open(out) as archive:
        names = set(archive.getnames())
        assert {"ukan-studio", "ukan-studio/ukan-studio", "ukan-studio/_internal/lib.so"} <= names
        assert archive.getmember("ukan-studio/link.so").issym()
    assert not list(out.parent.glob("*.partial"))


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_linux_files_are_added_to_the_bundle(build: ModuleType, tmp_path: Path) -> None:
    build.add_linux_files(tmp_path)
    assert (tmp_path / "install-desktop-entry.sh").stat().st_mode & 0o111
    assert (tmp_path / "ukan-studio.desktop").is_file() and (tmp_path / "ukan-studio.png").is_file()


def test_desktop_entry_names_the_executable_and_icon() -> None:
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # keys are case-sensitive
    entry.read(INSTALLER / "linux" / "ukan-studio.desktop", encoding="utf-8")
    section = entry["Desktop Entry"]
    assert section["Type"] == "Application" and section["Exec"] == "ukan-studio"
    assert (ICONS / f"{section['Icon']}.png").is_file()
    assert section["StartupWMClass"] == "ukan-studio"


def test_icons_have_every_size() -> None:
    from PIL import Image

    with Image.open(ICONS / "ukan-studio.png") as png:
        assert png.size == (256, 256) and png.mode == "RGBA"
    with Image.open(ICONS / "ukan-studio-512.png") as png:
        assert png.size == (512, 512)
    with Image.open(ICONS / "ukan-studio.ico") as ico:
        assert {(16, 16), (32, 32), (48, 48), (256, 256)} <= set(ico.info["sizes"])
    with Image.open(ICONS / "ukan-studio.icns") as icns:
        assert max(icns.info["sizes"])[0] >= 512


def test_inno_setup_script_points_at_real_files() -> None:
    text = (INSTALLER / "windows" / "ukan-studio.iss").read_text(encoding="utf-8")
    assert "PrivilegesRequired=lowest" in text
    assert "{autoprograms}" in text and "{autodesktop}" in text
    assert (INSTALLER / "windows" / "..\\..\\resources\\icons\\ukan-studio.ico".replace("\\", "/")).resolve().is_file()
    assert '#define AppExe "ukan-studio.exe"' in text


def test_a_refused_gpl_module_is_found_in_the_analysis(contents: ModuleType) -> None:
    toc = [("libjpeg", "/site/libjpeg/__init__.py", "PYMODULE"),
           ("libjpeg.utils", "/site/libjpeg/utils.py", "PYMODULE"),
           ("libjpeg/_libjpeg.cpython-311-x86_64-linux-gnu.so", "/site/libjpeg/_libjpeg.so", "EXTENSION"),
           ("libjpeg.so.8", "/usr/lib/libjpeg.so.8", "BINARY"),                     # the system JPEG library
           ("imagecodecs.libs/libjpeg-f212e7a6.so.8.3.2", "/site/x.so", "BINARY"),
           ("pylibjpeg.utils", "/site/pylibjpeg/utils.py", "PYMODULE"),
           ("openjpeg", "/site/openjpeg/__init__.py", "PYMODULE")]
    assert contents.refused_modules(toc) == ["libjpeg", "libjpeg.utils",
                                             "libjpeg/_libjpeg.cpython-311-x86_64-linux-gnu.so"]
    assert contents.refused_modules(toc[3:]) == []


def test_format_submodules_leave_out_tests_and_numcodecs(contents: ModuleType) -> None:
    keep = contents.keep_format_submodule
    assert keep("imagecodecs._jpegls") and keep("imagecodecs._ljpeg") and keep("openjpeg.utils")
    assert keep("pylibjpeg.utils") and keep("jpeg_ls.CharLS")
    assert not keep("imagecodecs.numcodecs") and not keep("jpeg_ls.tests") and not keep("pylibjpeg.tests.test_x")


def test_the_spec_collects_what_the_format_packages_load_by_name(contents: ModuleType) -> None:
    """What the spec's calls return here: the codecs imagecodecs imports by name, pylibjpeg's plugin
    with the metadata that declares it as an entry point, highdicom's data files."""
    hooks = pytest.importorskip("PyInstaller.utils.hooks")
    for module in ("imagecodecs", "openjpeg", "jpeg_ls", "pylibjpeg", "highdicom", "nibabel"):
        pytest.importorskip(module)
    spec = (ROOT / "installer" / "ukan-studio.spec").read_text(encoding="utf-8")
    for name in ("FORMAT_SUBMODULES", "FORMAT_DATA", "FORMAT_DYNAMIC_LIBS", "FORMAT_METADATA", "refused_modules"):
        assert f"bundle_contents.{name}" in spec
    hidden = [m for package in contents.FORMAT_SUBMODULES
              for m in hooks.collect_submodules(package, filter=contents.keep_format_submodule)]
    for module in ("imagecodecs._jpegls", "imagecodecs._ljpeg", "imagecodecs._jpeg8", "imagecodecs._tiff",
                   "openjpeg", "openjpeg.utils", "jpeg_ls.CharLS", "pylibjpeg.utils"):
        assert module in hidden, module
    assert not [m for m in hidden if ".tests" in m or m == "imagecodecs.numcodecs"]
    datas = [f"{Path(dest).as_posix()}/{Path(src).name}" for package in contents.FORMAT_DATA
             for src, dest in hooks.collect_data_files(package, excludes=contents.FORMAT_SKIPPED_DATA)]
    for name in ("highdicom/_standard/module_attribute_map.json", "highdicom/_standard/iod_module_map.json",
                 "highdicom/_icc_profiles/sRGB_v4_ICC_preference.icc"):
        assert name in datas, name
    assert not [d for d in datas if "/tests/" in d]
    metadata = {Path(dest).name: Path(src) for dist in contents.FORMAT_METADATA
                for src, dest in hooks.copy_metadata(dist)}
    openjpeg_info = next(src for name, src in metadata.items() if name.startswith("pylibjpeg_openjpeg-"))
    assert "[pylibjpeg.pixel_data_decoders]" in (openjpeg_info / "entry_points.txt").read_text(encoding="utf-8")
    assert any(name.startswith("pyjpegls-") for name in metadata)   # jpeg_ls reads version("pyjpegls")
