"""Plan views: the key lines of the text and markdown renderings (not whole-output snapshots)."""

from __future__ import annotations

import itertools

from provision.cli.views import NO_CHANGES, checklist_lines, render_markdown, render_text
from provision.desired.live import Live
from provision.desired.model import Desired
from provision.desired.resources import (
    ApiKeySpec,
    AttachmentSpec,
    EndpointSpec,
    GrantSpec,
    LoginProfileSpec,
    MemberSpec,
    UserSpec,
    WorkspaceSpec,
    Zone,
)
from provision.plan.checklist import manual_steps
from provision.plan.diff import Plan, diff

WS = WorkspaceSpec("ws-delivery")


def busy_plan() -> Plan:
    desired = Desired(
        present=(
            UserSpec("alice", "Alice"),
            UserSpec("erin", "Erin"),
            UserSpec("new"),
            WS,
            MemberSpec("ws-delivery", "alice", "guest"),
            EndpointSpec("ep", "cn", "vpc", zones=(Zone("a", "b"),)),
        ),
        absent=(UserSpec("bob"), UserSpec("dave", protect=True)),
    )
    live = [
        Live(UserSpec("alice", "Al"), True),
        Live(UserSpec("erin", "Changed"), True),
        Live(WorkspaceSpec("ws-delivery", workspace_id="ws-123"), True),
        Live(UserSpec("bob"), True, cascade=("delete login profile", "delete user")),
        Live(LoginProfileSpec("bob"), True),
        Live(UserSpec("dave"), True),
        Live(MemberSpec("ws-delivery", "carol", "guest"), True),
        Live(UserSpec("zed"), True),
        Live(UserSpec("look"), False),
        Live(EndpointSpec("ep", "cn", "vpc", zones=()), True),
    ]
    desired = Desired(present=(*desired.present, UserSpec("look")), absent=desired.absent)
    return diff(desired, live, allow_destroy=True, applied={"ram.user/erin": UserSpec("erin", "Erin")})


def test_text_shows_each_action_with_its_symbol_reason_and_field_changes() -> None:
    lines = render_text(busy_plan(), color=False).splitlines()
    assert "  + create ram.user/new (not found)" in lines
    assert "  ~ update ram.user/alice (differs: display_name)" in lines
    assert '      ~ display_name: "Al" → "Alice"' in lines
    assert "      ~ zones: [] → [a/b]" in lines
    assert "  ! refused ram.user/dave (protect: true)" in lines


def test_a_create_lists_the_declared_fields_it_will_set_like_terraform() -> None:
    key = ApiKeySpec("ws-delivery", "main", allowed_models=("qwen-plus", "qwen-turbo"), ip_allow_list=(),
                     disabled=False, issued_to="alice")
    endpoint = EndpointSpec("ep", "cn-beijing", "vpc-1", zones=(Zone("cn-beijing-a", "vsw-a"),),
                            security_group_ids=("sg-1",), service_name="com.aliyuncs.dashscope")
    user = UserSpec("alice", display_name="ACME delivery", expires_at="2027-03-31T00:00:00Z")
    desired = Desired(present=(user, WS, GrantSpec("ws-delivery", "qwen-plus"), key, endpoint))

    lines = render_text(diff(desired, []), color=False).splitlines()

    def under(key: str) -> list[str]:
        at = lines.index(f"  + create {key} (not found)")
        return list(itertools.takewhile(lambda line: line.startswith("      "), lines[at + 1:]))

    assert under("ram.user/alice") == ['      + display_name = "ACME delivery"',
                                       '      + expires_at = "2027-03-31T00:00:00Z"']
    assert under("modelstudio.api_key/ws-delivery/main") == [
        '      + allowed_models = ["qwen-plus", "qwen-turbo"]', "      + ip_allow_list = []",
        "      + disabled = false", '      + issued_to = "alice"']
    assert under("privatelink.endpoint/ep")[:2] == ["      + zones = [cn-beijing-a/vsw-a]",
                                                    '      + security_group_ids = ["sg-1"]']
    assert under("modelstudio.grant/ws-delivery/qwen-plus") == []  # the model is in the key
    markdown = render_markdown(diff(desired, []))
    assert '- `ram.user/alice`: + display_name = "ACME delivery"' in markdown


def test_text_lists_a_deletes_cascade_steps_indented_under_it() -> None:
    lines = render_text(busy_plan(), color=False).splitlines()
    at = lines.index("  - delete ram.user/bob (state: absent)")
    assert lines[at + 1 : at + 3] == ["      1. delete login profile", "      2. delete user"]


