"""STS 2015-04-01: ``GetCallerIdentity`` (who signed this call). No state of its own."""

from __future__ import annotations

from provision.emulator.alibaba.ram import user_id
from provision.emulator.wire import Body, Ctx, Request, Route, Service

VERSION = "2015-04-01"


def get_caller_identity(ctx: Ctx, req: Request) -> Body:
    """GetCallerIdentity: the account, user id and ARN of the signing key; read-only."""
    caller = req.caller
    assert caller is not None, "signed routes always carry a caller"
    if caller.user_name is None:
        return {"AccountId": ctx.account_id, "UserId": ctx.account_id, "PrincipalId": ctx.account_id,
                "Arn": f"acs:ram::{ctx.account_id}:root", "IdentityType": "Account"}
    uid = user_id(ctx.world, ctx.account_id, caller.user_name) or ""
    return {"AccountId": ctx.account_id, "UserId": uid, "PrincipalId": uid,
            "Arn": f"acs:ram::{ctx.account_id}:user/{caller.user_name}", "IdentityType": "RAMUser"}


SERVICE = Service(
    name="sts",
    routes=(Route(VERSION, "GetCallerIdentity", get_caller_identity, ram_action=None),),
)
