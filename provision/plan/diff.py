"""Diff desired specs against live resources into a Plan. Pure: no I/O, no SDK, no output library.

Every change, no-op included, carries a reason ("in sync", "drift: display_name", "manual:
membership"). The JSON form of a Plan is the source the text and markdown views are rendered from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from provision.desired.kinds import KIND_ORDER, Kind, Protectable, Spec
from provision.desired.live import Live, Proof
from provision.desired.model import Desired
from provision.desired.resources import AccessKeysSpec, MemberSpec, UserSpec
from provision.plan.changes import (
    ADOPT,
    BLOCKED,
    DRIFT_ADDED,
    DRIFT_DELETED,
    LOOK_ALIKE,
    WITHHELD,
    Action,
    Change,
    FieldChange,
    InSync,
    Plan,
    Refusal,
    SecretFacts,
    Summary,
    member_proof,
)
from provision.plan.compare import dead_in_sink, field_reason, lost_secret, missing_secrets, norm
from provision.plan.flags import ROTATE_FLAG as ROTATE_FLAG  # re-exported: its old home
from provision.plan.io import live_fingerprint

TOP_LEVEL: frozenset[Kind] = frozenset({Kind.USER, Kind.POLICY, Kind.WORKSPACE, Kind.ENDPOINT, Kind.IAM_USER,
                                        Kind.IAM_POLICY, Kind.MA_WORKSPACE, Kind.VPCEP_ENDPOINT, Kind.SCP})
# Kinds that carry the tool's marker themselves; the others are managed when their parent is.
OWN_MARKER: frozenset[Kind] = TOP_LEVEL | {Kind.API_KEY, Kind.MAAS_API_KEY}

# the plan's vocabulary lives in plan/changes.py; importing it from here keeps working
__all__ = ["ADOPT", "Action", "BLOCKED", "Change", "DRIFT_ADDED", "DRIFT_DELETED", "FieldChange",
           "InSync", "LOOK_ALIKE", "OWN_MARKER", "Plan", "ROTATE_FLAG", "Refusal", "SecretFacts", "Summary",
           "TOP_LEVEL", "WITHHELD", "diff", "member_proof"]

# --- diff ---------------------------------------------------------------------------------------------


@dataclass
class _Ctx:
    """What one diff run knows: the desired sets, the live resources by key, and what it decided."""

    desired: Desired
    present: dict[str, Spec]  # expired users' access stripped
    absent: dict[str, Spec]
    live: dict[str, Live]
    revoked: dict[str, str]  # key of a resource revoked by expiry -> the expired user
    stripped: list[Spec]  # present specs of expired users (zero access keys): shown when not live
    applied: Mapping[str, Spec] | None
    allow_destroy: bool
    rotate_missing: bool
    secrets: SecretFacts = field(default_factory=SecretFacts)
    top: dict[str, Change] = field(default_factory=dict)
    unrotated: dict[str, str] = field(default_factory=dict)  # key -> why its lost secret is not rotated
    lost: dict[str, str] = field(default_factory=dict)  # key -> its secrets lost (reported as undelivered)
    unmanaged: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    undelivered: list[str] = field(default_factory=list)

    def managed(self, live: Live) -> bool:
        return live.managed or live.key in self.desired.adopt

    def expired(self, user: str) -> str:
        return f"expired: {self.desired.expiry(user)}"


def diff(desired: Desired, live: Sequence[Live], *, allow_destroy: bool = False, only_expired: bool = False,
         applied: Mapping[str, Spec] | None = None, manifest: str = "", rotate_missing: bool = False,
         secrets: SecretFacts | None = None) -> Plan:
    """The Plan that takes the live resources to the desired ones, each change with its reason; managed
    keys whose secret the sink lacks are rotated only with ``rotate_missing``, else reported (as not
    delivered when ``secrets`` says the secret was lost or never stored)."""
    ctx = _context(desired, live, applied, allow_destroy, rotate_missing)
    ctx.secrets = secrets or SecretFacts()
    changes: list[Change] = []
    for spec in desired.absent:
        changes.append(ctx.top.setdefault(spec.key, _absent(ctx, spec)))
    for spec in ctx.present.values():
        if spec.kind in TOP_LEVEL:
            changes.append(ctx.top.setdefault(spec.key, _present(ctx, spec)))
    changes += [_present(ctx, s) for s in ctx.present.values() if s.kind not in TOP_LEVEL]
    for lv in ctx.live.values():
        if lv.key not in ctx.present and lv.key not in ctx.absent:
            change = _undeclared_top(ctx, lv) if lv.spec.kind in TOP_LEVEL else _undeclared_child(ctx, lv)
            if change is not None:
                changes.append(change)
    changes += [_withheld(ctx, spec) for spec in (*ctx.stripped, *desired.withheld)
                if spec.key not in ctx.live]
    changes = [_attributed(ctx, c) for c in _granted_again(changes)]
    if only_expired:
        changes = [c for c in changes if _expired_user(ctx, c.spec) is not None and _revokes(c)]
    unmanaged = sorted(set(ctx.unmanaged))
    warnings = ctx.warnings + [f"{c.key}: {ctx.unrotated[c.key]}" for c in changes if c.key in ctx.unrotated]
    return Plan(changes=sorted(changes, key=_order), warnings=warnings, unmanaged=unmanaged,
                undelivered=ctx.undelivered, manifest=manifest, live_fingerprint=live_fingerprint(live))


def _granted_again(changes: list[Change]) -> list[Change]:
    """A declared resource in sync that a deletion of the plan takes away too (:meth:`Spec.cleared_by`:
    closing the one-click grant revokes every model) is created again, as a change of its own that apply
    runs after that deletion."""
    deleted = {c.key for c in changes if c.action is Action.DELETE}
    again: list[Change] = []
    for change in changes:
        cleared = change.desired.cleared_by() if change.desired is not None else None
        if change.action is Action.NOOP and cleared in deleted:
            change = replace(change, action=Action.CREATE,
                             reason=f"granted again: deleting {cleared} revokes it")
        again.append(change)
    return again


def _context(desired: Desired, live: Sequence[Live], applied: Mapping[str, Spec] | None,
             allow_destroy: bool, rotate_missing: bool) -> _Ctx:
    by_key: dict[str, Live] = {}
    warnings: list[str] = []
    for lv in live:
        if lv.key in by_key:
            warnings.append(f"{lv.key}: several live resources share this key ({by_key[lv.key].cloud_id}, "
                            f"{lv.cloud_id}): only the first is considered")
            continue
        by_key[lv.key] = lv
    present: dict[str, Spec] = {}
    revoked: dict[str, str] = {}
    stripped: list[Spec] = []
    for spec in desired.present:
        user = _expired_user_in(desired.expired, spec)
        if user is None or isinstance(spec, UserSpec):
            present[spec.key] = spec
        else:  # the desired spec names the user of an API key; the live one may not
            revoked[spec.key] = user
            stripped.append(spec)
    for spec in desired.withheld:
        revoked[spec.key] = spec.holder() or ""
    for lv in by_key.values():
        user = _expired_user_in(desired.expired, lv.spec)
        if user is not None and not isinstance(lv.spec, UserSpec):
            revoked.setdefault(lv.key, user)
    return _Ctx(desired=desired, present=present, absent={s.key: s for s in desired.absent}, live=by_key,
                revoked=revoked, stripped=stripped, applied=applied, allow_destroy=allow_destroy,
                rotate_missing=rotate_missing, warnings=warnings)


def _expired_user_in(expired: frozenset[str], spec: Spec) -> str | None:
    """The expired user a spec belongs to (the user, its children, API keys issued to it), if any."""
    user = spec.holder()
    return user if user in expired else None


def _expired_user(ctx: _Ctx, spec: Spec) -> str | None:
    return ctx.revoked.get(spec.key) or _expired_user_in(ctx.desired.expired, spec)


def _withheld(ctx: _Ctx, spec: Spec) -> Change:
    """A declared resource of an expired user that the account does not hold: not created, and said."""
    user = spec.holder() or ""
    return Change(spec.key, Action.NOOP, f"{WITHHELD}: {ctx.desired.expiry(user)}", desired=spec)


def _attributed(ctx: _Ctx, change: Change) -> Change:
    """The change with the expired user it takes access from, when there is one."""
    user = _expired_user(ctx, change.spec)
    return replace(change, expired=user) if user else change


def _revokes(change: Change) -> bool:
    """Whether a change takes access away (a delete, a console removal, access keys down to zero) or is a
    no-op saying it is gone already; anything else (a drifted display name) waits for a full plan."""
    if change.action in (Action.DELETE, Action.NOOP):
        return True
    if change.action is Action.MANUAL:
        return change.desired is None
    keys = change.desired
    return change.action is Action.UPDATE and isinstance(keys, AccessKeysSpec) and keys.count == 0


def _order(change: Change) -> tuple[int, int, str]:
    """Creates and updates parents first (manual steps after their parents), deletes children first."""
    index = KIND_ORDER.index(Kind(change.kind))
    if change.action in (Action.DELETE, Action.REFUSED):
        return (1, len(KIND_ORDER) - index, change.key)
    return (0, index, change.key)


def _present(ctx: _Ctx, spec: Spec) -> Change:
    """The change for a spec the manifest wants present."""
    live = ctx.live.get(spec.key)
    blocked = _parent_block(ctx, spec, live)
    if blocked is not None:
        return blocked
    if isinstance(spec, MemberSpec):
        return _member(spec, live)
    if live is None:
        if isinstance(spec, UserSpec) and spec.user in ctx.desired.expired:
            return Change(spec.key, Action.NOOP, f"{ctx.expired(spec.user)}: not created", desired=spec)
        if isinstance(spec, AccessKeysSpec) and not spec.count:
            return Change(spec.key, Action.NOOP, "in sync (no access keys)", desired=spec)
        if _deleted_outside(ctx, spec):
            return Change(spec.key, Action.CREATE, DRIFT_DELETED, desired=spec, drift=True)
        return Change(spec.key, Action.CREATE, "not found", desired=spec)
    if spec.kind in OWN_MARKER and not ctx.managed(live):
        ctx.unmanaged.append(spec.key)
        ctx.undelivered.append(f"{spec.key}: {BLOCKED}")
        return Change(spec.key, Action.NOOP, LOOK_ALIKE, desired=spec, live=live)
    return _compare(ctx, spec, live)


def _parent_block(ctx: _Ctx, spec: Spec, live: Live | None) -> Change | None:
    """A no-op when a child's parent is unmanaged, undeclared or going away; None when it may change."""
    if spec.kind in TOP_LEVEL:
        return None
    parent = spec.parents()[0]
    parent_live = ctx.live.get(parent)
    desired = spec if spec.key in ctx.present else None
    if parent in ctx.absent:
        decided = ctx.top[parent]
        if decided.action is Action.DELETE:
            return Change(spec.key, Action.NOOP, f"deleted with {parent}", desired=desired, live=live)
        return Change(spec.key, Action.NOOP, f"parent {parent} is not deleted ({decided.reason})",
                      desired=desired, live=live)
    if parent_live is not None and not ctx.managed(parent_live):
        return Change(spec.key, Action.NOOP, "parent is unmanaged", desired=desired, live=live)
    if parent not in ctx.present and desired is None:
        return Change(spec.key, Action.NOOP, f"parent {parent} is not declared: not touched", live=live)
    return None


