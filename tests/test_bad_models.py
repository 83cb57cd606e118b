"""A catalogue of broken model files: each ``tests/bad_models/<case>.yaml`` is a small model
with exactly one defect. ``sim315 model check`` must reject it with exit code 2 and one line
on stderr naming the file, the line, the element and field at fault, and the fix; never a
traceback (``--debug`` shows one)."""

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim315.cli import main
from sim315.core.errors import ModelError

BAD = Path(__file__).resolve().parent / "bad_models"

# (case, line of the defect or None, element.field or None, pattern for the rest of the line)
CASES = [
    # -- reading the YAML ----------------------------------------------------------------
    (
        "yaml_syntax",
        34,
        None,
        r"YAML syntax error at column 6: expected ',' or '\]', but got ':' "
        r"\(while parsing a flow sequence, which starts on line 33\); fix the YAML syntax",
    ),
    (
        "yaml_duplicate_key",
        18,
        None,
        r"YAML syntax error at column 5: duplicate key 'units' \(first on line 17\)",
    ),
    ("non_string_key", 31, None, r"YAML syntax error at column 3: a mapping key must be a plain"),
    ("not_a_mapping", None, None, r"a model file must be a YAML mapping"),
    ("empty_file", None, None, r"the model file is empty"),
    # -- the shape of the file -------------------------------------------------------------
    ("missing_stock_units", 15, "stocks.water.units", r"required field is missing; add it"),
    ("missing_time", None, "time", r"required field is missing; add it"),
    (
        "unknown_field_inflow",
        18,
        "stocks.water.inflow",
        r"unknown field 'inflow'; did you mean 'inflows'\?",
    ),
    (
        "unknown_field_top",
        27,
        "auxiliary",
        r"unknown field 'auxiliary'; did you mean 'auxiliaries'\?",
    ),
    (
        "wrong_type_value",
        11,
        "parameters.leak_rate.value",
        r"Input should be a valid number \(got 'ten percent'\)$",
    ),
    ("wrong_type_dt", 7, "time.dt", r"Input should be a valid number \(got 'quarter'\)$"),
    (
        "scientific_notation",
        7,
        "time.dt",
        r"valid number \(got '25e-2'\); YAML reads 25e-2 as text; write it with a decimal "
        r"point, e\.g\. 0\.25$",
    ),
    ("negative_dt", 7, "time.dt", r"Input should be greater than 0 \(got -0\.25\)"),
    (
        "bool_equation",
        22,
        "flows.fill.equation",
        r"an equation must be a number or an expression, not true/false$",
    ),
    (
        "bounds_three_items",
        13,
        "parameters.leak_rate.bounds",
        r"at most 2 items after validation, not 3",
    ),
    ("lookup_empty_x", 33, "lookups.supply_table.x", r"at least 1 item after validation, not 0"),
    (
        "target_unknown_compare",
        18,
        "stocks.water.target.compare",
        r"Input should be '>', '>=', '<', '<=', '~' or 'between' \(got '=>'\)",
    ),
    # -- names -----------------------------------------------------------------------------
    (
        "duplicate_name",
        31,
        "auxiliaries.leak",
        r"'leak' is also defined in flows; give each a unique name",
    ),
    ("reserved_name", 31, "auxiliaries.time", r"'time' is a reserved word; rename it"),
    ("reserved_function_name", 31, "auxiliaries.exp", r"'exp' is a reserved word; rename it"),
    ("invalid_name", 31, "auxiliaries.2x", r"'2x' is not a valid name; use letters, digits"),
    (
        "flow_is_auxiliary",
        18,
        "stocks.water.inflows",
        r"'supply' is an auxiliary, not a flow; move 'supply' to flows",
    ),
    ("unknown_flow", 18, "stocks.water.inflows", r"unknown flow 'fil'; did you mean 'fill'\?"),
    ("flow_twice", 19, "stocks.water.outflows", r"flow 'leak' is attached to this stock twice"),
    # -- equations -------------------------------------------------------------------------
    (
        "unknown_name",
        25,
        "flows.leak.equation",
        r"unknown name 'leak_rat' in 'water \* leak_rat'; did you mean 'leak_rate'\?",
    ),
    (
        "unknown_function",
        25,
        "flows.leak.equation",
        r"unknown function 'exq' in '.*'; did you mean 'exp'\?",
    ),
    (
        "if_else_expression",
        25,
        "flows.leak.equation",
        r"the conditional expression '.* if water > 0 else 0' is not supported; "
        r"use if_then_else\(cond, a, b\)",
    ),
    (
        "boolean_and",
        25,
        "flows.leak.equation",
        r"the boolean operator in 'water > 0 and time > 1' is not supported",
    ),
    (
        "attribute_access",
        25,
        "flows.leak.equation",
        r"the attribute 'water\.value' is not supported",
    ),
    ("subscript", 25, "flows.leak.equation", r"the subscript 'water\[0\]' is not supported"),
    (
        "chained_comparison",
        25,
        "flows.leak.equation",
        r"the chained comparison '0 < time < 5' is not supported; compare two values at a time",
    ),
    (
        "caret_power",
        25,
        "flows.leak.equation",
        r"'\^' in 'water \* leak_rate \^ 2' is not a power here; write powers as '\*\*'",
    ),
    ("string_constant", 22, "flows.fill.equation", r"the constant ''ten'' is not supported"),
    (
        "equation_syntax",
        25,
        "flows.leak.equation",
        r"cannot parse 'water \* \(leak_rate' at column 9: '\(' was never closed",
    ),
    (
        "wrong_arity",
        25,
        "flows.leak.equation",
        r"exp\(\) takes 1 argument, got 2 in '.*exp\(0, 1\)'; exp\(x\): e\*\*x",
    ),
    (
        "min_one_arg",
        25,
        "flows.leak.equation",
        r"min\(\) of one value in .* has nothing to reduce; give min\(\) two or more",
    ),
    (
        "keyword_argument",
        25,
        "flows.leak.equation",
        r"the keyword or starred argument in 'exp\(x=0\)' is not supported",
    ),
    (
        "too_deep",
        22,
        "flows.fill.equation",
        r"the equation is nested more than 80 levels deep; split it into auxiliaries",
    ),
    (
        "stateful_initial",
        16,
        "stocks.water.initial",
        r"smooth\(\) cannot set an initial value",
    ),
    # -- lookups ---------------------------------------------------------------------------
    (
        "lookup_unknown_table",
        29,
        "auxiliaries.supply.equation",
        r"unknown table 'suply_table' in '.*'; did you mean 'supply_table'\?",
    ),
    (
        "lookup_non_name_table",
        29,
        "auxiliaries.supply.equation",
        r"the table argument of 'lookup\(2, time\)' is not supported",
    ),
    (
        "table_as_variable",
        25,
        "flows.leak.equation",
        r"'supply_table' is a table, not a variable; write lookup\(supply_table, x\)",
    ),
    (
        "lookup_x_not_increasing",
        33,
        "lookups.supply_table.x",
        r"x must be strictly increasing; sort the points",
    ),
    (
        "lookup_length_mismatch",
        32,
        "lookups.supply_table",
        r"x has 3 points but y has 2; give as many of each",
    ),
    # -- loops -----------------------------------------------------------------------------
    (
        "algebraic_loop",
        29,
        "auxiliaries.supply.equation",
        r"algebraic loop: supply -> demand -> supply; break it with a stock",
    ),
    (
        "init_loop",
        16,
        "stocks.water.initial",
        r"initialisation loop: water -> reserve -> water; give one of these a numeric",
    ),
    # -- the clock -------------------------------------------------------------------------
    (
        "dt_not_dividing",
        7,
        "time.dt",
        r"dt=0\.3 does not divide the horizon 0\.0\.\.10\.0 into whole steps; "
        r"use a dt that divides 10, such as 0\.25$",
    ),
    (
        "save_every_not_multiple",
        8,
        "time.save_every",
        r"save_every=0\.6 is not a whole multiple of dt=0\.25; use a multiple of dt such as 0\.5",
    ),
    (
        "save_every_not_dividing",
        8,
        "time.save_every",
        r"save_every=0\.75 does not divide the horizon",
    ),
    ("stop_before_start", 6, "time.stop", r"stop \(0\.0\) must be after start \(0\.0\)"),
    # -- units -----------------------------------------------------------------------------
    (
        "unit_mismatch_add",
        25,
        "flows.leak.equation",
        r"units: adding 'litre/year' and 'litre' in 'water \* leak_rate \+ water'",
    ),
    (
        "flow_units_wrong",
        26,
        "flows.leak.units",
        r"units 'litre' do not match stock 'water' \('litre' per year\); "
        r"declare the flow in 'litre/year'",
    ),
    (
        "declared_units_wrong",
        25,
        "flows.leak.equation",
        r"is in 'litre/year\^2' but is declared 'litre/year'",
    ),
    (
        "exp_with_units",
        25,
        "flows.leak.equation",
        r"units: the argument of exp\(\) must be in '1', not 'litre' in 'exp\(water\)'",
    ),
    (
        "lookup_input_units",
        29,
        "auxiliaries.supply.equation",
        r"the input of table 'supply_table' must be in 'year', not '1/year'",
    ),
    (
        "step_time_units",
        22,
        "flows.fill.equation",
        r"the time of step\(\) must be in 'year', not '1/year'",
    ),
    (
        "bad_unit_string",
        12,
        "parameters.leak_rate.units",
        r"bad units '1/year\^': a power needs a number",
    ),
    (
        "bad_unit_number",
        17,
        "stocks.water.units",
        r"bad units '1000 litre': numbers other than 1 are not units",
    ),
    ("bad_time_units", 8, "time.units", r"bad units: 'year/' ends too early"),
    # -- values ----------------------------------------------------------------------------
    (
        "value_out_of_bounds",
        11,
        "parameters.leak_rate.value",
        r"value 1\.5 lies outside its bounds \[0\.0, 1\.0\]",
    ),
    (
        "reversed_bounds",
        13,
        "parameters.leak_rate.bounds",
        r"bounds \[1\.0, 0\.0\] are reversed; write \[0\.0, 1\.0\]",
    ),
    ("nan_value", 11, "parameters.leak_rate.value", r"value must be finite, not nan"),
    ("infinite_initial", 16, "stocks.water.initial", r"must be finite"),
]


