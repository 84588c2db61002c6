"""Hole 2: the per-name lockout cannot be skipped by padding or re-spelling the name.

The throttle, the log-in lookup and account creation share one key for a name
(`feedback_db.users.user_name_key`: Unicode NFKC, stripped, case-folded), so ` bob`,
`\u00a0bob`, `bob\u2003` and `BOB` are all bob: to the lockout as much as to the password check.
"""

from __future__ import annotations

import pytest

from feedback_db.errors import UserExistsError
from feedback_db.users import create_user, user_name_key
from tests.security.conftest import PASSWORD, client

VARIANTS = (" admin1", "\u00a0admin1", "admin1\u2003", "ADMIN1", "\uff41dmin1", "admin1\t")


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_spelling_of_a_name_is_the_same_key(variant):
    assert user_name_key(variant) == "admin1"


def test_padded_spellings_of_a_locked_name_stay_locked_out(url):
    caller = client(url)
    for _ in range(5):
        with pytest.raises(Exception, match="Wrong name or password"):
            caller.predict("admin1", "guess", api_name="/annotate_login")
    for variant in VARIANTS:
        with pytest.raises(Exception, match=r"Too many failed log-ins: try again in \d+ s"):
            client(url).predict(variant, PASSWORD, api_name="/annotate_login")


def test_wrong_guesses_under_different_spellings_count_against_one_name(url):
    for variant in ("admin1", *VARIANTS[:4]):  # five failures, five spellings
        with pytest.raises(Exception, match="Wrong name or password"):
            client(url).predict(variant, "guess", api_name="/annotate_login")
    with pytest.raises(Exception, match="Too many failed log-ins"):
        client(url).predict("admin1", PASSWORD, api_name="/annotate_login")


def test_a_padded_name_logs_in_as_the_account_when_not_locked(url):
    caller = client(url)
    caller.predict("\u00a0Admin1 ", PASSWORD, api_name="/annotate_login")
    assert caller.predict(api_name="/annotate_agreement") is not None


def test_an_account_cannot_be_created_under_another_spelling_of_a_name(database):
    with database.sessions.begin() as session:
        create_user(session, name="Carol", role="annotator", password=PASSWORD)
    for variant in ("carol", " CAROL", "\uff43arol"):
        with pytest.raises(UserExistsError), database.sessions.begin() as session:
            create_user(session, name=variant, role="annotator", password=PASSWORD)
