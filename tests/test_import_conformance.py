"""The SD conformance tier: every model of ``../shared/sd-test-models`` through the importer.

Each model file is imported, compiled, run and compared with its case's canonical output
(``tests/conformance.py`` holds the tolerances and their reasons). The test fails when a
case fails, when a scalar case is not a pass, or when ``docs/conformance.md`` does not say
exactly what the run found (regenerate it with ``python tests/conformance.py``). Skips when
the corpus or PySD is absent.
"""

import pytest

pytest.importorskip("pysd")

import conformance

if not conformance.CORPUS.is_dir():
    pytest.skip(f"SD corpus not found at {conformance.CORPUS}", allow_module_level=True)

CASES = conformance.model_files()


def _documented() -> dict[str, str]:
    rows = {}
    for line in conformance.TABLE.read_text(encoding="utf-8").splitlines():
        if line.startswith("| `"):
            case = line.split("`")[1]
            rows[case] = line
    return rows


DOCUMENTED = _documented()

#: Scalar cases PySD cannot read as models at all (a parser failure or a legacy format),
#: and scalar cases that read data from spreadsheets: their reason is in the table.
NOT_IMPORTABLE = ("legacy", "a data element", "read from a file", "subscripts")


def test_table_lists_every_case():
    assert set(DOCUMENTED) == set(CASES), "docs/conformance.md is stale: rerun tests/conformance.py"


@pytest.mark.parametrize("case", CASES)
def test_case(case):
    outcome = conformance.run_case(case)
    row = conformance.render([outcome]).splitlines()
    line = next(ln for ln in row if ln.startswith("| `"))
    assert DOCUMENTED.get(case) == line, (
        "docs/conformance.md is stale for this case: rerun python tests/conformance.py"
    )
    assert outcome.status != "fail", outcome.detail
    if outcome.status == "placeholder":  # not a whole model: its case passes on another file
        path = conformance.CORPUS / case
        siblings = [
            str(p.relative_to(conformance.CORPUS)) for p in conformance.sibling_models(path)
        ]
        assert siblings, f"{case}: no whole model in its folder"
        for other in siblings:
            assert "| pass |" in DOCUMENTED[other], f"{other} ({case}'s case) does not pass"
    if outcome.status == "unsupported" and not _subscripted(case):
        assert any(word in outcome.detail for word in (*NOT_IMPORTABLE, "PySD")), outcome.detail
    if outcome.status == "unsupported":  # a subscripted case: any construct, in one line
        assert "not supported" in outcome.detail or "PySD" in outcome.detail, outcome.detail
        assert "\n" not in outcome.detail


def _subscripted(case: str) -> bool:
    """Does the case's model define subscript ranges (XMILE dimensions)?"""
    from sim315.core.errors import Sim315Error
    from sim315.imports.reader import read_abstract_model

    path = conformance.CORPUS / case
    if "<dimensions" in path.read_text(encoding="utf-8", errors="replace"):
        return True
    try:
        return any(s.subscripts for s in read_abstract_model(path).sections)
    except Sim315Error:
        return False
