"""If-Match rules on the site group's ETag."""

from __future__ import annotations

import pytest
from drcontrol.errors import PreconditionFailed, PreconditionRequired
from drcontrol.sitegroup import SiteGroupState, SiteGroupView, check_if_match, etag_of


def view(state: SiteGroupState, version: int = 3) -> SiteGroupView:
    return SiteGroupView(state=state, version=version, etag=etag_of(state, version))


def test_etag_changes_with_content_and_version() -> None:
    base = SiteGroupState()
    assert etag_of(base, 1) != etag_of(base, 2)
    assert etag_of(base, 1) != etag_of(base.model_copy(update={"database_primary": "standby"}), 1)
    assert etag_of(base, 1) == etag_of(SiteGroupState(), 1)


def test_if_match_required_absent_mismatched_and_weak() -> None:
    current = view(SiteGroupState())
    with pytest.raises(PreconditionRequired):
        check_if_match(current, None, required=True)
    check_if_match(current, None, required=False)
    with pytest.raises(PreconditionFailed, match="changed since you read it"):
        check_if_match(current, '"0000"', required=True)
    with pytest.raises(PreconditionFailed):
        check_if_match(current, "*", required=True)
    check_if_match(current, current.etag, required=True)
    check_if_match(current, f'"x", W/{current.etag}', required=True)