def test_drift_has_its_own_section_and_is_not_repeated_among_updates() -> None:
    text = render_text(busy_plan(), color=False)
    drift = text.split("Drift (changed outside provision)\n", 1)
    assert len(drift) == 2 and drift[1].startswith("  ~ ram.user/erin (drift: display_name)\n")
    assert "ram.user/erin" not in drift[0]


def test_manual_steps_are_a_numbered_console_checklist_with_the_workspace_id() -> None:
    lines = render_text(busy_plan(), color=False).splitlines()
    add = lines.index("  1. Add RAM user alice to workspace ws-delivery (id ws-123) as guest")
    assert "权限管理/Permission management → Accounts → Add user → Permissions" in lines[add + 1]
    assert lines[add + 2].startswith("  2. Remove RAM user carol from workspace ws-delivery (id ws-123)")


def test_each_console_step_ends_with_the_confirm_command_that_records_it() -> None:
    lines = render_text(busy_plan(), color=False, manifest_args="m.yaml --var x=1").splitlines()
    add = lines.index("  1. Add RAM user alice to workspace ws-delivery (id ws-123) as guest")
    confirm = "; then run: provision membership confirm -m m.yaml --var x=1 --workspace ws-delivery"
    assert lines[add + 1].endswith(f"{confirm} --user alice --role guest")
    assert lines[add + 3].endswith(f"{confirm} --user carol --removed")


def test_text_ends_with_warnings_look_alikes_and_the_summary_line() -> None:
    lines = render_text(busy_plan(), color=False).splitlines()
    assert "  ! ram.user/zed is managed by provision but not declared: not touched" in lines
    assert "  ? ram.user/look" in lines
    assert lines[-1] == "Plan: 1 to create, 3 to update, 1 to delete, 1 refused; 2 manual steps; 1 drifted."


def test_empty_plan_says_no_changes_and_hides_noops_unless_verbose() -> None:
    plan = diff(Desired(present=(WS,)), [Live(WS, True)])
    assert render_text(plan, color=False) == NO_CHANGES + "\n"
    assert "  = no-op modelstudio.workspace/ws-delivery (in sync)" in render_text(plan, False, verbose=True)


def test_colour_codes_appear_only_when_asked() -> None:
    plan = busy_plan()
    assert "\x1b[" not in render_text(plan, color=False)
    coloured = render_text(plan, color=True)
    assert "\x1b[32m  + create ram.user/new (not found)" in coloured


def test_markdown_has_summary_table_change_rows_and_a_checklist() -> None:
    md = render_markdown(busy_plan()).splitlines()
    assert (
        md[md.index("| create | update | delete | refused | manual | drift |") + 2]
        == "| 1 | 3 | 1 | 1 | 2 | 1 |"
    )
    assert "| - delete | `ram.user/bob` | state: absent |" in md
    assert "| ~ drift | `ram.user/erin` | drift: display_name |" in md
    assert "- `ram.user/bob`: 2. delete user" in md
    assert any(
        line.startswith("- [ ] Add RAM user alice to workspace ws-delivery (id ws-123) as guest")
        for line in md
    )
    assert "- `ram.user/look`" in md


def test_markdown_of_an_empty_plan_says_no_changes() -> None:
    assert NO_CHANGES in render_markdown(diff(Desired(), []))


def test_children_added_or_deleted_outside_show_in_the_drift_section_with_their_action() -> None:
    alice, read = UserSpec("alice"), AttachmentSpec("alice", "AliyunBailianDataReadOnlyAccess")
    admin = AttachmentSpec("alice", "AdministratorAccess")
    plan = diff(Desired(present=(alice, read)), [Live(alice, True), Live(admin, True)],
                applied={alice.key: alice, read.key: read})

    text = render_text(plan, color=False)

    before, drift = text.split("Drift (changed outside provision)\n", 1)
    lines = drift.splitlines()
    assert "  + create ram.attachment/alice/System:AliyunBailianDataReadOnlyAccess (drift: deleted outside " \
        "provision)" in lines
    added = "  - delete ram.attachment/alice/System:AdministratorAccess (drift: added outside provision)"
    assert added in lines
    assert "ram.attachment" not in before
    assert text.rstrip().endswith("0 manual steps; 2 drifted.")
    assert "| - drift | `ram.attachment/alice/System:AdministratorAccess` |" in render_markdown(plan)


def test_a_checklist_step_carries_the_note_of_why_it_is_still_listed() -> None:
    plan = busy_plan()
    note = "confirmed as guest by jane, but the probe says not a member"

    steps = manual_steps(plan, "m.yaml", {"modelstudio.member/ws-delivery/alice": note})

    [alice, carol] = checklist_lines(steps)
    assert alice.splitlines()[2] == f"      note: {note}"
    assert alice.splitlines()[3].startswith("      then run: provision membership confirm -m m.yaml")
    assert "note:" not in carol
