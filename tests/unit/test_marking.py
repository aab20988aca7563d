"""The scoring rules of docs/marking.md, checked to the letter (src/examvault/domain/marking.py)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from examvault.domain.marking import (
    OUTCOMES,
    PRESETS,
    MarkError,
    Marking,
    NumericKey,
    Response,
    Rule,
    is_unanswered,
    numeric_key,
    parse_mark,
    read_number,
    round_half_away,
    score,
    total,
)

F = Fraction
D = Decimal

# The API's numeric string, with \d spelled as the ASCII digits it means.
ASCII_NUMERIC = r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?"


def single(key: str | list[str], marking: Marking | None = None) -> Rule:
    keys = [key] if isinstance(key, str) else key
    return Rule("single", frozenset(keys), marking or PRESETS["plus4_minus1"])


def multiple(key: str, marking: Marking) -> Rule:
    return Rule("multiple", frozenset(key), marking)


def numeric(key: NumericKey, marking: Marking | None = None) -> Rule:
    return Rule("numeric", key, marking or PRESETS["plus4_minus1"])


def chosen(options: str) -> frozenset[str]:
    return frozenset(options)


# --- the marking object and presets -------------------------------------------------


def test_a_marking_object_needs_only_correct() -> None:
    assert Marking(correct=F(4)) == Marking(
        correct=F(4), wrong=F(0), unanswered=F(0), partial="none", partial_per_option=F(1)
    )


PRESET_TABLE: dict[str, Marking] = {
    "plus4_minus1": Marking(correct=F(4), wrong=F(-1)),
    "plus4": Marking(correct=F(4), wrong=F(0)),
    "jee_advanced_multi": Marking(correct=F(4), wrong=F(-2), partial="jee_advanced"),
    "gate_mcq_1": Marking(correct=F(1), wrong=F(-1, 3)),
    "gate_mcq_2": Marking(correct=F(2), wrong=F(-2, 3)),
    "gate_msq_1": Marking(correct=F(1), partial="none"),
    "gate_msq_2": Marking(correct=F(2), partial="none"),
    "gate_nat_1": Marking(correct=F(1)),
    "gate_nat_2": Marking(correct=F(2)),
    "cat_mcq": Marking(correct=F(3), wrong=F(-1)),
    "cat_tita": Marking(correct=F(3), wrong=F(0)),
}


def test_the_presets_are_exactly_those_of_the_table() -> None:
    assert set(PRESETS) == set(PRESET_TABLE)


@pytest.mark.parametrize("name", sorted(PRESET_TABLE))
def test_each_preset_is_its_object_in_the_table(name: str) -> None:
    preset = PRESETS[name]
    assert preset == PRESET_TABLE[name]
    # No preset marks an unanswered question, and only the JEE one gives partial marks.
    assert preset.unanswered == 0
    assert preset.partial_per_option == 1


# --- parse_mark -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (4, F(4)),
        (-1, F(-1)),
        (0, F(0)),
        ("-1/3", F(-1, 3)),
        ("2/3", F(2, 3)),
        ("-2/3", F(-2, 3)),
        ("4", F(4)),
        ("0.5", F(1, 2)),
        (D("0.1"), F(1, 10)),
        (D("-0.25"), F(-1, 4)),
        (F(5, 7), F(5, 7)),
        (0.1, F(1, 10)),
    ],
)
def test_a_mark_is_a_number_or_a_fraction_string(value: object, expected: Fraction) -> None:
    assert parse_mark(value) == expected


@pytest.mark.parametrize(
    "value",
    [True, False, "abc", "1/0", "-1/0", "", "1/3/4", "one", None, [], {}, D("NaN"), D("Infinity")],
)
def test_parse_mark_refuses_what_is_not_an_exact_number(value: object) -> None:
    with pytest.raises(MarkError):
        parse_mark(value)


def test_three_gate_wrong_answers_total_exactly_minus_one() -> None:
    third = parse_mark("-1/3")
    assert third + third + third == -1
    assert total([third, third, third]) == F(-1)
    assert total([PRESETS["gate_mcq_1"].wrong] * 3) == -1
    assert total([PRESETS["gate_mcq_2"].wrong] * 3) == -2


@given(st.integers(min_value=0, max_value=3000))
@settings(max_examples=60, deadline=None, derandomize=True)
def test_exact_sums_never_drift(n: int) -> None:
    assert total([parse_mark("-1/3")] * n) == F(-n, 3)


def test_total_of_nothing_is_zero() -> None:
    assert total([]) == 0


# --- unanswered ---------------------------------------------------------------------


@pytest.mark.parametrize("response", [None, "", [], (), frozenset(), set()])
def test_null_empty_string_and_empty_list_are_unanswered(response: object) -> None:
    assert is_unanswered(response)


@pytest.mark.parametrize("response", ["A", ["A"], frozenset("A"), D(0), 0, D("0.0"), " "])
def test_anything_else_is_answered(response: object) -> None:
    assert not is_unanswered(response)


NON_ZERO_UNANSWERED = Marking(correct=F(4), wrong=F(-1), unanswered=F(-1, 4))


@pytest.mark.parametrize(
    ("rule", "response"),
    [
        (single("A", NON_ZERO_UNANSWERED), None),
        (single("A", NON_ZERO_UNANSWERED), ""),
        (multiple("AB", NON_ZERO_UNANSWERED), None),
        (multiple("AB", NON_ZERO_UNANSWERED), frozenset()),
        (numeric(NumericKey(D(1), D(2)), NON_ZERO_UNANSWERED), None),
        (numeric(NumericKey(D(1), D(2)), NON_ZERO_UNANSWERED), ""),
    ],
)
def test_an_unanswered_question_scores_the_unanswered_mark(rule: Rule, response: object) -> None:
    assert score(rule, response) == ("unanswered", F(-1, 4))  # type: ignore[arg-type]


def test_a_list_response_that_is_empty_is_unanswered_too() -> None:
    rule = multiple("AB", NON_ZERO_UNANSWERED)
    assert score(rule, []) == ("unanswered", F(-1, 4))  # type: ignore[arg-type]


# --- single -----------------------------------------------------------------------------


def test_single_is_correct_when_the_response_is_the_key() -> None:
    assert score(single("B"), "B") == ("correct", F(4))


@pytest.mark.parametrize("response", ["A", "C", "D", "b"])
def test_single_is_wrong_for_any_other_option(response: str) -> None:
    assert score(single("B"), response) == ("wrong", F(-1))


@pytest.mark.parametrize("response", ["A", "C"])
def test_single_with_several_accepted_options_accepts_each(response: str) -> None:
    assert score(single(["A", "C"], PRESETS["gate_mcq_1"]), response) == ("correct", F(1))


@pytest.mark.parametrize("response", ["B", "D"])
def test_single_with_several_accepted_options_refuses_the_rest(response: str) -> None:
    assert score(single(["A", "C"], PRESETS["gate_mcq_1"]), response) == ("wrong", F(-1, 3))


def test_single_unanswered_under_a_preset_scores_zero() -> None:
    assert score(single("B"), None) == ("unanswered", F(0))


# --- multiple, partial: none -------------------------------------------------------------


NONE_RULE = Marking(correct=F(2), wrong=F(-1))


def test_multiple_without_partial_is_correct_only_for_the_key() -> None:
    assert score(multiple("AC", NONE_RULE), chosen("CA")) == ("correct", F(2))


@pytest.mark.parametrize("options", ["A", "C", "ABC", "B", "BD", "ABCD"])
def test_multiple_without_partial_is_wrong_otherwise(options: str) -> None:
    assert score(multiple("AC", NONE_RULE), chosen(options)) == ("wrong", F(-1))


@pytest.mark.parametrize("preset", ["gate_msq_1", "gate_msq_2"])
def test_gate_msq_gives_no_partial_and_no_negative(preset: str) -> None:
    rule = multiple("ABC", PRESETS[preset])
    assert score(rule, chosen("AB")) == ("wrong", F(0))
    assert score(rule, chosen("ABC"))[0] == "correct"


# --- multiple, partial: jee_advanced (the JEE (Advanced) paper's rule) ---------------------


JEE = PRESETS["jee_advanced_multi"]


@pytest.mark.parametrize(
    ("key", "options", "expected"),
    [
        # +4 when all the correct options are chosen.
        ("ABCD", "ABCD", ("correct", F(4))),
        ("AC", "AC", ("correct", F(4))),
        ("B", "B", ("correct", F(4))),
        # +3 when all four options are correct and exactly three are chosen.
        ("ABCD", "ABC", ("partial", F(3))),
        ("ABCD", "BCD", ("partial", F(3))),
        # +2 when three or more are correct and two correct ones are chosen.
        ("ABC", "AB", ("partial", F(2))),
        ("ABCD", "CD", ("partial", F(2))),
        # +1 when two or more are correct and one correct one is chosen.
        ("AB", "A", ("partial", F(1))),
        ("ABC", "C", ("partial", F(1))),
        ("ABCD", "D", ("partial", F(1))),
        # -2 otherwise: any chosen option outside the key voids the rest.
        ("ABC", "ABD", ("wrong", F(-2))),
        ("ABC", "ABCD", ("wrong", F(-2))),
        ("AB", "D", ("wrong", F(-2))),
        ("B", "AB", ("wrong", F(-2))),
        ("ACD", "B", ("wrong", F(-2))),
    ],
)
def test_jee_advanced_paper_examples(
    key: str, options: str, expected: tuple[str, Fraction]
) -> None:
    assert score(multiple(key, JEE), chosen(options)) == expected


@pytest.mark.parametrize("response", [None, frozenset()])
def test_jee_advanced_unanswered_scores_zero(response: Response) -> None:
    assert score(multiple("ABC", JEE), response) == ("unanswered", F(0))


def test_jee_advanced_partial_is_chosen_count_times_partial_per_option() -> None:
    marking = Marking(correct=F(6), wrong=F(-2), partial="jee_advanced", partial_per_option=F(3, 2))
    assert score(multiple("ABCD", marking), chosen("AB")) == ("partial", F(3))
    assert score(multiple("ABCD", marking), chosen("ABC")) == ("partial", F(9, 2))
    assert score(multiple("ABCD", marking), chosen("A")) == ("partial", F(3, 2))


# --- multiple, partial: proportional ---------------------------------------------------


def proportional(correct: Fraction) -> Marking:
    return Marking(correct=correct, wrong=F(-1), partial="proportional")


def test_proportional_is_correct_for_the_key() -> None:
    assert score(multiple("BD", proportional(F(3))), chosen("BD")) == ("correct", F(3))


@pytest.mark.parametrize(
    ("key", "options", "correct", "expected"),
    [
        ("BD", "B", F(3), F(3, 2)),
        ("ABC", "A", F(3), F(1)),
        ("ABC", "AC", F(3), F(2)),
        ("ABC", "A", F(4), F(4, 3)),
        ("ABCD", "ABC", F(4), F(3)),
        ("ABCD", "A", F(2, 3), F(1, 6)),
    ],
)
def test_proportional_partial_is_correct_times_chosen_over_key_exactly(
    key: str, options: str, correct: Fraction, expected: Fraction
) -> None:
    assert score(multiple(key, proportional(correct)), chosen(options)) == ("partial", expected)


@pytest.mark.parametrize("options", ["BC", "ABD", "C", "ABCD"])
def test_proportional_is_wrong_for_any_option_outside_the_key(options: str) -> None:
    assert score(multiple("BD", proportional(F(3))), chosen(options)) == ("wrong", F(-1))


# --- numeric --------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["2.50", "2.5", "+2.5", "2.5e0", "25e-1", "0.25E+1", ".25e1"])
def test_numeric_spellings_of_one_number_are_the_same_number(text: str) -> None:
    assert read_number(text) == D("2.5")
    assert score(numeric(numeric_key(D("2.5"))), read_number(text)) == ("correct", F(4))


def test_a_json_number_read_as_decimal_is_that_number() -> None:
    assert score(numeric(numeric_key(D("2.5"))), read_number(D("2.50"))) == ("correct", F(4))


def test_numeric_value_without_tolerance_is_exact() -> None:
    rule = numeric(numeric_key(D("2.5")))
    assert score(rule, D("2.5")) == ("correct", F(4))
    assert score(rule, D("2.5000000000000000000000000000001")) == ("wrong", F(-1))
    assert score(rule, D("2.4999999999999999999999999999999")) == ("wrong", F(-1))


def test_zero_point_one_is_the_decimal_zero_point_one() -> None:
    rule = numeric(numeric_key(D("0.3"), D(0)))
    assert score(rule, D("0.1") + D("0.2")) == ("correct", F(4))
    # The binary float 0.1 + 0.2 is not 0.3, and is not read as if it were.
    assert score(rule, read_number(repr(0.1 + 0.2))) == ("wrong", F(-1))
    assert score(numeric(numeric_key(D("0.1"))), read_number("0.1")) == ("correct", F(4))
    assert score(numeric(numeric_key(D("0.1"))), read_number("1e-1")) == ("correct", F(4))


def test_numeric_value_with_tolerance_has_inclusive_bounds() -> None:
    rule = numeric(numeric_key(D("2.5"), D("0.05")))
    for inside in ["2.45", "2.55", "2.5", "2.450000", "2.549999999999999999999"]:
        assert score(rule, read_number(inside)) == ("correct", F(4)), inside
    for outside in ["2.4499999999999999999", "2.5500000000000000001", "2.56", "-2.5"]:
        assert score(rule, read_number(outside)) == ("wrong", F(-1)), outside


def test_numeric_range_has_inclusive_bounds() -> None:
    rule = numeric(NumericKey(low=D("2.45"), high=D("2.55")), PRESETS["gate_nat_2"])
    for inside in ["2.45", "2.55", "2.5", "+2.55", "245e-2"]:
        assert score(rule, read_number(inside)) == ("correct", F(2)), inside
    for outside in ["2.4499999999999999999", "2.5500000000000000001", "-2.5", "0", "1e100"]:
        assert score(rule, read_number(outside)) == ("wrong", F(0)), outside


def test_a_response_just_above_a_bound_is_wrong() -> None:
    rule = numeric(NumericKey(low=D("2.45"), high=D("2.55")))
    assert score(rule, D("2.5500000000000000001")) == ("wrong", F(-1))


def test_numeric_key_is_value_plus_or_minus_tolerance_exactly() -> None:
    key = numeric_key(D("0.1"), D("0.2"))
    assert key == NumericKey(low=D("-0.1"), high=D("0.3"))
    fine = numeric_key(D("1.000000000000000000000000000001"), D("1e-40"))
    assert str(fine.low) == "1.0000000000000000000000000000009999999999"
    assert str(fine.high) == "1.0000000000000000000000000000010000000001"


def test_numeric_key_refuses_a_negative_tolerance() -> None:
    with pytest.raises(MarkError):
        numeric_key(D("2.5"), D("-0.01"))


def test_numeric_key_refuses_a_sum_that_would_round() -> None:
    with pytest.raises(MarkError):
        numeric_key(D("1e-20000"), D("1e20000"))


# --- read_number (the save rules' numeric string) ------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3, D(3)),
        (-7, D(-7)),
        (D("2.45"), D("2.45")),
        (".5", D("0.5")),
        ("5.", D(5)),
        ("+1e-3", D("0.001")),
        ("-0", D(0)),
        ("1E5", D(100000)),
        ("007", D(7)),
        ("-.5e+2", D(-50)),
    ],
)
def test_read_number_accepts_numbers_and_numeric_strings(value: object, expected: Decimal) -> None:
    assert read_number(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        True,
        False,
        " 1",
        "1 ",
        "1_0",
        "NaN",
        "nan",
        "Infinity",
        "-Infinity",
        "inf",
        "0x10",
        "",
        ".",
        "+",
        "e5",
        "1e",
        "1.2.3",
        "1,5",
        "--1",
        D("NaN"),
        D("Infinity"),
        None,
        ["1"],
        2.5,
    ],
)
def test_read_number_refuses_anything_else(value: object) -> None:
    with pytest.raises(ValueError):
        read_number(value)


@pytest.mark.parametrize("text", ["\u0661\u0662", "\uff11", "\u0967.5", "1e\u0663"])
def test_read_number_refuses_digits_that_are_not_ascii(text: str) -> None:
    # docs/api.md's regex is [+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?, digits 0-9; Arabic-Indic,
    # Devanagari or full-width digits are not a plain decimal number.
    with pytest.raises(ValueError):
        read_number(text)


@given(st.from_regex(ASCII_NUMERIC, fullmatch=True))
@settings(max_examples=150, deadline=None, derandomize=True)
def test_every_string_the_regex_matches_is_read_as_that_decimal(text: str) -> None:
    exponent = text.lower().partition("e")[2]
    # An exponent past what a Decimal can hold is outside this property's reach; the
    # test below checks that such a string is refused, not crashed on.
    assume(not exponent or abs(int(exponent)) < 10**17)
    assert read_number(text) == D(text)


@pytest.mark.parametrize("text", ["1e1000000000000000000", "0E1000000000000000000"])
def test_a_numeric_string_too_large_for_a_decimal_is_refused_not_crashed_on(text: str) -> None:
    # A refusal must be a ValueError (the 422 path of answers.check_response); any other
    # exception escapes the save's validation and becomes a 500.
    with pytest.raises(ValueError):
        read_number(text)


# --- dropped questions -------------------------------------------------------------------


@pytest.mark.parametrize("response", [None, "A", "B"])
def test_a_question_dropped_with_bonus_all_is_correct_for_everyone(response: Response) -> None:
    rule = single("B", NON_ZERO_UNANSWERED).evolve(dropped="all")
    assert score(rule, response) == ("correct", F(4))


@pytest.mark.parametrize("response", ["A", "B"])
def test_a_question_dropped_with_bonus_answered_is_correct_for_who_answered(
    response: Response,
) -> None:
    rule = single("B", NON_ZERO_UNANSWERED).evolve(dropped="answered")
    assert score(rule, response) == ("correct", F(4))


@pytest.mark.parametrize("response", [None, ""])
def test_a_question_dropped_with_bonus_answered_stays_unanswered_when_unanswered(
    response: Response,
) -> None:
    rule = single("B", NON_ZERO_UNANSWERED).evolve(dropped="answered")
    assert score(rule, response) == ("unanswered", F(-1, 4))


def test_dropping_covers_every_type() -> None:
    jee = multiple("AB", JEE).evolve(dropped="answered")
    assert score(jee, chosen("CD")) == ("correct", F(4))
    assert score(jee, frozenset()) == ("unanswered", F(0))
    nat = numeric(NumericKey(D(1), D(1)), PRESETS["gate_nat_1"]).evolve(dropped="all")
    assert score(nat, D(99)) == ("correct", F(1))
    assert score(nat, None) == ("correct", F(1))


def test_evolve_makes_a_copy() -> None:
    rule = single("B")
    dropped = rule.evolve(dropped="all")
    assert rule.dropped is None
    assert dropped.dropped == "all"
    assert dropped.key == rule.key


# --- round_half_away ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "places", "expected"),
    [
        (F(-1, 3), 2, "-0.33"),
        (F(1, 3), 2, "0.33"),
        (F(2, 3), 2, "0.67"),
        (F(-2, 3), 2, "-0.67"),
        (F(5, 1000), 2, "0.01"),
        (F(-5, 1000), 2, "-0.01"),
        (F(4999, 1000000), 2, "0.00"),
        (F(-4999, 1000000), 2, "0.00"),
        (F(125, 100), 1, "1.3"),
        (F(-125, 100), 1, "-1.3"),
        (F(5, 2), 0, "3"),
        (F(-5, 2), 0, "-3"),
        (F(3, 2), 0, "2"),
        (F(-3, 2), 0, "-2"),
        (F(1, 2), 2, "0.50"),
        (F(4), 2, "4"),
        (F(0), 2, "0"),
        (F(500, 6), 7, "83.3333333"),
        (F(100, 6), 7, "16.6666667"),
        (F(100, 1024), 7, "0.0976563"),
        (F(-100, 1024), 7, "-0.0976563"),
    ],
)
def test_round_half_away_from_zero(value: Fraction, places: int, expected: str) -> None:
    assert round_half_away(value, places) == D(expected)


def test_round_half_away_keeps_every_digit_of_a_large_total() -> None:
    # docs/marking.md: totals are rounded half away from zero to 2 places, from exact values;
    # the rounding must not lose digits to the default 28-digit Decimal context.
    assert round_half_away(F(10**27) + F(1, 4), 2) == D("1000000000000000000000000000.25")
    assert round_half_away(F(10**30) + F(1, 3), 2) == D("1000000000000000000000000000000.33")


def _half_away_oracle(value: Fraction, places: int) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 200
        exact = D(value.numerator) / D(value.denominator)
        return exact.quantize(D(1).scaleb(-places), rounding=ROUND_HALF_UP)


fractions = st.fractions(min_value=-(10**9), max_value=10**9, max_denominator=10**6)


@given(fractions, st.integers(min_value=0, max_value=8))
@settings(max_examples=200, deadline=None, derandomize=True)
def test_round_half_away_agrees_with_decimal_round_half_up(value: Fraction, places: int) -> None:
    # Decimal's ROUND_HALF_UP rounds halves away from zero, for both signs.
    assert round_half_away(value, places) == _half_away_oracle(value, places)


@given(fractions, st.integers(min_value=0, max_value=8))
@settings(max_examples=100, deadline=None, derandomize=True)
def test_round_half_away_is_symmetric_and_within_half_a_unit(value: Fraction, places: int) -> None:
    rounded = round_half_away(value, places)
    assert round_half_away(-value, places) == -rounded
    assert abs(F(rounded) - value) <= F(1, 2 * 10**places)


# --- score, as a property -----------------------------------------------------------------


OPTION_IDS = "ABCDE"
marks = st.fractions(min_value=-5, max_value=5, max_denominator=6)
positive_marks = st.fractions(min_value=F(1, 6), max_value=10, max_denominator=6)
option_sets = st.frozensets(st.sampled_from(OPTION_IDS), min_size=1)


@st.composite
def markings(draw: st.DrawFn) -> Marking:
    return Marking(
        correct=draw(positive_marks),
        wrong=draw(marks),
        unanswered=draw(marks),
        partial=draw(st.sampled_from(["none", "jee_advanced", "proportional"])),
        partial_per_option=draw(positive_marks),
    )


@st.composite
def rules_and_responses(draw: st.DrawFn) -> tuple[Rule, Response]:
    kind = draw(st.sampled_from(["single", "multiple", "numeric"]))
    mk = draw(markings())
    if kind == "numeric":
        low = draw(st.decimals(min_value=-100, max_value=100, places=3))
        high = low + draw(st.decimals(min_value=0, max_value=10, places=3))
        response: Response = draw(st.none() | st.decimals(min_value=-200, max_value=200, places=4))
        return Rule("numeric", NumericKey(low, high), mk), response
    key = draw(option_sets)
    if kind == "single":
        return Rule("single", key, mk), draw(st.none() | st.sampled_from(OPTION_IDS))
    return Rule("multiple", key, mk), draw(st.none() | st.frozensets(st.sampled_from(OPTION_IDS)))


@given(rules_and_responses())
@settings(max_examples=300, deadline=None, derandomize=True)
def test_a_score_is_always_the_mark_of_its_outcome(case: tuple[Rule, Response]) -> None:
    rule, response = case
    outcome, value = score(rule, response)
    mk = rule.marking
    assert outcome in OUTCOMES
    if outcome == "correct":
        assert value == mk.correct
    elif outcome == "wrong":
        assert value == mk.wrong
    elif outcome == "unanswered":
        assert is_unanswered(response)
        assert value == mk.unanswered
    else:
        assert rule.type == "multiple"
        assert mk.partial != "none"
        assert isinstance(response, frozenset) and isinstance(rule.key, frozenset)
        assert response and response < rule.key
        if mk.partial == "jee_advanced":
            assert value == len(response) * mk.partial_per_option
        else:
            assert value == mk.correct * len(response) / len(rule.key)
            assert 0 < value < mk.correct


@given(
    st.frozensets(st.sampled_from(OPTION_IDS), min_size=2),
    st.data(),
    positive_marks,
)
@settings(max_examples=150, deadline=None, derandomize=True)
def test_a_proportional_partial_lies_strictly_between_zero_and_correct(
    key: frozenset[str], data: st.DataObject, correct: Fraction
) -> None:
    subset = data.draw(
        st.frozensets(st.sampled_from(sorted(key)), min_size=1, max_size=len(key) - 1)
    )
    outcome, value = score(Rule("multiple", key, proportional(correct)), subset)
    assert outcome == "partial"
    assert 0 < value < correct
    assert value == correct * F(len(subset), len(key))


@given(
    st.frozensets(st.sampled_from(OPTION_IDS), min_size=1),
    st.frozensets(st.sampled_from(OPTION_IDS), min_size=1),
)
@settings(max_examples=150, deadline=None, derandomize=True)
def test_jee_advanced_outcome_follows_the_set_relation(
    key: frozenset[str], picked: frozenset[str]
) -> None:
    outcome, value = score(Rule("multiple", key, JEE), picked)
    if picked == key:
        assert (outcome, value) == ("correct", F(4))
    elif picked < key:
        assert (outcome, value) == ("partial", F(len(picked)))
    else:
        assert (outcome, value) == ("wrong", F(-2))


def test_a_matched_text_ignores_case_spacing_and_composition() -> None:
    from examvault.domain.marking import fold

    assert fold("  Pa\u0301ris\u00a0\t CITY ") == fold("pÁris city") == "páris city"
    assert fold("STRASSE") == fold("straße")
    assert fold("a b") != fold("ab")


def test_a_manual_question_is_pending_until_marked() -> None:
    from examvault.domain.marking import Marking, Rule, check_mark, score

    rule = Rule("text", frozenset(), Marking(Fraction(10), unanswered=Fraction(1, 2)), manual=True)
    assert score(rule, None) == ("unanswered", Fraction(1, 2))
    assert score(rule, "words") == ("pending", Fraction(0))
    assert score(rule, "words", Fraction(10)) == ("correct", Fraction(10))
    assert score(rule, "words", Fraction(0)) == ("wrong", Fraction(0))
    assert score(rule, "words", Fraction(13, 2)) == ("partial", Fraction(13, 2))
    assert score(rule.evolve(dropped="all"), "words") == ("correct", Fraction(10))
    assert check_mark(rule, Fraction(13, 2)) is None
    assert check_mark(rule, Fraction(1, 4)) is not None
    assert check_mark(rule, Fraction(21, 2)) is not None
    assert check_mark(rule, Fraction(-1, 2)) is not None
    assert check_mark(rule.evolve(manual=False), Fraction(1)) is not None