def _compare(ctx: _Ctx, spec: Spec, live: Live) -> Change:
    """NOOP, or UPDATE with one FieldChange per differing declared field (plus rotation, adoption)."""
    changed = tuple(FieldChange(f, getattr(live.spec, f), value) for f, value in spec.declared()
                    if norm(getattr(live.spec, f)) != norm(value))
    if spec.kind in OWN_MARKER and not live.managed:  # reached only for keys in desired.adopt
        return Change(spec.key, Action.UPDATE, ADOPT, desired=spec, live=live, fields=changed)
    lost = _classify_lost(ctx, spec, live)
    rotate = bool(lost) and ctx.rotate_missing
    reasons = [f"rotate: {lost}"] if rotate else []
    drift = False
    if changed:
        last = ctx.applied.get(spec.key) if ctx.applied is not None else None
        text, drift = field_reason(last, [(c.field, c.after) for c in changed])
        reasons.append(text)
    forget = dead_in_sink(live.spec)
    if forget:
        reasons.append(forget)
    if lost and not rotate:  # reported: the change (if any) leaves the key in place
        ctx.unrotated[spec.key] = f"{lost}: rotate with {ROTATE_FLAG}"
    note = ctx.unrotated.get(spec.key) or ctx.lost.get(spec.key)
    if not reasons:
        return Change(spec.key, Action.NOOP, note or "in sync", desired=spec, live=live)
    reason = "; ".join([*reasons, note] if note else reasons)
    return Change(spec.key, Action.UPDATE, reason, desired=spec, live=live, fields=changed, drift=drift,
                  rotate=rotate)


