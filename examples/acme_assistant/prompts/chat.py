"""Prompts defined in Python, the way LLLM packages write them."""

from lllm.core.prompt import DefaultTagParser, Prompt

answer = Prompt(
    path="answer",
    prompt="You are {assistant_name}. Answer the customer's question:\n{question}\n"
    "Put the answer in <answer></answer> tags and add <ESCALATE> if a human must follow up.",
    parser=DefaultTagParser(
        xml_tags=["answer"], signal_tags=["ESCALATE"], required_xml_tags=["answer"]
    ),
)

summarize = Prompt(
    path="summarize", prompt="Summarize this conversation in {max_words} words:\n{transcript}"
)
