from app.telemetry.redaction import CARD, EMAIL, REDACTED, Redactor, luhn_valid


def test_luhn_valid_card_numbers_are_masked_in_text_with_spaces_or_dashes() -> None:
    r = Redactor()
    assert luhn_valid("4111111111111111")
    assert r.text("guest paid with 4111 1111 1111 1111 today") == f"guest paid with {CARD} today"
    assert r.text("card 5500-0000-0000-0004.") == f"card {CARD}."


def test_digit_runs_that_fail_luhn_are_kept() -> None:
    # A 16-digit run that is not a card (Luhn fails) must not be hidden: it may be an id an operator needs.
    assert Redactor().text("confirmation 4111111111111112") == "confirmation 4111111111111112"
    assert Redactor().text("reservation 100042 for 2 nights") == "reservation 100042 for 2 nights"


def test_secrets_by_key_and_by_value() -> None:
    r = Redactor(["s3cr3t-client-secret"])
    out = r.value(
        {
            "client_secret": "x",
            "Authorization": "Bearer abc.def",
            "nested": [{"email": "a@b.co"}],
            "note": "the secret is s3cr3t-client-secret",
            "hotel": "SAND01",
        }
    )
    assert out["client_secret"] == REDACTED and out["Authorization"] == REDACTED
    assert out["nested"][0]["email"] == REDACTED
    assert "s3cr3t-client-secret" not in out["note"]
    assert out["hotel"] == "SAND01"


def test_bearer_tokens_jwts_emails_and_phones_in_text() -> None:
    r = Redactor()
    text = r.text("Authorization: Bearer abcdefghijklmnop sent to ann@example.com, call +1 555 010 0199")
    assert "abcdefghijklmnop" not in text and EMAIL in text and "555 010" not in text
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbm4ifQ.c2lnbmF0dXJl"
    assert jwt not in r.text(f"token={jwt}")