def _check(path: Path):
    return CliRunner().invoke(main, ["model", "check", str(path)])


def _stderr(result) -> str:
    return result.stderr if hasattr(result, "stderr") else result.output


@pytest.mark.parametrize(("case", "line", "where", "pattern"), CASES, ids=[c[0] for c in CASES])
def test_bad_model(case, line, where, pattern):
    path = BAD / f"{case}.yaml"
    result = _check(path)
    err = _stderr(result)
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    if hasattr(result, "stderr"):
        assert result.stdout == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    message = lines[0]
    head = f"error: {path}" + (f":{line}" if line is not None else "") + ": "
    assert message.startswith(head), (head, message)
    rest = message[len(head) :]
    if where is not None:
        assert rest.startswith(f"{where}: "), (where, message)
        rest = rest[len(where) + 2 :]
    assert re.search(pattern, rest), (pattern, message)


def test_catalogue_matches_the_folder():
    assert sorted(p.stem for p in BAD.glob("*.yaml")) == sorted(c[0] for c in CASES)


def test_each_file_says_what_is_broken():
    for path in BAD.glob("*.yaml"):
        assert path.read_text().startswith("# Broken on purpose: "), path.name


def test_debug_lets_the_exception_through():
    args = ["--debug", "model", "check", str(BAD / "unknown_name.yaml")]
    with pytest.raises(ModelError, match=r"unknown name 'leak_rat'"):
        CliRunner().invoke(main, args, catch_exceptions=False)
