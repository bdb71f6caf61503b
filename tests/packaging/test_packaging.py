"""Packaging files that can be checked without a PyInstaller build (that takes minutes; build.sh
checks the frozen app itself): the desktop entry, the AppStream metadata, the icons, the per-user
install script, and that a built wheel carries the resources and finds them where it is installed."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
from convstudio.resources import RESOURCES, resource_path

import convstudio

REPO = Path(__file__).resolve().parents[2]
PACKAGING = REPO / "packaging"
APP_ID = "io.github.convstudio.ConvStudio"
DESKTOP = PACKAGING / f"{APP_ID}.desktop"
METAINFO = PACKAGING / f"{APP_ID}.metainfo.xml"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)  # the hicolor sizes desktops look in


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    return struct.unpack(">II", data[16:24])


def _desktop_entry(path: Path) -> dict[str, str]:
    entry: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            entry[key] = value
    return entry


def test_resources_live_beside_the_package_in_the_tree():
    # in a checkout (the editable install maps the package convstudio.resources to resources/)
    assert RESOURCES == Path(convstudio.__file__).resolve().parents[1] / "resources"
    assert resource_path("icons", "convstudio.svg").is_file()
    assert sorted(p.name for p in resource_path("samples").glob("*.png"))
    assert resource_path("samples", "LICENSE.md").is_file()


@pytest.mark.parametrize("size", ICON_SIZES)
def test_icon_png_has_its_size(size):
    assert _png_size(resource_path("icons", f"convstudio-{size}.png")) == (size, size)


def test_icon_svg_is_svg():
    root = ET.parse(resource_path("icons", "convstudio.svg")).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"


def test_desktop_entry_keys():
    entry = _desktop_entry(DESKTOP)
    assert entry["Type"] == "Application"
    assert entry["Icon"] == APP_ID
    assert entry["Exec"].split()[0] == "convstudio"
    assert "%f" in entry["Exec"]
    assert entry["Categories"].endswith(";")


def test_metainfo_matches_the_package():
    root = ET.parse(METAINFO).getroot()
    assert root.findtext("id") == APP_ID
    assert root.findtext("launchable") == DESKTOP.name
    assert root.findtext("provides/binary") == "convstudio"
    versions = [r.get("version") for r in root.iter("release")]
    assert convstudio.__version__ in versions


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None,
                    reason="desktop-file-validate (desktop-file-utils) not installed")
def test_desktop_file_validates():
    r = subprocess.run(["desktop-file-validate", str(DESKTOP)], capture_output=True, text=True)
    assert r.returncode == 0 and not r.stdout.strip() and not r.stderr.strip(), r.stdout + r.stderr


@pytest.mark.skipif(shutil.which("appstreamcli") is None,
                    reason="appstreamcli (appstream) not installed")
def test_metainfo_validates():
    r = subprocess.run(["appstreamcli", "validate", "--no-net", "--explain", str(METAINFO)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    # Errors and warnings fail; infos and pedantic notes do not.
    assert not [ln for ln in r.stdout.splitlines() if ln.startswith(("E:", "W:"))], r.stdout


@pytest.mark.parametrize("script", ["build.sh", "install-user.sh"])
def test_scripts_parse(script):
    assert os.access(PACKAGING / script, os.X_OK)
    subprocess.run(["bash", "-n", str(PACKAGING / script)], check=True)


@pytest.fixture
def fake_build(tmp_path):
    """A stand-in for packaging/dist/convstudio: the install script only copies and links it."""
    dist = tmp_path / "dist" / "convstudio"
    (dist / "_internal" / "convstudio").mkdir(parents=True)
    binary = dist / "convstudio"
    binary.write_text("#!/bin/sh\necho convstudio 0.0\n")
    binary.chmod(0o755)
    return dist


def _run_install(home: Path, dist: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    env.update(HOME=str(home), CONVSTUDIO_DIST=str(dist))
    return subprocess.run(["bash", str(PACKAGING / "install-user.sh"), *args], env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("home_name", ["home", "my home $HOME"])
def test_install_user_and_uninstall(tmp_path, fake_build, home_name):
    home = tmp_path / home_name
    home.mkdir()
    r = _run_install(home, fake_build)
    assert r.returncode == 0, r.stdout + r.stderr

    data = home / ".local" / "share"
    app_dir = home / ".local" / "opt" / "convstudio"
    desktop = data / "applications" / f"{APP_ID}.desktop"
    entry = _desktop_entry(desktop)
    assert entry["TryExec"] == str(app_dir / "convstudio")
    exec_line = entry["Exec"]
    assert exec_line.endswith(" %f")
    if " " in str(home):  # quoted, with $ escaped as \$ and then the backslash doubled
        assert exec_line.startswith('"') and "\\\\$HOME" in exec_line
    else:
        assert exec_line == f"{app_dir / 'convstudio'} %f"
    if shutil.which("desktop-file-validate"):
        v = subprocess.run(["desktop-file-validate", str(desktop)], capture_output=True, text=True)
        assert v.returncode == 0 and not v.stdout.strip(), v.stdout + v.stderr

    for size in ICON_SIZES:
        icon = data / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        assert _png_size(icon) == (size, size)
    assert (data / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg").is_file()
    assert (data / "metainfo" / f"{APP_ID}.metainfo.xml").is_file()
    link = home / ".local" / "bin" / "convstudio"
    assert link.resolve() == (app_dir / "convstudio").resolve()
    out = subprocess.run([str(link)], capture_output=True, text=True, check=True).stdout
    assert out.startswith("convstudio")

    r = _run_install(home, fake_build, "--uninstall")
    assert r.returncode == 0, r.stdout + r.stderr
    # update-desktop-database, where installed, keeps its (now empty) MIME cache.
    assert [p for p in home.rglob("*") if not p.is_dir() and p.name != "mimeinfo.cache"] == []
    assert fake_build.joinpath("convstudio").is_file()  # the build itself is left alone


def test_install_user_leaves_another_convstudio_command_alone(tmp_path, fake_build):
    home = tmp_path / "home"
    other = home / ".local" / "bin" / "convstudio"
    other.parent.mkdir(parents=True)
    other.write_text("#!/bin/sh\n# a pip-installed convstudio\n")
    r = _run_install(home, fake_build, "--in-place")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "a pip-installed convstudio" in other.read_text()
    entry = _desktop_entry(home / ".local" / "share" / "applications" / f"{APP_ID}.desktop")
    assert entry["TryExec"] == str(fake_build / "convstudio")
    _run_install(home, fake_build, "--uninstall")
    assert other.is_file()


def test_wheel_ships_the_resources_and_finds_them(tmp_path):
    """Build the wheel from a copy of the project (the checkout gets no build/ folder), unpack it
    as pip would into site-packages, and look the resources up from there."""
    setuptools = pytest.importorskip("setuptools")
    if int(setuptools.__version__.split(".")[0]) < 77:
        pytest.skip("setuptools >= 77 (pyproject's build requirement) is not installed")
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(REPO / name, src / name)
    for folder in ("convstudio", "resources"):
        shutil.copytree(REPO / folder, src / folder,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--no-index", "--quiet", "-w", str(wheels), str(src)],
                   check=True, capture_output=True, text=True, timeout=120)
    (wheel,) = wheels.glob("convstudio-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {"convstudio/" + p.relative_to(REPO).as_posix() for p in RESOURCES.rglob("*")
               if p.is_file() and "__pycache__" not in p.parts}
    assert shipped <= names, sorted(shipped - names)

    # Unpacked as pip installs it; -I -S: no site-packages, so not the checkout's editable install.
    site = tmp_path / "site-packages"
    zipfile.ZipFile(wheel).extractall(site)
    code = ("import sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]); "
            "from convstudio.resources import resource_path as r; "
            "print(r('icons', 'convstudio.svg').is_file(), r('samples', 'cat.png').is_file(), "
            "r().parents[1] == Path(sys.argv[1]).resolve())")
    out = subprocess.run([sys.executable, "-I", "-S", "-c", code, str(site)],
                         capture_output=True, text=True, check=True, cwd=tmp_path, timeout=60)
    assert out.stdout.split() == ["True", "True", "True"], out.stdout + out.stderr


def test_every_package_of_the_tree_is_listed_in_pyproject():
    """pyproject.toml names its packages one by one (resources/ is mapped, which find cannot
    see): a new folder of code must be added there, or the wheel would leave it out."""
    import tomllib

    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    listed = set(config["packages"])
    in_tree = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "convstudio").rglob("__init__.py")
               if "__pycache__" not in p.parts}
    assert listed == in_tree | {"convstudio.resources"}
    assert config["package-dir"] == {"convstudio.resources": "resources"}
