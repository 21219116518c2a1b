"""A tactic: how the assistant answers one question."""

from lllm import Tactic


class AnswerTactic(Tactic):
    name = "answer"

    def call(self, question: str) -> str:
        return f"answering: {question}"
