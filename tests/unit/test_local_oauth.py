"""The local stand-in for Cognito's managed login, as protocol (lumiere_dev.oauth): PKCE
with S256, exact redirect URIs and single-use codes, and the tokens it issues are the
ones the local authorizer accepts."""

from __future__ import annotations

import secrets

import jwt
import pytest
from lumiere_dev.auth import DevUserPool, InvalidToken, at_hash
from lumiere_dev.oauth import (
    CODE_TTL_SECONDS,
    DevAuthorizationServer,
    OAuthClient,
    OAuthError,
    UntrustedRedirect,
    s256,
)

PAGE = "http://127.0.0.1:8603/"


@pytest.fixture(scope="module")
def pool() -> DevUserPool:
    return DevUserPool()


@pytest.fixture
def server(pool: DevUserPool) -> DevAuthorizationServer:
    client = OAuthClient(pool.web_client_id, frozenset({PAGE}), frozenset({PAGE}))
    return DevAuthorizationServer(pool, {client.client_id: client})


def authorize(server: DevAuthorizationServer, verifier: str, **changes: str) -> dict[str, str]:
    [client_id] = server.clients
    return {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": PAGE,
        "scope": "openid email profile",
        "state": "s-1",
        "nonce": "n-1",
        "code_challenge": s256(verifier),
        "code_challenge_method": "S256",
        **changes,
    }


@pytest.fixture
def signed_in(server: DevAuthorizationServer) -> tuple[str, str]:
    """(code, verifier) of a user who signed in as "ada"."""
    verifier = secrets.token_urlsafe(48)
    request = server.check_authorization(authorize(server, verifier))
    return server.grant(request, "ada"), verifier


def redeem_form(server: DevAuthorizationServer, code: str, verifier: str) -> dict[str, str]:
    [client_id] = server.clients
    return {
        "grant_type": "authorization_code",
        "client_id": client_id,
        "code": code,
        "redirect_uri": PAGE,
        "code_verifier": verifier,
    }


def test_rfc7636_appendix_b_example() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert s256(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_good_flow_gives_tokens_shaped_as_cognitos(
    server: DevAuthorizationServer, pool: DevUserPool, signed_in: tuple[str, str]
) -> None:
    code, verifier = signed_in
    request = server.check_authorization(authorize(server, verifier))
    assert server.redirect_with_code(request, "C") == f"{PAGE}?code=C&state=s-1"
    tokens = server.token(redeem_form(server, code, verifier)).as_json()
    assert set(tokens) == {"id_token", "access_token", "refresh_token", "expires_in", "token_type"}
    assert tokens["token_type"] == "Bearer"
    claims = pool.verify(str(tokens["id_token"]))  # what the local authorizer checks
    assert claims["cognito:username"] == "ada"
    assert claims["aud"] == pool.web_client_id
    assert claims["nonce"] == "n-1"
    assert claims["at_hash"] == at_hash(str(tokens["access_token"]))
    access = jwt.decode(str(tokens["access_token"]), options={"verify_signature": False})
    assert access["token_use"] == "access"
    assert access["client_id"] == pool.web_client_id
    assert access["scope"] == "openid email profile"
    assert "aud" not in access
    assert access["origin_jti"] == claims["origin_jti"]
    with pytest.raises(InvalidToken):
        pool.verify(str(tokens["access_token"]))  # the API takes ID tokens only


def test_a_wrong_verifier_is_refused_and_spends_the_code(
    server: DevAuthorizationServer, signed_in: tuple[str, str]
) -> None:
    code, verifier = signed_in
    with pytest.raises(OAuthError) as e:
        server.token(redeem_form(server, code, secrets.token_urlsafe(48)))
    assert e.value.error == "invalid_grant"
    # no second guess at the same code, even with the right verifier
    with pytest.raises(OAuthError, match="invalid_grant"):
        server.token(redeem_form(server, code, verifier))


def test_a_different_redirect_uri_at_the_token_endpoint_is_refused(
    server: DevAuthorizationServer, signed_in: tuple[str, str]
) -> None:
    code, verifier = signed_in
    form = {**redeem_form(server, code, verifier), "redirect_uri": "http://127.0.0.1:8603/x"}
    with pytest.raises(OAuthError, match="invalid_grant"):
        server.token(form)


def test_a_reused_code_is_refused_and_revokes_its_refresh_token(
    server: DevAuthorizationServer, signed_in: tuple[str, str]
) -> None:
    code, verifier = signed_in
    first = server.token(redeem_form(server, code, verifier))
    [client_id] = server.clients
    refresh = {"grant_type": "refresh_token", "client_id": client_id}
    assert server.token({**refresh, "refresh_token": first.refresh_token}).id_token
    with pytest.raises(OAuthError, match="invalid_grant"):
        server.token(redeem_form(server, code, verifier))
    with pytest.raises(OAuthError, match="invalid_grant"):
        server.token({**refresh, "refresh_token": first.refresh_token})


def test_an_expired_code_is_refused(server: DevAuthorizationServer) -> None:
    verifier = secrets.token_urlsafe(48)
    request = server.check_authorization(authorize(server, verifier))
    code = server.grant(request, "ada", now=0.0)
    assert CODE_TTL_SECONDS <= 300
    with pytest.raises(OAuthError, match="expired"):
        server.token(redeem_form(server, code, verifier))


def test_refresh_gives_new_tokens_but_no_new_refresh_token(
    server: DevAuthorizationServer, pool: DevUserPool, signed_in: tuple[str, str]
) -> None:
    code, verifier = signed_in
    first = server.token(redeem_form(server, code, verifier))
    [client_id] = server.clients
    form = {"grant_type": "refresh_token", "client_id": client_id}
    again = server.token({**form, "refresh_token": first.refresh_token})
    assert "refresh_token" not in again.as_json()
    assert pool.verify(again.id_token)["sub"] == pool.verify(first.id_token)["sub"]


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"redirect_uri": "http://evil.example/"}, "redirect_mismatch"),
        ({"redirect_uri": "http://127.0.0.1:8603/?next=evil"}, "redirect_mismatch"),
        ({"client_id": "someone-else"}, "invalid_client"),
    ],
)
def test_untrusted_redirects_are_never_followed(
    server: DevAuthorizationServer, changes: dict[str, str], error: str
) -> None:
    with pytest.raises(UntrustedRedirect) as e:
        server.check_authorization(authorize(server, "v" * 43, **changes))
    assert e.value.error == error


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": ""}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "openid aws.cognito.signin.user.admin"}, "invalid_scope"),
    ],
)
def test_bad_requests_go_back_to_the_app_with_the_error(
    server: DevAuthorizationServer, changes: dict[str, str], error: str
) -> None:
    params = authorize(server, "v" * 43, **changes)
    with pytest.raises(OAuthError) as e:
        server.check_authorization(params)
    assert not isinstance(e.value, UntrustedRedirect)
    assert e.value.error == error
    target = server.redirect_with_error(params, e.value)
    assert target.startswith(f"{PAGE}?error={error}&")
    assert target.endswith("&state=s-1")


def test_logout_goes_only_to_a_sign_out_url(server: DevAuthorizationServer) -> None:
    [client_id] = server.clients
    assert server.logout_target({"client_id": client_id, "logout_uri": PAGE}) == PAGE
    with pytest.raises(UntrustedRedirect):
        server.logout_target({"client_id": client_id, "logout_uri": "http://evil.example/"})
