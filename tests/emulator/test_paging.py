"""The one paging module behind every emulated list: each API's token spelling, limits and errors."""

from __future__ import annotations

import pytest

from provision.emulator.paging import DECIMAL, MARKER, PREFIXED, NumberPaging, TokenFormat, TokenPaging
from provision.emulator.wire import CloudError

ITEMS = list(range(7))


def paging(tokens: TokenFormat) -> TokenPaging:
    return TokenPaging(3, 5, tokens, ("Bad.Size", "size"), ("Bad.Token", "token"), "ROA")


@pytest.mark.parametrize("tokens", [MARKER, DECIMAL, PREFIXED], ids=["ram", "modelstudio", "privatelink"])
def test_following_next_tokens_visits_every_item_once(tokens: TokenFormat) -> None:
    seen: list[int] = []
    token: str | None = None
    pages = 0
    while True:
        page = paging(tokens).page(ITEMS, None, token)
        seen, token, pages = seen + page.items, page.next_token, pages + 1
        assert (page.size, page.total) == (3, 7)
        if token is None:
            break
    assert (seen, pages) == (ITEMS, 3)


@pytest.mark.parametrize(("tokens", "forged"), [
    (MARKER, "not base64!"), (MARKER, "b2Zmc2V0Oi0x"),  # the second is "offset:-1"
    (DECIMAL, "-1"), (DECIMAL, "x1"),
    (PREFIXED, "3"), (PREFIXED, "nt-x"),
])
def test_a_token_the_api_never_issued_is_refused_with_its_code(tokens: TokenFormat, forged: str) -> None:
    with pytest.raises(CloudError) as caught:
        paging(tokens).page(ITEMS, None, forged)
    assert (caught.value.code, caught.value.status, caught.value.style) == ("Bad.Token", 400, "ROA")


@pytest.mark.parametrize("size", [0, 6])
def test_a_size_outside_the_limit_is_refused(size: int) -> None:
    with pytest.raises(CloudError) as caught:
        paging(DECIMAL).page(ITEMS, size, None)
    assert caught.value.code == "Bad.Size"


def test_page_numbers_count_from_one_and_zero_means_the_default() -> None:
    numbered = NumberPaging(2, 4, ("Bad.Number", "n"), ("Bad.Size", "s"))
    assert [numbered.page(ITEMS, n, None).items for n in (0, 1, 4, 5)] == [[0, 1], [0, 1], [6], []]
    assert numbered.page(ITEMS, 2, 4).items == [4, 5, 6]
    with pytest.raises(CloudError) as caught:
        numbered.page(ITEMS, -1, None)
    assert caught.value.code == "Bad.Number"
    with pytest.raises(CloudError) as caught:
        numbered.page(ITEMS, 1, 5)
    assert caught.value.code == "Bad.Size"