def _classify_lost(ctx: _Ctx, spec: Spec, live: Live) -> str:
    """The keys whose secret the sink lacks, as a reason ("" if none). Without ``rotate_missing``, a lost
    secret (stored by the tool, never handed off) or an orphan makes the resource undelivered; a secret
    handed off, or older than the state's records, stays a warning (said by the caller)."""
    ids = missing_secrets(live.spec, spec)
    if not ids or ctx.rotate_missing:
        return lost_secret(live.spec, spec)
    facts = ctx.secrets
    orphans = [i for i in ids if i in facts.orphaned]
    lost = [i for i in ids if i not in facts.orphaned and i in facts.stored and i not in facts.handed_off]
    if lost:
        ctx.undelivered.append(f"{spec.key}: {lost_secret(live.spec, spec, lost)}, and no hand-off of it "
                               f"was recorded (the secret is lost): rotate with {ROTATE_FLAG}")
        ctx.lost[spec.key] = f"not delivered: secret lost, rotate with {ROTATE_FLAG}"
    # an orphan is reported by the intent that made it (engine/intents.py); apply replaces it
    return lost_secret(live.spec, spec, [i for i in ids if i not in lost and i not in orphans])


def _member(spec: MemberSpec, live: Live | None) -> Change:
    """Membership has no API: a console step unless the live (proven) membership already matches."""
    if live is None:
        return Change(spec.key, Action.MANUAL, f"manual: add {spec.user} to workspace {spec.workspace} as "
                                               f"{spec.role or 'guest'} in the console", desired=spec)
    now = live.spec.role if isinstance(live.spec, MemberSpec) else None
    if spec.role is not None and spec.role != now:
        return Change(spec.key, Action.MANUAL,
                      f"manual: change role of {spec.user} in workspace {spec.workspace} from {now} to "
                      f"{spec.role} in the console", desired=spec, live=live,
                      fields=(FieldChange("role", now, spec.role),))
    proof = "proven by probe" if member_proof(live) is Proof.PROBE else "confirmed"
    return Change(spec.key, Action.NOOP, f"in sync ({proof})", desired=spec, live=live)


