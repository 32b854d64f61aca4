"""Try a delivered credential straight through the official SDKs, independently of the tool's own output."""

from __future__ import annotations

import openai
from alibabacloud_sts20150401.client import Client as StsClient
from alibabacloud_tea_openapi.exceptions import ClientException

from provision.emulator.testing import EmulatorHandle


def caller_error(cloud: EmulatorHandle, key_id: str, secret: str) -> str:
    """The error code STS answers GetCallerIdentity signed with this AccessKey ("" if it authenticates)."""
    try:
        StsClient(cloud.sdk_config(key_id, secret)).get_caller_identity()
    except ClientException as err:
        return str(err.code)
    return ""


def chat_status(cloud: EmulatorHandle, api_key: str) -> int:
    """The HTTP status of a chat completion with this API key on the public site."""
    client = openai.OpenAI(api_key=api_key, base_url=f"{cloud.url}/compatible-mode/v1", max_retries=0,
                           default_headers={"Host": "dashscope.aliyuncs.com"})
    try:
        client.chat.completions.create(model="qwen-plus", messages=[{"role": "user", "content": "ping"}])
    except openai.APIStatusError as err:
        return err.status_code
    finally:
        client.close()
    return 200
