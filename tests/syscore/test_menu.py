"""syscore.menu: every prompt type with good, bad and default answers, nested menus (back, exit,
unknown choice), errors shown and survived, and end of input ending quietly."""
from __future__ import annotations

import pandas as pd
import pytest

from syscore.exceptions import InvalidData
from syscore.menu import Console, ConsoleExit, Menu, Option, bound_to, run_menu


class Script:
    """Replays answers, records prompts; EOF when they run out (as ``input`` without stdin)."""

    def __init__(self, *answers: str):
        self.answers = list(answers)
        self.prompts: list[str] = []

    def __call__(self, prompt: str) -> str:
        self.prompts.append(prompt)
        if not self.answers:
            raise EOFError
        return self.answers.pop(0)


def console(*answers: str, now=None) -> tuple[Console, Script, list[str]]:
    said: list[str] = []
    ask = Script(*answers)
    return Console(ask, said.append, now=now), ask, said


def test_integer_reasks_on_bad_input_and_range():
    c, ask, said = console("x", "12", "3")
    assert c.integer("lots", minimum=1, maximum=5) == 3
    assert said == ["not a whole number: 'x'", "out of range: 12 (allowed 1 to 5)"]
    assert ask.prompts == ["lots: "] * 3
    c, _, _ = console("")
    assert c.integer("lots", default=7) == 7


def test_number_default_commas_and_non_finite():
    c, ask, said = console("abc", "inf", "1,250.5")
    assert c.number("amount") == 1250.5
    assert said == ["not a number: 'abc'", "not a finite number: 'inf'"]
    c, ask, _ = console("")
    assert c.number("amount", default=100_000.0) == 100_000.0
    assert ask.prompts == ["amount [100,000.00]: "]
    c, _, said = console("-1", "2")
    assert c.number("size", minimum=0) == 2.0 and said == ["out of range: -1 (allowed >= 0)"]


@pytest.mark.parametrize("default, shown", [(0.0125, "0.0125"), (0.005, "0.005"),
                                             (1_003_987.2213, "1,003,987.221"),
                                             (0.25, "0.25"), (2.5, "2.50")])
def test_number_default_is_shown_as_it_is_taken(default, shown):
    # a default of 0.0125 was shown as [0.01] and Enter took 0.0125
    c, ask, _ = console("")
    assert c.number("weight", default=default) == default
    assert ask.prompts == [f"weight [{shown}]: "]


def test_date_iso_days_back_and_bad():
    now = pd.Timestamp("2024-03-10 12:00", tz="UTC")
    c, _, said = console("yesterday", "2024-13-01", "2024-03-01 09:30", now=lambda: now)
    assert c.date("from") == pd.Timestamp("2024-03-01 09:30", tz="UTC")
    assert len(said) == 2 and said[0].startswith("not a date: 'yesterday'")
    c, _, _ = console("5d", now=lambda: now)
    assert c.date("from") == now - pd.Timedelta(days=5)
    c, _, said = console("5d", "2024-01-02")  # no clock: Nd is not understood
    assert c.date("from") == pd.Timestamp("2024-01-02", tz="UTC") and len(said) == 1
    c, _, _ = console("")
    assert c.date("from", default=pd.Timestamp("2024-02-02")) == \
        pd.Timestamp("2024-02-02", tz="UTC")


def test_choice_by_number_or_text():
    c, ask, said = console("4", "zzz", "2")
    assert c.choice("strategy", ["alpha", "beta", "gamma"]) == "beta"
    assert said[:4] == ["  1 alpha", "  2 beta", "  3 gamma", "  0 cancel"]
    assert said[4].startswith("not one of the 3 choices: '4'")
    c, _, _ = console("gamma")
    assert c.choice("strategy", ["alpha", "gamma"]) == "gamma"
    c, _, _ = console("")
    assert c.choice("strategy", ["alpha", "gamma"], default="alpha") == "alpha"
    with pytest.raises(InvalidData.__mro__[1]):  # SystradeError: nothing to choose
        console()[0].choice("strategy", [])


def test_yes_no_reasks_and_defaults():
    c, ask, said = console("maybe", "YES")
    assert c.yes_no("go?") is True
    assert said == ["please answer y or n, not 'maybe'"] and ask.prompts[0] == "go? (y/n): "
    c, ask, _ = console("", "n")
    assert c.confirm("delete?") is False  # a confirmation has no default: Enter asks again
    assert len(ask.prompts) == 2
    c, ask, _ = console("")
    assert c.yes_no("go?", default=True) is True and ask.prompts == ["go? (Y/n): "]


def test_confirm_phrase_needs_the_exact_phrase():
    c, _, said = console("delete all", "DELETE ALL")
    assert c.confirm_phrase("This deletes everything.", "DELETE ALL") is False
    assert said == ["This deletes everything. Type DELETE ALL to go on."]
    assert c.confirm_phrase("Again.", "DELETE ALL") is True


def test_every_prompt_raises_console_exit_at_end_of_input():
    c, _, _ = console()
    for prompt in (lambda: c.integer("n"), lambda: c.number("x"), lambda: c.date("d"),
                   lambda: c.choice("c", ["a"]), lambda: c.yes_no("y"), lambda: c.text("t")):
        with pytest.raises(ConsoleExit):
            prompt()


