"""MaaS (ModelArts Studio) API keys: REST only, no SDK method (reference §3.7b).

The plaintext key is in the create response only (stored as its SHA-256 and a masked form); at most
30 keys per account; labels unique per account; a key authenticates Pangu V2 calls
(``Authorization: Bearer``) only once ``async_delay_s`` has passed since its creation (the cloud: "a
few minutes"), and only from an address of its ``ip_whitelist`` unless ``allow_all``.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from typing import Any

from provision.emulator.huawei.routing import HwCaller, HwCtx, HwRoute, Reply
from provision.emulator.huawei.state import MaasKey, hex_id, hw_state
from provision.emulator.wire import Body, CloudError
from provision.emulator.world import World

MAX_KEYS = 30
MAX_WHITELIST = 100
LABEL = re.compile(r"^[A-Za-z0-9_-]{0,100}$")
BASE = "/v2/{project_id}/maas/api-auth/api-keys"


def bad(message: str) -> CloudError:
    return CloudError("MaaS.0002", message, 400)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _check_entry(entry: Any) -> str:
    """An IPv4 address, a range ``a-b`` or a CIDR."""
    text = str(entry).strip()
    try:
        if "-" in text:
            low, high = (ipaddress.IPv4Address(p.strip()) for p in text.split("-", 1))
            if low > high:
                raise ValueError(text)
        elif "/" in text:
            ipaddress.IPv4Network(text, strict=False)
        else:
            ipaddress.IPv4Address(text)
    except ValueError:
        raise bad(f"ip_whitelist entry {text!r} is not an IPv4 address, range or CIDR.") from None
    return text


def ip_allowed(whitelist: list[str], client_ip: str) -> bool:
    try:
        address = ipaddress.IPv4Address(client_ip)
    except ValueError:
        return False  # entries are IPv4 only
    for entry in whitelist:
        if "-" in entry:
            low, high = (ipaddress.IPv4Address(p.strip()) for p in entry.split("-", 1))
            if low <= address <= high:
                return True
        elif address in ipaddress.ip_network(entry, strict=False):
            return True
    return False


def _body(key: MaasKey) -> Body:
    return {
        "id": key.id,
        "api_key": key.masked,
        "label": key.label,
        "description": key.description,
        "allow_all": key.allow_all,
        "ip_whitelist": key.ip_whitelist,
        "create_at": key.created_at,
    }


def create_key(ctx: HwCtx) -> Body:
    body = ctx.body()
    label = body.get("label")
    if label is None or label == "":
        label = f"ak-{int(hex_id(ctx.world, 'hw-maas-label', 8), 16) % 1_000_000:06d}"
    if not isinstance(label, str) or not LABEL.match(label):
        raise bad("label must be at most 100 letters, digits, _ or -.")
    description = str(body.get("description") or "")
    if len(description) > 100:
        raise bad("description must be at most 100 characters.")
    allow_all = body.get("allow_all")
    if not isinstance(allow_all, bool):
        raise bad("allow_all (true or false) is required.")
    whitelist = body.get("ip_whitelist") or []
    if not isinstance(whitelist, list) or len(whitelist) > MAX_WHITELIST:
        raise bad(f"ip_whitelist must be a list of at most {MAX_WHITELIST} entries.")
    if allow_all and whitelist:
        raise bad("ip_whitelist must be empty when allow_all is true.")
    entries = [_check_entry(e) for e in whitelist]
    keys = ctx.state.maas_keys
    if any(k.label == label for k in keys.values()):
        raise CloudError("MaaS.0009", f"An API key labelled {label} already exists.", 409)
    if len(keys) >= MAX_KEYS:
        raise CloudError(
            "MaaS.0012",
            f"The account already has {MAX_KEYS} API keys, the most allowed: delete one first.",
            400,
        )
    secret = "sk-" + hex_id(ctx.world, "hw-maas-key", 48)
    key = MaasKey(
        id=hex_id(ctx.world, "hw-maas"),
        label=label,
        description=description,
        secret_hash=_digest(secret),
        masked=f"{secret[:4]}{'*' * 12}{secret[-4:]}",
        allow_all=allow_all,
        ip_whitelist=entries,
        created_at=ctx.now_iso(),
        created_ts=ctx.now_ts(),
        creator_user_id=ctx.caller.user_id,
    )
    keys[key.id] = key
    return {**_body(key), "api_key": secret}


def list_keys(ctx: HwCtx) -> Body:
    limit = ctx.query_int("limit", 30, 1, 100, "MaaS.0002")
    offset = ctx.query_int("offset", 0, 0, 10**9, "MaaS.0002")
    keys = sorted(
        ctx.state.maas_keys.values(),
        key=lambda k: (k.created_ts, k.id),
        reverse=ctx.request.query.get("order", "desc") != "asc",
    )
    items = [_body(k) for k in keys[offset : offset + limit]]
    return {
        "api_key_list": {
            "items": items,
            "total": len(keys),
            "count": len(items),
            "default_sort_by": "create_at",
            "default_order": "desc",
        },
        "user_api_key_quota": MAX_KEYS,
    }


def delete_key(ctx: HwCtx) -> Reply:
    if ctx.state.maas_keys.pop(ctx.params["key_id"], None) is None:
        raise CloudError("MaaS.0004", f"The API key {ctx.params['key_id']} does not exist.", 404)
    return Reply(200, {})


def auth_failed(detail: str, status: int = 401, code: str = "PANGU.0011") -> CloudError:
    return CloudError(code, f"auth failed: {detail}.", status)


def api_key_caller(world: World, authorization: str, client_ip: str) -> HwCaller:
    """The account an API key belongs to; 401 ``PANGU.0011`` for an unknown, deleted or not yet valid key,
    403 for a client address outside its whitelist."""
    scheme, _, key = authorization.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise auth_failed("no API key (Authorization: Bearer <key>)", 401, "PANGU.0012")
    digest = _digest(key.strip())
    for account_id in world.accounts:
        found = next(
            (k for k in hw_state(world, account_id).maas_keys.values() if k.secret_hash == digest), None
        )
        if found is None:
            continue
        if world.clock.timestamp() - found.created_ts < world.settings["async_delay_s"]:
            raise auth_failed(
                "the API key is not valid yet (a new key takes effect a few minutes after "
                "creation); retry later"
            )
        if not found.allow_all and not ip_allowed(found.ip_whitelist, client_ip):
            raise auth_failed(f"the client address {client_ip} is not in the API key's ip_whitelist", 403)
        return HwCaller(account_id, "apikey", None, "", found.id)
    raise auth_failed("the API key is invalid or deleted")


ROUTES: tuple[HwRoute, ...] = (
    HwRoute("CreateMaasApiKey", "POST", BASE, create_key, "modelarts:apiKey:create"),
    HwRoute("ListMaasApiKeys", "GET", BASE, list_keys, "modelarts:apiKey:list"),
    HwRoute(
        "DeleteMaasApiKey",
        "DELETE",
        "/v1/{project_id}/maas/api-auth/api-keys/{key_id}",
        delete_key,
        "modelarts:apiKey:delete",
    ),
)
