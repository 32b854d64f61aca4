"""The Model Studio model catalog as data: what ``ListModels`` returns and which model ids exist.

Values are realistic (names, providers, context windows, CNY list prices per 1K tokens) but not
authoritative; a seed's ``modelstudio.models`` section replaces the whole list.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from provision.emulator.wire import Body

_PRICE_UNIT = "CNY/1K tokens"
_TEXT = ("Text",)


class CatalogModel(BaseModel):
    """One model of the catalog, as a seed may declare it (everything but ``model`` is optional)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str = Field(min_length=1)
    name: str = ""
    provider: str = "qwen"
    description: str = ""
    capabilities: tuple[str, ...] = ("TG",)
    features: tuple[str, ...] = ()
    context_window: int = 131072
    max_input_tokens: int = 129024
    max_output_tokens: int = 8192
    request_modality: tuple[str, ...] = _TEXT
    response_modality: tuple[str, ...] = _TEXT
    input_price: str = "0.0008"
    output_price: str = "0.002"
    published_time: int = 1735689600000  # 2025-01-01, ms

    def display_name(self) -> str:
        return self.name or self.model

    def to_wire(self) -> Body:
        """The camelCase ``ListModels`` item."""
        prices = [{"priceName": "input_token", "price": self.input_price, "priceUnit": _PRICE_UNIT,
                   "timeBand": "all"}]
        if "TE" not in self.capabilities:
            prices.append({"priceName": "output_token", "price": self.output_price,
                           "priceUnit": _PRICE_UNIT, "timeBand": "all"})
        return {
            "model": self.model,
            "name": self.display_name(),
            "provider": self.provider,
            "description": self.description,
            "capabilities": list(self.capabilities),
            "features": list(self.features),
            "modelInfo": {"contextWindow": self.context_window, "maxInputTokens": self.max_input_tokens,
                          "maxOutputTokens": self.max_output_tokens},
            "inferenceMetadata": {"requestModality": list(self.request_modality),
                                  "responseModality": list(self.response_modality)},
            "prices": [{"rangeName": "default", "prices": prices}],
            "publishedTime": self.published_time,
        }


def _m(model: str, name: str, provider: str, description: str, window: int, out: int,
       price: tuple[str, str], capabilities: tuple[str, ...] = ("TG",), features: tuple[str, ...] = (),
       vision: bool = False, published: int = 1735689600000) -> CatalogModel:
    return CatalogModel(
        model=model, name=name, provider=provider, description=description, capabilities=capabilities,
        features=features, context_window=window, max_input_tokens=max(window - out, 1),
        max_output_tokens=out, request_modality=("Text", "Image") if vision else _TEXT,
        response_modality=_TEXT, input_price=price[0], output_price=price[1], published_time=published)


_CHAT = ("function-calling", "structured-outputs", "cache")
_THINK = ("deep-thinking", "function-calling")

DEFAULT_CATALOG: tuple[CatalogModel, ...] = (
    _m("qwen-max", "Qwen-Max", "qwen", "The most capable Qwen 2.5 model for complex tasks.", 32768, 8192,
       ("0.0024", "0.0096"), features=_CHAT),
    _m("qwen-plus", "Qwen-Plus", "qwen", "Balanced quality, speed and cost.", 131072, 16384,
       ("0.0008", "0.002"), features=(*_CHAT, "web-search")),
    _m("qwen-turbo", "Qwen-Turbo", "qwen", "Fast and low cost, for simple tasks.", 1000000, 16384,
       ("0.0003", "0.0006"), features=_CHAT),
    _m("qwen-long", "Qwen-Long", "qwen", "Long-context model for document understanding.", 10000000, 8192,
       ("0.0005", "0.002")),
    _m("qwen3-max", "Qwen3-Max", "qwen", "Flagship Qwen3 model.", 262144, 65536, ("0.006", "0.024"),
       features=(*_CHAT, "web-search"), published=1758153600000),
    _m("qwen3-235b-a22b", "Qwen3-235B-A22B", "qwen", "Open-weight Qwen3 MoE model.", 131072, 16384,
       ("0.002", "0.008"), capabilities=("TG", "Reasoning"), features=_THINK, published=1745884800000),
    _m("qwen3-32b", "Qwen3-32B", "qwen", "Open-weight dense Qwen3 model.", 131072, 16384,
       ("0.002", "0.008"), capabilities=("TG", "Reasoning"), features=_THINK, published=1745884800000),
    _m("qwen3-coder-plus", "Qwen3-Coder-Plus", "qwen", "Code generation and agentic coding.", 1048576, 65536,
       ("0.004", "0.016"), features=_CHAT, published=1753142400000),
    _m("qwen-vl-max", "Qwen-VL-Max", "qwen", "Vision-language model, highest quality.", 131072, 8192,
       ("0.0016", "0.004"), capabilities=("TG", "VU"), vision=True),
    _m("qwen-vl-plus", "Qwen-VL-Plus", "qwen", "Vision-language model, balanced.", 131072, 8192,
       ("0.0008", "0.002"), capabilities=("TG", "VU"), vision=True),
    _m("qwq-plus", "QwQ-Plus", "qwen", "Reasoning model trained with reinforcement learning.", 131072, 8192,
       ("0.0016", "0.004"), capabilities=("TG", "Reasoning"), features=("deep-thinking",)),
    _m("deepseek-v3", "DeepSeek-V3", "deepseek", "DeepSeek MoE chat model.", 65536, 8192,
       ("0.002", "0.008"), features=("function-calling",)),
    _m("deepseek-r1", "DeepSeek-R1", "deepseek", "DeepSeek reasoning model.", 65536, 8192,
       ("0.004", "0.016"), capabilities=("TG", "Reasoning"), features=("deep-thinking",)),
    _m("deepseek-v3.1", "DeepSeek-V3.1", "deepseek", "DeepSeek hybrid thinking model.", 131072, 65536,
       ("0.004", "0.012"), capabilities=("TG", "Reasoning"), features=_THINK, published=1755734400000),
    _m("text-embedding-v3", "Text-Embedding-V3", "qwen", "Multilingual text embedding.", 8192, 0,
       ("0.0005", "0"), capabilities=("TE",)),
    _m("text-embedding-v4", "Text-Embedding-V4", "qwen", "Qwen3-based multilingual text embedding.", 8192, 0,
       ("0.0005", "0"), capabilities=("TE",), published=1750291200000),
)