def nested_menu(log: list[str]) -> Menu:
    def fail(_console):
        raise InvalidData("no such instrument 'XYZ'")

    def ask_and_log(c: Console):
        log.append(f"size {c.integer('size')}")

    inner = Menu("Inner", (Option("log a size", ask_and_log), Option("fail", fail)))
    return Menu("Top", (Option("hello", lambda c: log.append("hello")),
                        Option("inner menu", inner)))


def test_nested_menu_back_exit_unknown_and_errors():
    log: list[str] = []
    c, ask, said = console("9", "1", "2", "1", "4", "2", "", "2", "0", "0")
    assert run_menu(nested_menu(log), c) is True  # 0 at the top: exit
    assert log == ["hello", "size 4"]
    text = "\n".join(said)
    assert "unknown choice '9'" in text
    assert "error: no such instrument 'XYZ'" in text
    assert "\nTop\n  1 hello\n  2 inner menu\n  0 exit" in text
    assert "\nInner\n  1 log a size\n  2 fail\n  0 back" in text
    assert not ask.answers
    assert said.count(nested_menu([]).render(top=True)) == 5  # shown again after each action


def test_enter_at_the_top_does_not_exit():
    log: list[str] = []
    c, _, said = console("", "1", "0")
    run_menu(nested_menu(log), c)
    assert log == ["hello"] and not any(line.startswith("unknown choice") for line in said)


def test_end_of_input_ends_quietly_anywhere():
    for answers in ((), ("2",), ("2", "1")):  # at the top, in a sub-menu, inside an action
        log: list[str] = []
        c, _, said = console(*answers)
        assert run_menu(nested_menu(log), c) is False
        assert not any(line.startswith("error") for line in said)


def test_other_exceptions_are_not_swallowed():
    def broken(_console):
        raise RuntimeError("a bug")

    c, _, _ = console("1")
    with pytest.raises(RuntimeError):
        run_menu(Menu("M", (Option("broken", broken),)), c)


def test_walk_lists_every_option_with_its_path():
    keys = [key for key, _ in nested_menu([]).walk()]
    assert keys == ["1", "2", "2.1", "2.2"]


def test_a_choice_is_cancelled_by_0_or_enter_and_the_menu_shows_again():
    from syscore.menu import Console, Menu, Option, run_menu

    picked = []

    def pick(console):
        picked.append(console.choice("strategy", ["trend", "carry"]))

    menu = Menu("top", (Option("pick", pick),))
    said = []
    answers = iter(["1", "0", "1", "", "1", "2", "", "0"])
    assert run_menu(menu, Console(ask=lambda _: next(answers), say=said.append)) is True
    assert picked == ["carry"]
    assert said.count("cancelled: nothing done") == 2
    assert not any(line.startswith("unknown choice") for line in said)  # Enter at the top


def test_bound_to_passes_the_data_the_console_and_the_extra_arguments():
    calls = []
    on = bound_to("blob")
    menu = Menu("Top", (Option("plain", on(lambda d, c: calls.append((d, c)))),
                        Option("with args", on(lambda d, c, x, y: calls.append((d, x, y)),
                                               1, "two"))))
    c, _, _ = console("1", "2", "0")
    assert run_menu(menu, c) is True
    assert calls == [("blob", c), ("blob", 1, "two")]


def keyed_menu(log: list[str]) -> Menu:
    return Menu("Stacks", (
        Option("view one", lambda c: log.append("10"), key="10", group="view"),
        Option("view two", lambda c: log.append("11"), key="11", group="view"),
        Option("act", lambda c: log.append("20"), key="20", group="act"),
    ))


def test_a_keyed_menu_is_chosen_by_its_codes_under_its_group_headings():
    log: list[str] = []
    c, ask, said = console("1", "20", "10", "0")
    assert run_menu(keyed_menu(log), c) is True
    assert log == ["20", "10"]  # "1" is not a code of a keyed menu
    text = "\n".join(said)
    assert "unknown choice '1'" in text
    assert "\nStacks\n view\n  10 view one\n  11 view two\n act\n  20 act\n  0 exit" in text
    assert [key for key, _ in keyed_menu([]).walk()] == ["10", "11", "20"]


def test_keys_are_all_or_none_unique_and_not_0():
    with pytest.raises(ValueError, match="every option has a key or none"):
        Menu("M", (Option("a", print, key="10"), Option("b", print)))
    with pytest.raises(ValueError, match="unique and not 0"):
        Menu("M", (Option("a", print, key="10"), Option("b", print, key="10")))
    with pytest.raises(ValueError, match="unique and not 0"):
        Menu("M", (Option("a", print, key="0"),))


def test_optional_number_is_none_on_enter_and_reasks_on_bad_input():
    c, ask, said = console("")
    assert c.optional_number("limit price") is None
    assert ask.prompts == ["limit price (Enter: none): "]
    c, ask, said = console("x", "1,234.5")
    assert c.optional_number("limit price") == 1234.5
    assert said == ["not a number: 'x'"]
    assert ask.prompts == ["limit price (Enter: none): "] * 2
    c, _, said = console("-1", "2")
    assert c.optional_number("price", minimum=0) == 2.0
    assert said == ["out of range: -1 (allowed >= 0)"]
