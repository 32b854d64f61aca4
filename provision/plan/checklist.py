"""The console checklist: the one wording of a manual workspace-membership step, for every output.

Membership (Alibaba Cloud) and a ModelArts Studio role (Huawei Cloud) have no public API, so a manual change
becomes a console step: what to do, where to click, and
the ``provision membership confirm`` command that records it done (plans then stop listing it). Plan text
and markdown, the apply summary, ``membership checklist``, the membership provider and revoke all render
steps made here. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from provision.desired.kinds import Kind
from provision.desired.resources import MemberSpec, WorkspaceSpec
from provision.plan.diff import Change, Plan

CONSOLE_PATH = "Model Studio console → 权限管理/Permission management → Accounts"
STUDIO_PATH = "ModelArts Studio console → 空间管理/Workspaces → {workspace} → 成员管理/Members"
MANIFEST_PLACEHOLDER = "MANIFEST"


@dataclass(frozen=True)
class Console:
    """Where a cloud's console-only membership is set: who the member is, and the clicks of an add, a role
    change and a removal (``{user}``, ``{workspace}``, ``{role}`` filled in)."""

    principal: str  # "RAM user", "IAM user"
    add: str
    change: str
    remove: str


# The console of each membership kind: the only cloud-specific words of a step.
CONSOLES: dict[Kind, Console] = {
    Kind.MEMBER: Console(
        "RAM user",
        f"{CONSOLE_PATH} → Add user → Permissions → {{workspace}} → role {{role}}",
        f"{CONSOLE_PATH} → {{user}} → Permissions → {{workspace}} → role {{role}}",
        f"{CONSOLE_PATH} → {{user}} → Permissions → remove {{workspace}}"),
    Kind.STUDIO_ROLE: Console(
        "IAM user",
        f"{STUDIO_PATH} → Add member → {{user}} → role {{role}}",
        f"{STUDIO_PATH} → {{user}} → role {{role}}",
        f"{STUDIO_PATH} → {{user}} → remove"),
}


@dataclass(frozen=True)
class ManualStep:
    """One console checklist item: what to do, where to click, and the command that records it done."""

    what: str  # "Add RAM user alice to workspace ws-delivery (id ws-123) as guest"
    where: str  # the console path to click through
    confirm: str  # the `provision membership confirm ...` command to run afterwards
    note: str = ""  # why the step is still listed though an operator confirmed it (the probe disagrees)

    def line(self) -> str:
        """The step as one line: ``<where>: <what>; then run: <confirm>``."""
        return f"{self.where}: {self.what[:1].lower()}{self.what[1:]}; then run: {self.confirm}"


def manual_step(change: Change, workspace_id: str | None = None,
                manifest: str = MANIFEST_PLACEHOLDER) -> ManualStep:
    """The console step of a manual membership change (add, role change, removal); the workspace id is
    shown when known, and ``manifest`` is how the confirm command names the manifest (path and
    ``--var`` options, as the command that planned was given them)."""
    member = change.spec_as(MemberSpec)
    workspace = f"workspace {member.workspace}" + (f" (id {workspace_id})" if workspace_id else "")
    console = CONSOLES[member.kind]
    who = f"{console.principal} {member.user}"
    confirm = (f"provision membership confirm -m {manifest or MANIFEST_PLACEHOLDER} "
               f"--workspace {member.workspace} --user {member.user}")
    if change.desired is None:
        return ManualStep(f"Remove {who} from {workspace} [{change.reason}]",
                          console.remove.format(user=member.user, workspace=member.workspace, role=""),
                          f"{confirm} --removed")
    role = member.role or "guest"
    if change.live is None:
        return ManualStep(f"Add {who} to {workspace} as {role}",
                          console.add.format(user=member.user, workspace=member.workspace, role=role),
                          f"{confirm} --role {role}")
    before = change.live.spec.role if isinstance(change.live.spec, MemberSpec) else None
    return ManualStep(f"Change the role of {who} in {workspace} from {before} to {role}",
                      console.change.format(user=member.user, workspace=member.workspace, role=role),
                      f"{confirm} --role {role}")


def manual_steps(plan: Plan, manifest_args: str | None = None,
                 notes: Mapping[str, str] | None = None) -> list[ManualStep]:
    """The console checklist: one step per manual change, with the workspace id when the plan knows it;
    the confirm commands name the manifest as ``manifest_args`` (default: the plan's manifest path);
    ``notes`` (change key → note) says why a step stays listed though it was confirmed."""
    steps = []
    for change in plan.manual:
        member = change.spec_as(MemberSpec)
        workspace_id = _workspace_id(plan, member.workspace)
        step = manual_step(change, workspace_id, manifest_args or plan.manifest)
        steps.append(replace(step, note=(notes or {}).get(change.key, "")))
    return steps


def _workspace_id(plan: Plan, workspace: str) -> str | None:
    """The live workspace's id when the plan knows it."""
    keys = {f"{Kind.WORKSPACE}/{workspace}", f"{Kind.MA_WORKSPACE}/{workspace}"}
    for change in plan.changes:
        if change.key in keys and change.live is not None and isinstance(change.live.spec, WorkspaceSpec):
            return change.live.spec.workspace_id or change.live.cloud_id or None
    return None
