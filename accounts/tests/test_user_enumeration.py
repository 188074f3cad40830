"""POST /users tells a tenant admin nothing about other tenants' users (issue 12 item 3).

Usernames and e-mails are global (one login, memberships in several tenants), so a name in use
elsewhere is refused; the refusal reads the same whichever identifier is in use and wherever, so
it is no more than what a name in use in the admin's own tenant answers.
"""

import pytest

from accounts.roles import Role

pytestmark = pytest.mark.django_db
PASSWORD = "Long-enough-42"


def post(world, **body):
    response = world.client(Role.TENANT_ADMIN).post(
        "/api/v1/users", {"password": PASSWORD, "role": "operator", **body}, format="json"
    )
    return response.status_code, response.json()


def test_username_taken_elsewhere_answers_like_taken_here(world, other_world):
    elsewhere = post(world, username=other_world.members[Role.OPERATOR].user.username)
    here = post(world, username=world.members[Role.OPERATOR].user.username)
    assert elsewhere == here
    assert elsewhere[0] == 400


def test_which_identifier_is_in_use_is_not_said(world, other_world):
    theirs = other_world.members[Role.OPERATOR].user
    ours = world.members[Role.OPERATOR].user
    answers = [
        post(world, username="fresh-1", email=theirs.email),  # e-mail used in another tenant
        post(world, username="fresh-2", email=ours.email.upper()),  # e-mail used here
        post(world, username=theirs.username, email="fresh-3@example.test"),  # name elsewhere
        post(world, username=ours.username, email="fresh-4@example.test"),  # name here
    ]
    assert all(answer == answers[0] for answer in answers), answers
    status, body = answers[0]
    assert status == 400 and body["code"] == "invalid"
    assert set(body["fields"]) == {"username", "email"}
    text = str(body).lower()
    assert "taken" not in text and "exists" not in text and "tenant" not in text


def test_fresh_names_are_accepted(world, other_world):
    status, body = post(world, username="fresh", email="fresh@example.test")
    assert status == 201 and body["username"] == "fresh"
