"""The manifest's ``verify`` section: the smoke checks `provision verify` runs, with the agent-app call's
parameters (``biz_params``, ``rag_options``).
"""

from __future__ import annotations

from pydantic import (
    Field,
)

from provision.manifest.schema_base import UUID, ModelId, StrictModel, UserName

# --- verify ------------------------------------------------------------------------------------------


ParamValue = str | int | float | bool


class BizParams(StrictModel):
    """``biz_params`` of an agent-app call (dashscope-application-call): the values of the variables the
    app's prompt references, and business parameters of its plugin tools. The tools' user tokens
    (``user_defined_tokens``) carry secrets and are never written in a manifest."""

    user_prompt_params: dict[str, ParamValue] = Field(
        default_factory=dict, description="prompt variable → value (variables defined in the app's prompt)")
    user_defined_params: dict[str, dict[str, ParamValue]] = Field(
        default_factory=dict, description="plugin tool id → its business parameters")


class RagOptions(StrictModel):
    """``rag_options`` of an agent-app call: which knowledge bases (and documents of them) to search."""

    pipeline_ids: list[str] = Field(default_factory=list, description="knowledge base (index) ids")
    file_ids: list[str] = Field(default_factory=list,
                                description="document ids; their knowledge bases must be in pipeline_ids")
    tags: list[str] = Field(default_factory=list, description="document tags to narrow the search")
    metadata_filter: dict[str, str] = Field(default_factory=dict, description="document metadata to match")


class VerifyCheck(StrictModel):
    """A smoke check run by `provision verify` with a declared workspace API key."""

    workspace: str = Field(description="a workspace declared under workspaces")
    api_key: str = Field(description="the name of an API key of that workspace")
    model: ModelId = Field(description="a granted model the key must be able to call")
    denied_model: ModelId | None = Field(None, description="a model the key must be refused")
    app_id: str | None = Field(None, pattern=r"^[0-9a-f]{32}$",
                               description="an agent app of the workspace: its conversation is verified")
    biz_params: BizParams | None = Field(None, description="custom parameters the app call passes")
    rag_options: RagOptions | None = Field(None, description="knowledge-base retrieval the app call asks for")
    memory_id: str | None = Field(None, min_length=1, description="a long-term memory of the app to use")
    user: UserName | None = Field(None,
                                  description="Huawei: the declared user whose AK/SK signs the Pangu V1 "
                                                    "and agent-run calls")
    deployment_id: str | None = Field(None, pattern=rf"^{UUID}$",
                                      description="Huawei: a Pangu V1 deployment the user must call")
    agent_id: str | None = Field(None, pattern=rf"^{UUID}$",
                                 description="Huawei: an agent whose conversation is verified (agent-run)")
    via_endpoints: list[str] = Field(default_factory=list, description="endpoints to repeat the call through")


class Verify(StrictModel):
    """Checks run after apply."""

    checks: list[VerifyCheck] = Field(default_factory=list, description="smoke checks")
