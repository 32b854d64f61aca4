"""The manifest as typed, validated models (pydantic v2, unknown fields rejected): :class:`Manifest` and its
``cloud`` section; the other sections' models are in ``schema_users.py``, ``schema_services.py`` and
``schema_verify.py``, their field types in ``schema_base.py``.

Field-level rules live in these models; rules that relate one part of the manifest to another (references,
duplicates, site-specific requirements) live in ``refs.py``. Every field carries a description so the
JSON Schema (``provision schema``) is useful in editors.
"""

from __future__ import annotations

from typing import Literal

from pydantic import (
    ConfigDict,
    Field,
    PrivateAttr,
)

from provision.manifest.marks import FieldPath, Origin, SourceMap
from provision.manifest.schema_base import ALIBABA, CloudProvider, StrictModel
from provision.manifest.schema_services import Endpoint, Guardrail, Workspace
from provision.manifest.schema_users import Policy, User
from provision.manifest.schema_verify import Verify

# --- cloud -------------------------------------------------------------------------------------------


class CloudEndpoints(StrictModel):
    """Hosts that replace the default endpoint of one product (e.g. a VPC or proxy endpoint)."""

    ram: str | None = Field(None, description="RAM API host (default ram.aliyuncs.com)")
    sts: str | None = Field(None, description="STS API host (default sts.<region>.aliyuncs.com)")
    modelstudio: str | None = Field(None, description="Model Studio API host (default per region)")
    bailian: str | None = Field(None, description="Bailian data API host (default per region)")
    privatelink: str | None = Field(None, description="PrivateLink API host (default per region)")
    vpc: str | None = Field(None, description="VPC API host (default per region)")
    dashscope: str | None = Field(None, description="DashScope base URL used by verify (default per site)")


class Cloud(StrictModel):
    """Where the account lives. Credentials never go here: they come from the credential chain."""

    provider: CloudProvider = Field(
        ALIBABA, description="the cloud: alibabacloud (Model Studio, default) or huaweicloud (ModelArts "
                             "Studio / Pangu)")
    site: Literal["public", "finance"] = Field("public", description="public or finance cloud")
    region: str = Field(pattern=r"^[a-z]{2}-[a-z0-9-]+$",
                        description="region of the AI platform and endpoints: cn-beijing, "
                                    "cn-shanghai-finance-1 (Alibaba), cn-southwest-2 (Huawei)")
    endpoints: CloudEndpoints = Field(default_factory=lambda: CloudEndpoints.model_validate({}),
                                      description="optional endpoint overrides")


# --- the manifest ------------------------------------------------------------------------------------


class Manifest(StrictModel):
    """Access-as-code for AI model platforms (Alibaba Cloud Model Studio, Huawei Cloud ModelArts Studio):
    users, policies, workspaces, endpoints, guardrails, checks."""

    model_config = ConfigDict(title="provision manifest")
    version: Literal[1] = Field(description="manifest format version: 1")
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
                      description="manifest id, used in ownership markers and records")
    cloud: Cloud = Field(description="site and region")
    policies: list[Policy] = Field(default_factory=list, description="custom RAM policies")
    users: list[User] = Field(default_factory=list, description="RAM users")
    workspaces: list[Workspace] = Field(default_factory=list, description="Model Studio workspaces")
    endpoints: list[Endpoint] = Field(default_factory=list,
                                      description="private endpoints (PrivateLink, VPCEP)")
    guardrails: list[Guardrail] = Field(default_factory=list,
                                        description="Huawei: SCPs attached to the account")
    verify: Verify = Field(default_factory=Verify, description="smoke checks for provision verify")

    _source: SourceMap | None = PrivateAttr(default=None)

    def with_source(self, source: SourceMap) -> Manifest:
        """Attach where each field was written (set by the loader)."""
        self._source = source
        return self

    @property
    def source_file(self) -> str | None:
        """The manifest file it was loaded from (None when built in code)."""
        return self._source.file if self._source else None

    def locate(self, path: FieldPath) -> Origin | None:
        """File and line where ``path`` (or its nearest ancestor) was written, if loaded from a file."""
        return self._source.locate(path) if self._source else None
