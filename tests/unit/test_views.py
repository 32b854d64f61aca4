"""Plan views: the key lines of the text and markdown renderings (not whole-output snapshots)."""

from __future__ import annotations

from provision.plan import Plan, diff
from provision.resources import (
    Desired,
    EndpointSpec,
    Live,
    LoginProfileSpec,
    MemberSpec,
    UserSpec,
    WorkspaceSpec,
    Zone,
)
from provision.views import NO_CHANGES, render_markdown, render_text

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
        Live(UserSpec("bob"), True),
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
