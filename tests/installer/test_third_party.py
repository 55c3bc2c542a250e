"""installer/third_party.py: the bundle's third-party licence notice, from installed metadata (fast, no build)."""

from __future__ import annotations

import importlib.metadata
import sys
import sysconfig
import tarfile
from pathlib import Path
from types import ModuleType

import pytest

from tests.installer import ROOT, load_installer_script


@pytest.fixture(scope="module")
def third_party() -> ModuleType:
    return load_installer_script("third_party")


@pytest.fixture(scope="module")
def notices(third_party: ModuleType) -> dict:
    """The default notices (what a trimmed bundle carries), by lower-case name."""
    return {notice.name.lower(): notice for notice in third_party.collect_notices()}


@pytest.fixture(scope="module")
def written(third_party: ModuleType, notices: dict, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return third_party.write_notice(tmp_path_factory.mktemp("notice"), list(notices.values()))


def _installed(name: str) -> bool:
    try:
        importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def test_the_bundled_packages_are_listed_with_their_installed_versions(notices: dict) -> None:
    for name in ("torch", "numpy", "opencv-python-headless", "matplotlib", "pyqtgraph", "safetensors",
                 "platformdirs"):
        assert name in notices, f"{name} missing from the notice"
        assert notices[name].version == importlib.metadata.version(name)
    qt = [name for name in ("pyside6", "pyside6_essentials", "pyside6-essentials", "shiboken6") if name in notices]
    assert qt, "no PySide6 distribution in the notice"
    for name in qt:
        assert notices[name].version == importlib.metadata.version(name)
        assert notices[name].license   # PySide6's wheels state LGPL/GPL in their metadata
        texts = "\n".join(file.text for file in notices[name].files)
        if "LGPL-3.0" in notices[name].license:   # they ship no licence file: the installer's copies go along
            assert "GNU LESSER GENERAL PUBLIC LICENSE" in texts and "GNU GENERAL PUBLIC LICENSE" in texts


def test_transitive_requirements_are_resolved(notices: dict) -> None:
    # matplotlib -> pyparsing, contourpy; torch -> sympy -> mpmath; PySide6-Essentials -> shiboken6
    for name in ("pyparsing", "contourpy", "sympy", "mpmath"):
        assert name in notices
    if "pyside6_essentials" in notices:
        assert "shiboken6" in notices


def test_extras_only_requirements_and_the_project_itself_are_left_out(third_party: ModuleType, notices: dict) -> None:
    requires = importlib.metadata.requires("ukan-studio") or []
    assert any(r.startswith("pytest") and "extra" in r for r in requires)   # pytest is a `test` extra only
    assert _installed("pytest")                                             # ... and installed here
    # pyinstaller (the `installer` extra) may or may not be installed: left out either way
    for name in ("pytest", "pytest-qt", "pytest-timeout", "pyinstaller", "ukan-studio"):
        assert name not in notices
    names = third_party.bundled_distributions()
    assert names == sorted(names, key=str.lower) and len(names) == len({n.lower() for n in names})


def test_modules_the_spec_excludes_are_left_out_unless_untrimmed(third_party: ModuleType, notices: dict) -> None:
    if "setuptools" not in [r.split(">")[0].split(";")[0].strip() for r in importlib.metadata.requires("torch") or []]:
        pytest.skip("this torch does not require setuptools")
    assert "setuptools" not in notices                       # torch requires it, the spec excludes it
    untrimmed = [notice.name.lower() for notice in third_party.collect_notices(excluded_modules=())]
    assert "setuptools" in untrimmed


def test_licence_texts_are_the_shipped_files(notices: dict) -> None:
    numpy = notices["numpy"]
    assert numpy.license
    assert numpy.files, "numpy ships LICENSE.txt"
    assert any("Redistribution and use" in file.text for file in numpy.files)
    opencv = notices["opencv-python-headless"]
    assert any("FFmpeg" in file.text for file in opencv.files)   # LICENSE-3RD-PARTY.txt covers the bundled FFmpeg
    assert any("Apache License" in file.text for file in notices["torch"].files + notices["safetensors"].files)
    for notice in notices.values():
        assert len({file.text for file in notice.files}) == len(notice.files), f"{notice.name}: a text twice"
        for file in notice.files:
            assert not Path(file.path).is_absolute() and file.text.strip()


def test_license_as_stated(third_party: ModuleType, notices: dict) -> None:
    numpy_expression = importlib.metadata.metadata("numpy").get("License-Expression")
    if numpy_expression:
        assert notices["numpy"].license == numpy_expression
    for notice in notices.values():
        assert len(notice.license) < 200 and "\n" not in notice.license


def test_the_written_file(written: Path, notices: dict) -> None:
    assert written.name == "THIRD_PARTY_LICENSES.txt"
    text = written.read_bytes().decode("utf-8")   # raises if it is not UTF-8
    assert text.startswith("UKAN Studio - third-party licences")
    assert "included in this UKAN Studio bundle" in text
    assert "Python Software Foundation" in text
    header, _, body = text.partition("Index (")
    assert header and body
    index = body.split("\n\n", 1)[0]
    for notice in notices.values():
        line = next(line for line in index.splitlines() if line.split()[:1] == [notice.name])
        assert notice.version in line
        assert (notice.license or "(no licence stated)") in line
        assert f"\n{notice.name} {notice.version}\n" in text   # its section
    for file in notices["numpy"].files:
        assert file.text.rstrip("\n") in text
    for notice in notices.values():
        if not notice.files:
            assert f"No licence file ships with {notice.name}" in text
    for folder in (sys.base_prefix, sysconfig.get_paths()["purelib"], str(ROOT)):
        assert folder not in text   # no paths of the build machine


def test_the_python_licence_is_included_when_found(third_party: ModuleType, written: Path) -> None:
    source, python_text = third_party.python_license()
    text = written.read_text(encoding="utf-8")
    if python_text is None:
        assert "PSF License Agreement" in text
    else:
        assert "PYTHON SOFTWARE FOUNDATION LICENSE" in python_text.upper()
        assert python_text.rstrip("\n") in text and not Path(source).is_absolute()


def test_a_distribution_without_a_licence_file_gets_a_line_not_a_text(third_party: ModuleType,
                                                                      tmp_path: Path) -> None:
    bare = third_party.Notice(name="bare-package", version="1.0", license="MIT", url="", files=())
    text = third_party.write_notice(tmp_path / "notice.txt", [bare]).read_text(encoding="utf-8")
    section = text.split("\nbare-package 1.0\n", 1)[1]
    assert "Licence: MIT" in section
    assert "No licence file ships with bare-package" in section
    assert "Permission is hereby granted" not in text   # no MIT text made up


def test_overwriting_leaves_no_temporary_files(third_party: ModuleType, tmp_path: Path) -> None:
    target = tmp_path / "THIRD_PARTY_LICENSES.txt"
    target.write_text("old", encoding="utf-8")
    notices = third_party.collect_notices(["numpy"])
    assert [notice.name for notice in notices] == ["numpy"]
    assert third_party.write_notice(tmp_path, notices) == target   # a folder: the file in it
    assert third_party.write_notice(target, notices) == target     # the file itself
    assert sorted(path.name for path in tmp_path.iterdir()) == ["THIRD_PARTY_LICENSES.txt"]
    assert "numpy" in target.read_text(encoding="utf-8") and "old" != target.read_text(encoding="utf-8")


def test_a_failed_write_keeps_the_old_file(third_party: ModuleType, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "THIRD_PARTY_LICENSES.txt"
    target.write_text("old", encoding="utf-8")

    def broken(*_args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("ukan_core.atomic.os.replace", broken)
    with pytest.raises(OSError):
        third_party.write_notice(target, third_party.collect_notices(["numpy"]))
    assert target.read_text(encoding="utf-8") == "old"
    assert [path.name for path in tmp_path.iterdir()] == ["THIRD_PARTY_LICENSES.txt"]


def test_unknown_names_are_skipped_and_duplicates_merged(third_party: ModuleType) -> None:
    # both are requirements of the project, so installed wherever its tests run
    notices = third_party.collect_notices(["NumPy", "numpy", "no-such-distribution-here", "safetensors"])
    assert [notice.name.lower() for notice in notices] == ["numpy", "safetensors"]


def test_command_line(third_party: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sub" / "licences.txt"
    assert third_party.main([str(out)]) == 0
    summary = capsys.readouterr().out.strip()
    assert "\n" not in summary and "components" in summary and "without a licence file" in summary
    assert out.read_text(encoding="utf-8").startswith("UKAN Studio - third-party licences")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="build() adds the Linux files and tarball here")
def test_build_writes_the_notice_into_the_bundle_and_the_tarball(notices: dict, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    build = load_installer_script("build")
    dist, work = tmp_path / "dist", tmp_path / "work"

    def fake_pyinstaller(dist_: Path, work_: Path, *, trim: bool = True) -> Path:
        bundle = dist_ / build.BUNDLE_NAME
        bundle.mkdir(parents=True)
        for name in ("ukan-studio", "ukan"):
            (bundle / name).write_text("#!/bin/sh\n", encoding="utf-8")
        return bundle

    monkeypatch.setattr(build, "check_pyinstaller", lambda: "6.99")
    monkeypatch.setattr(build, "run_pyinstaller", fake_pyinstaller)
    bundle = build.build(dist, work, archive=True)
    notice = bundle / "THIRD_PARTY_LICENSES.txt"
    assert notice.is_file() and "numpy" in notice.read_text(encoding="utf-8")
    out = capsys.readouterr().out
    assert f"({len(notices)} components" in out
    tarball = build.archive_path(dist, load_installer_script("bundle_contents").project_version(ROOT))
    with tarfile.open(tarball) as archive:
        assert f"{build.BUNDLE_NAME}/THIRD_PARTY_LICENSES.txt" in archive.getnames()


def test_the_image_codec_packages_bring_their_licences_and_none_is_gpl(third_party: ModuleType) -> None:
    names = ("imagecodecs", "pylibjpeg", "pylibjpeg-openjpeg", "pydicom", "tifffile")
    missing = [name for name in names if not _installed(name)]
    if missing:
        pytest.skip(f"not installed here: {', '.join(missing)}")
    notices = {notice.name.lower(): notice for notice in third_party.collect_notices(names)}
    assert sorted(notices) == sorted(names)
    for notice in notices.values():
        assert notice.files, f"{notice.name} ships no licence file"
        assert "GPL" not in notice.license.upper(), f"{notice.name} states {notice.license}"
    codecs = {Path(file.path).name: file.text for file in notices["imagecodecs"].files}
    # the libraries behind DICOM JPEG Lossless, JPEG-LS and JPEG, and TIFF LZW/deflate, each with its text
    for library in ("LICENSE-liblj92", "LICENSE-charls", "LICENSE-libjpeg-turbo", "LICENSE-zlib"):
        assert library in codecs and codecs[library].strip()
    assert "PATENTS-rav1e" in codecs
    openjpeg = "\n".join(file.text for file in notices["pylibjpeg-openjpeg"].files)
    assert "openjpeg" in openjpeg and "BSD" in openjpeg        # the bundled OpenJPEG's own terms
    assert not _installed("pylibjpeg-libjpeg"), "pylibjpeg-libjpeg is GPL-3.0: it must not be installed"


def test_every_bundled_component_carries_a_licence_text(notices: dict) -> None:
    without = sorted(notice.name for notice in notices.values() if not notice.files)
    assert without == [], f"no licence text in the notice for: {', '.join(without)}"


FORMAT_DISTRIBUTIONS = {   # the packages behind the clinical formats, and the licence each states
    "highdicom": "MIT", "nibabel": "MIT", "pyjpegls": "MIT", "imagecodecs": "BSD-3-Clause",
    "pylibjpeg": "MIT", "pylibjpeg-openjpeg": "MIT", "pydicom": "MIT", "tifffile": "BSD-3-Clause",
}


def test_the_format_packages_are_listed_with_their_licences_and_the_libraries_they_compile_in(notices: dict) -> None:
    for name, licence in FORMAT_DISTRIBUTIONS.items():
        assert name in notices, f"{name} is bundled but missing from the notice"
        assert licence in notices[name].license, f"{name}: {notices[name].license}"
        assert notices[name].files, f"{name}: no licence text"
    pyjpegls = {Path(file.path.split(" ")[0]).name: file.text for file in notices["pyjpegls"].files}
    assert "Permission is hereby granted" in pyjpegls["pyjpegls-MIT.txt"]
    charls = pyjpegls["CharLS-BSD-3-Clause.txt"]
    assert "Jan de Vaan" in charls and "Redistribution and use in source and binary forms" in charls
    shipped_by_imagecodecs = importlib.metadata.distribution("imagecodecs").locate_file("imagecodecs/licenses/LICENSE-charls")
    if Path(shipped_by_imagecodecs).is_file():   # the same text CharLS ships, not one written from memory
        assert charls == Path(shipped_by_imagecodecs).read_text(encoding="utf-8")
    openjpeg = "\n".join(file.text for file in notices["pylibjpeg-openjpeg"].files)
    assert "MIT License" in openjpeg and "2-clauses" in openjpeg and "Universite catholique de Louvain" in openjpeg
    assert "COPYING" in {Path(file.path).name for file in notices["nibabel"].files}


def test_gpl_only_licences_are_recognised(third_party: ModuleType) -> None:
    gpl = ["GPL-3.0-only", "GPL-3.0-or-later", "AGPL-3.0", "OSI Approved :: GNU General Public License v3 (GPLv3)",
           "GPL-2.0-only OR GPL-3.0-only", "MIT AND GPL-3.0-only"]
    fine = ["MIT", "BSD-3-Clause", "LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only", "LGPL-2.1-or-later",
            "OSI Approved :: GNU Lesser General Public License v3 (LGPLv3)", "MIT OR GPL-3.0-only", "",
            "OSI Approved :: MIT License; OSI Approved :: GNU General Public License (GPL)"]
    assert [third_party.is_gpl_only(text) for text in gpl] == [True] * len(gpl)
    assert [third_party.is_gpl_only(text) for text in fine] == [False] * len(fine)


def test_a_gpl_component_in_the_bundles_list_is_refused(third_party: ModuleType, notices: dict) -> None:
    assert third_party.refused(notices.values()) == [], "the installed bundle list holds a GPL component"
    libjpeg = third_party.Notice(name="pylibjpeg-libjpeg", version="2.3.0", license="GPL-3.0-or-later", url="", files=())
    relabelled = third_party.Notice(name="pylibjpeg-libjpeg", version="2.3.0", license="", url="", files=())
    other = third_party.Notice(name="some-codec", version="1.0", license="GPL-2.0-only", url="", files=())
    lines = third_party.refused([*notices.values(), libjpeg, relabelled, other])
    assert lines == ["pylibjpeg-libjpeg 2.3.0 (GPL-3.0-or-later)", "pylibjpeg-libjpeg 2.3.0 (no licence stated)",
                     "some-codec 1.0 (GPL-2.0-only)"]


def test_the_build_stops_before_pyinstaller_when_the_list_holds_gpl_code(monkeypatch: pytest.MonkeyPatch,
                                                                        tmp_path: Path) -> None:
    build = load_installer_script("build")
    gpl = build.Notice(name="pylibjpeg-libjpeg", version="2.3.0", license="GPL-3.0-or-later", url="", files=())
    real = build.collect_notices
    monkeypatch.setattr(build, "collect_notices", lambda **kwargs: [*real(**kwargs), gpl])
    monkeypatch.setattr(build, "check_pyinstaller", lambda: "6.99")
    ran: list[Path] = []
    monkeypatch.setattr(build, "run_pyinstaller", lambda dist, work, trim=True: ran.append(dist) or dist)
    with pytest.raises(build.BuildError, match="GPL code: pylibjpeg-libjpeg 2.3.0"):
        build.build(tmp_path / "dist", tmp_path / "work", archive=False)
    assert ran == [] and not (tmp_path / "dist").exists()


def test_the_command_line_fails_on_a_gpl_component(third_party: ModuleType, monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gpl = third_party.Notice(name="some-codec", version="1.0", license="GPL-3.0-only", url="", files=())
    monkeypatch.setattr(third_party, "collect_notices", lambda **kwargs: [gpl])
    assert third_party.main([str(tmp_path / "out.txt")]) == 1
    assert "GPL component in the bundle's list: some-codec 1.0" in capsys.readouterr().err


def test_a_gpl_decoder_is_never_followed_into_the_bundle(third_party: ModuleType) -> None:
    contents = load_installer_script("bundle_contents")
    assert contents.REFUSED_DISTRIBUTIONS == {"pylibjpeg-libjpeg": "libjpeg"}
    assert "libjpeg" in contents.EXCLUDED_MODULES
    # it is only ever an extra (pylibjpeg[libjpeg], highdicom[libjpeg]), which the list does not follow
    for name in ("pylibjpeg", "highdicom"):
        libjpeg = [r for r in importlib.metadata.requires(name) or [] if r.lower().startswith("pylibjpeg-libjpeg")]
        assert libjpeg and all("extra" in r for r in libjpeg), libjpeg
    assert "pylibjpeg-libjpeg" not in [n.lower() for n in third_party.bundled_distributions(excluded_modules=())]
