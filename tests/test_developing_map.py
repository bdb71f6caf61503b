"""docs/developing.md's map ("The rooms") names every module of the core, of the session layer and
of the command line, so that a newcomer finds each one there."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_map_names_every_core_session_and_cli_module():
    text = (ROOT / "docs" / "developing.md").read_text(encoding="utf-8")
    rooms = text.split("## The rooms", 1)[1].split("\n## ", 1)[0]
    package = ROOT / "convstudio"
    modules = [p for folder in ("core", "session") for p in sorted((package / folder).glob("*.py"))
               if p.name != "__init__.py"]
    modules += sorted(package.glob("cli*.py"))
    assert len(modules) > 40
    missing = []
    for p in modules:
        rel = p.relative_to(package).as_posix()
        if f"`{rel}`" not in rooms and f"`convstudio/{rel}`" not in rooms:
            missing.append(rel)
    assert not missing, f"add a row for each to docs/developing.md, 'The rooms': {missing}"