def _undeclared_child(ctx: _Ctx, live: Live) -> Change | None:
    """A live child the manifest does not declare: removed when its parent is present and managed."""
    spec = live.spec
    parent = spec.parents()[0]
    parent_live = ctx.live.get(parent)
    if parent not in ctx.present and parent not in ctx.absent and (
            parent_live is None or not ctx.managed(parent_live)):
        return None  # belongs to something the manifest does not mention and the tool does not own
    blocked = _parent_block(ctx, spec, live)
    if blocked is not None:
        return blocked
    user = ctx.revoked.get(live.key)
    reason = ctx.expired(user) if user else f"not declared under {parent}"
    if isinstance(spec, MemberSpec):
        why = ctx.expired(user) if user else live.member.pending if live.member is not None else ""
        return Change(live.key, Action.MANUAL, f"manual: remove {spec.user} from {spec.workspace}"
                      + (f" ({why})" if why else ""), live=live)
    if spec.kind in OWN_MARKER and not live.managed:
        return Change(live.key, Action.NOOP, "unmanaged: not touched", live=live)
    if isinstance(spec, AccessKeysSpec):
        count = spec.count if spec.count is not None else len(spec.key_ids)
        if not count and not spec.dead_in_sink:
            return Change(live.key, Action.NOOP, "in sync (no access keys)", live=live)
        if not count:
            return Change(live.key, Action.UPDATE, dead_in_sink(spec), desired=spec.without_keys(), live=live)
        return Change(live.key, Action.UPDATE, reason, desired=spec.without_keys(), live=live,
                      fields=(FieldChange("count", count, 0),))
    if user is None and ctx.applied and live.key not in ctx.applied:
        return Change(live.key, Action.DELETE, DRIFT_ADDED, live=live, drift=True)
    return Change(live.key, Action.DELETE, reason, live=live)


def _deleted_outside(ctx: _Ctx, spec: Spec) -> bool:
    """The tool applied this resource, its parents are still there, and it is gone: deleted by hand."""
    return ctx.applied is not None and spec.key in ctx.applied and all(p in ctx.live for p in spec.parents())


def _undeclared_top(ctx: _Ctx, live: Live) -> Change | None:
    """A managed top-level resource the manifest does not mention: reported, never touched."""
    if not live.managed:
        return None  # someone else's resource that merely exists in the account
    ctx.warnings.append(f"{live.key} is managed by provision but not declared: not touched")
    return Change(live.key, Action.NOOP, "managed by provision but not declared: not touched", live=live)


def _absent(ctx: _Ctx, spec: Spec) -> Change:
    """A top-level resource declared ``state: absent``: a guarded DELETE with its cascade spelled out."""
    live = ctx.live.get(spec.key)
    if live is None:
        return Change(spec.key, Action.NOOP, "already absent", desired=spec)
    if not ctx.managed(live):
        ctx.unmanaged.append(spec.key)
        return Change(spec.key, Action.NOOP, "unmanaged: not touched", desired=spec, live=live)
    cascade = live.cascade  # its provider's steps: apply runs those very steps
    refusal = Refusal.PROTECTED if isinstance(spec, Protectable) and spec.protect else \
        None if ctx.allow_destroy else Refusal.NEEDS_ALLOW_DESTROY
    if refusal is not None:
        return Change(spec.key, Action.REFUSED, refusal.value, desired=spec, live=live, cascade=cascade,
                      refusal=refusal)
    return Change(spec.key, Action.DELETE, "state: absent", desired=spec, live=live, cascade=cascade)
