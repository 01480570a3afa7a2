"""Shared fakes for the interactive console tests."""
from __future__ import annotations


class ScriptedAsk:
    """Answers prompts from a script, records them, and fails on a question it was not given."""

    def __init__(self, *answers: str):
        self.answers = list(answers)
        self.prompts: list[str] = []

    def __call__(self, prompt: str) -> str:
        self.prompts.append(prompt)
        if not self.answers:
            raise AssertionError(f"unexpected question: {prompt}")
        return self.answers.pop(0)
