"""A proxy wrapping a weather API (no network is used by the example)."""

from lllm.proxies.base import BaseProxy


class WeatherProxy(BaseProxy):
    _proxy_path = "weather"
    _proxy_name = "Weather"
    _proxy_description = "Current weather by city."

    @BaseProxy.endpoint(
        category="weather",
        endpoint="current",
        description="Current conditions for a city.",
        params={"city": "City name"},
        response={"temp_c": 21.5},
    )
    def current(self, city: str) -> dict:
        return {"city": city, "temp_c": 21.5}
