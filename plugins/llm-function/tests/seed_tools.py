"""The models and the two tools of the seed's example (``get_weather``, ``send_report_email``).

Shared by ``test_seed_example.py`` and the second-process script it writes, so that both
processes see byte-identical tools (the cache fingerprints a tool's code). The tools use
local data only: no network.
"""

from __future__ import annotations

import hashlib
import threading

from pydantic import BaseModel


class WfInputs(BaseModel):
    """The input of ``get_city_weather``."""

    city: str
    recipient: str = "ops@example.com"


class WfOutputs(BaseModel):
    """The output of ``get_city_weather``."""

    city: str
    temperature_c: float
    condition: str
    summary: str
    message_id: str


class WeatherQuery(BaseModel):
    city: str


class WeatherReport(BaseModel):
    city: str
    temperature_c: float
    condition: str


class ReportEmail(BaseModel):
    recipient: str
    city: str
    temperature_c: float
    condition: str


class EmailReceipt(BaseModel):
    message_id: str
    summary: str


#: Local "weather service" data: city -> (temperature in °C, condition).
WEATHER = {
    "Paris": (18.5, "cloudy"),
    "Oslo": (-3.0, "snow"),
    "Cairo": (31.0, "sunny"),
}

#: Every email "sent" in this process (the local stand-in for a mail server).
OUTBOX: list[dict[str, str]] = []
_OUTBOX_LOCK = threading.Lock()


def get_weather(query: WeatherQuery) -> WeatherReport:
    """Current temperature (°C) and sky condition for a city."""
    if query.city not in WEATHER:
        raise LookupError(f"no weather data for {query.city!r}")
    temperature, condition = WEATHER[query.city]
    return WeatherReport(city=query.city, temperature_c=temperature, condition=condition)


def send_report_email(email: ReportEmail) -> EmailReceipt:
    """Write a one-line weather summary and email it to the recipient; returns the message id and the summary."""
    summary = f"{email.city}: {email.condition}, {email.temperature_c:g} °C"
    digest = hashlib.sha256(f"{email.recipient}|{summary}".encode()).hexdigest()[:12]
    with _OUTBOX_LOCK:
        OUTBOX.append({"to": email.recipient, "body": summary, "id": digest})
    return EmailReceipt(message_id=f"msg-{digest}", summary=summary)


def expected_output(city: str, recipient: str = "ops@example.com") -> WfOutputs:
    """What ``get_city_weather`` must return, computed directly (independently of any workflow)."""
    temperature, condition = WEATHER[city]
    summary = f"{city}: {condition}, {temperature:g} °C"
    digest = hashlib.sha256(f"{recipient}|{summary}".encode()).hexdigest()[:12]
    return WfOutputs(
        city=city,
        temperature_c=temperature,
        condition=condition,
        summary=summary,
        message_id=f"msg-{digest}",
    )


#: A correct plan for ``get_city_weather``, in the documented JSON form (``llm_function.workflow``).
CORRECT_PLAN = {
    "steps": [
        {"id": "weather", "tool": "get_weather", "args": {"city": {"ref": "input.city"}}},
        {
            "id": "email",
            "tool": "send_report_email",
            "args": {
                "recipient": {"ref": "input.recipient"},
                "city": {"ref": "weather.city"},
                "temperature_c": {"ref": "weather.temperature_c"},
                "condition": {"ref": "weather.condition"},
            },
        },
    ],
    "output": {
        "city": {"ref": "weather.city"},
        "temperature_c": {"ref": "weather.temperature_c"},
        "condition": {"ref": "weather.condition"},
        "summary": {"ref": "email.summary"},
        "message_id": {"ref": "email.message_id"},
    },
}
