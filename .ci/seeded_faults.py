"""Seeded faults: does the suite notice when a promise breaks?

Copies app/ and tests/ (with pyproject.toml, uv.lock and the docs and deploy files some tests read) to a scratch
directory, then, fault by fault, applies one small textual edit to the copy of app/, runs only the tests that should
catch it, and restores the file. Each edit names its search text, which must occur exactly once, so the script
fails loudly when the code moves instead of seeding nothing. A fault is "caught" when at least one of its tests
fails (or hangs past the per-run timeout), "survived" when they all pass.

    uv run python .ci/seeded_faults.py            # every fault; a baseline run of all their tests first
    uv run python .ci/seeded_faults.py --list     # the faults and their tests
    uv run python .ci/seeded_faults.py --only token_retry_off --only ready_ignores_breaker --no-baseline

Exit status: 0 all caught, 1 some survived, 2 the baseline failed or a search text is missing or repeated. It is
slow (each fault starts servers), so it is not part of `uv run pytest`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COPIED = ("app", "tests", "deploy", "docs", "bench", "pyproject.toml", "uv.lock", "README.md", "SECURITY.md",
          "CHANGELOG.md", ".env.example")
RUN_TIMEOUT_S = 600


@dataclass(frozen=True)
class Edit:
    path: str
    search: str
    replace: str


@dataclass(frozen=True)
class Fault:
    name: str
    what: str
    edits: tuple[Edit, ...]
    tests: tuple[str, ...]


@dataclass
class Outcome:
    fault: Fault
    verdict: str  # caught | survived | timeout
    seconds: float
    detail: str = ""
    failed: list[str] = field(default_factory=list)


def edit(path: str, search: str, replace: str) -> Edit:
    return Edit(path, search, replace)


OAUTH_RULES = "tests/security/test_oauth_rules.py"
BEFORE_PROMPTS = "tests/security/test_checks_before_prompts.py"
PROMISES = "tests/e2e/test_promises.py"
AUTH_UNIT = "tests/unit/test_auth.py"
IDEM_UNIT = "tests/unit/test_idempotency.py"
DECODE_OPTIONS = 'options={"require": list(REQUIRED_CLAIMS)}'

FAULTS: tuple[Fault, ...] = (
    Fault("refresh_loop", "a persistent 401 from OHIP refreshes and replays forever",
          (edit("app/opera/http.py", "if _stale_token(response) and not replayed_with_fresh_token:",
                "if _stale_token(response):"),),
          ("tests/integration/test_opera_http.py::test_a_bodiless_401_that_outlives_a_fresh_token_is_explained",)),
    Fault("jwt_exp_optional", "OAuth: a JWT without exp is accepted",
          (edit("app/security/oauth.py", 'REQUIRED_CLAIMS = ("exp", "iss", "aud")',
                'REQUIRED_CLAIMS = ("iss", "aud")'),),
          (f"{OAUTH_RULES}::test_a_token_without_exp_cannot_call_a_tool",)),
    Fault("jwt_hotels_ignored", "OAuth: the hotels claim is ignored (every hotel allowed)",
          (edit("app/security/oauth.py",
                "hotels = {h.upper() if h != ANY_HOTEL else h for h in _words(claims.get(self.config.hotels_claim))}",
                "hotels = {ANY_HOTEL}"),),
          (f"{OAUTH_RULES}::test_the_hotels_claim_limits_tools_resources_and_prompts",
           f"{OAUTH_RULES}::test_a_token_without_a_hotels_claim_may_use_no_hotel")),
    Fault("jwt_nbf_unchecked", "OAuth: nbf is not honoured",
          (edit("app/security/oauth.py", DECODE_OPTIONS,
                'options={"require": list(REQUIRED_CLAIMS), "verify_nbf": False}'),),
          (f"{OAUTH_RULES}::test_nbf_is_honoured_within_the_leeway_and_not_beyond",)),
    Fault("jwt_iat_unchecked", "OAuth: an iat in the future is not refused",
          (edit("app/security/oauth.py", DECODE_OPTIONS,
                'options={"require": list(REQUIRED_CLAIMS), "verify_iat": False}'),),
          (f"{OAUTH_RULES}::test_iat_in_the_future_beyond_the_leeway_is_refused",)),
    Fault("jwt_exp_unchecked", "OAuth: an expired token is accepted",
          (edit("app/security/oauth.py", DECODE_OPTIONS,
                'options={"require": list(REQUIRED_CLAIMS), "verify_exp": False}'),),
          (f"{OAUTH_RULES}::test_exp_is_honoured_within_the_leeway_and_not_beyond",)),
    Fault("jwt_iss_unchecked", "OAuth: the issuer is not checked",
          (edit("app/security/oauth.py", DECODE_OPTIONS,
                'options={"require": list(REQUIRED_CLAIMS), "verify_iss": False}'),),
          (f"{OAUTH_RULES}::test_the_issuer_must_match_exactly",)),
    Fault("jwt_aud_unchecked", "OAuth: the audience is not checked",
          (edit("app/security/oauth.py", DECODE_OPTIONS,
                'options={"require": list(REQUIRED_CLAIMS), "verify_aud": False}'),),
          (f"{OAUTH_RULES}::test_the_audience_must_match_exactly",)),
    Fault("jwt_leeway_unbounded", "OAuth: any clock leeway is accepted",
          (edit("app/security/oauth.py", "if not 0 <= leeway <= MAX_LEEWAY_S:", "if not 0 <= leeway:"),),
          (f"{OAUTH_RULES}::test_the_leeway_is_bounded",)),
    Fault("hotel_guard_noop", "the hotel guard is a no-op: a SAND01 key reads opera://hotels/SAND02/configuration",
          (edit("app/security/tool_guard.py", "        why = hotel_refusal(principal, hotel_id)\n",
                "        why = None\n"),),
          (f"{BEFORE_PROMPTS}::test_a_sand01_key_cannot_read_the_sand02_configuration_or_prompts",
           f"{OAUTH_RULES}::test_the_hotels_claim_limits_tools_resources_and_prompts")),
    Fault("prompt_hotel_unchecked", "prompts are rendered for any hotel",
          (edit("app/security/authz.py", '        if ctx.method == "prompts/get" and isinstance(ctx.params, dict):\n'
                                         '            arguments = ctx.params.get("arguments")',
                '        if False and isinstance(ctx.params, dict):\n'
                '            arguments = ctx.params.get("arguments")'),),
          (f"{BEFORE_PROMPTS}::test_a_sand01_key_cannot_read_the_sand02_configuration_or_prompts",)),
    Fault("checks_after_prompt", "scope and hotel checked only after the confirmation prompt",
          (edit("app/security/confirm.py", "        await precheck(kwargs)\n", ""),),
          (f"{BEFORE_PROMPTS}::test_every_billing_tool_needs_opera_billing_before_any_prompt_or_ohip_request",
           f"{BEFORE_PROMPTS}::test_another_hotels_guest_is_never_shown_in_a_prompt_or_read_from_ohip")),
    Fault("billing_with_write", "check_out and post_charge callable with opera:write alone",
          (edit("app/security/authz.py", 'BILLING_TOOLS = frozenset({"post_charge", "post_payment", "check_out"})',
                'BILLING_TOOLS = frozenset({"post_payment"})'),
           edit("app/security/authz.py", '"billing": SCOPE_BILLING}', '"billing": SCOPE_WRITE}')),
          (f"{BEFORE_PROMPTS}::test_every_billing_tool_needs_opera_billing_before_any_prompt_or_ohip_request",)),
    Fault("token_retry_off", "the token endpoint's 429/502/503/504 are never retried",
          (edit("app/opera/auth.py", "if status in (429, 502, 503, 504) and attempt < self._retry.max_retries:",
                "if False:"),),
          (f"{AUTH_UNIT}::test_a_token_endpoint_gateway_failure_is_retried_with_growing_backoff",
           f"{AUTH_UNIT}::test_a_token_endpoint_retry_waits_at_least_retry_after")),
    Fault("token_retry_after_ignored", "the token endpoint's Retry-After is ignored",
          (edit("app/opera/auth.py", 'self._retry.backoff(attempt, response.headers.get("Retry-After"), status=status)',
                "self._retry.backoff(attempt, None, status=status)"),),
          (f"{AUTH_UNIT}::test_a_token_endpoint_retry_waits_at_least_retry_after",)),
    Fault("token_backoff_off", "the token endpoint is retried without backoff",
          (edit("app/opera/auth.py",
                'await asyncio.sleep(self._retry.backoff(attempt, response.headers.get("Retry-After"), status=status))',
                "await asyncio.sleep(0)"),
           edit("app/opera/auth.py", "await asyncio.sleep(self._retry.backoff(attempt))", "await asyncio.sleep(0)")),
          (f"{AUTH_UNIT}::test_a_token_endpoint_gateway_failure_is_retried_with_growing_backoff",
           f"{AUTH_UNIT}::test_a_throttled_token_request_waits_out_ohips_one_second_window",
           f"{AUTH_UNIT}::test_a_token_endpoint_that_cannot_be_reached_is_retried_then_named")),
    Fault("limiter_never_waits", "the outbound limiter lets queued callers through without waiting",
          (edit("app/opera/resilience.py", "            await self._sleep(wait)\n", "            pass\n"),),
          ("tests/unit/test_resilience.py::test_limiter_serves_queued_callers_in_arrival_order",)),
    Fault("ready_ignores_breaker", "/ready ignores an open breaker",
          (edit("app/health.py", 'if components.get("breaker", {}).get("status") == "down":', "if False:"),),
          (f"{PROMISES}::test_ready_turns_503_while_the_breaker_is_open",)),
    Fault("gateway_failure_plain", "a POST answered 502/504 is reported as a plain server error",
          (edit("app/opera/http.py", "if self.retry.status_may_have_run(status) and not idempotent:", "if False:"),),
          (f"{PROMISES}::test_a_booking_answered_by_a_gateway_failure_is_an_unknown_outcome",)),
    Fault("unknown_write_keeps_cache", "a write of unknown outcome does not invalidate the cache",
          (edit("app/opera/http.py",
                "await self.cache.invalidate_after_write(hotel_id, op.module)  # it may have happened",
                "pass  # it may have happened"),),
          (f"{PROMISES}::test_a_change_whose_answer_is_lost_is_not_hidden_by_the_cache",)),
    Fault("idempotency_never_released", "the idempotency store never releases a key after a failed call",
          (edit("app/security/idempotency.py",
                '        if entry is not None and entry.state != "done":\n            del self._entries[key]\n',
                '        if entry is not None and entry.state != "done":\n            pass\n'),),
          (f"{IDEM_UNIT}::test_a_released_key_is_fresh_again[memory]",
           f"{IDEM_UNIT}::test_a_release_wakes_a_waiting_repeat_which_then_holds_the_key",
           f"{PROMISES}::test_a_charge_refused_by_ohip_leaves_its_idempotency_key_free_for_the_retry")),
    Fault("idempotency_ttl_off", "idempotency records never expire",
          (edit("app/security/idempotency.py",
                "expired = [k for k, e in self._entries.items() if now - e.created > self.ttl_s]",
                "expired: list[str] = []"),),
          (f"{IDEM_UNIT}::test_records_expire_after_their_ttl",
           f"{IDEM_UNIT}::test_expired_records_are_purged_whatever_their_state")),
    Fault("idempotency_unbounded", "the idempotency store grows without bound",
          (edit("app/security/idempotency.py", "if len(self._entries) > self.max_entries:", "if False:"),),
          (f"{IDEM_UNIT}::test_the_size_bound_drops_only_finished_records",)),
    Fault("idempotency_bound_drops_live", "the size bound drops records still in flight or of unknown outcome",
          (edit("app/security/idempotency.py", 'for key in [k for k, e in self._entries.items() if e.state == "done"]:',
                "for key in list(self._entries):"),),
          (f"{IDEM_UNIT}::test_the_size_bound_drops_only_finished_records",)),
    Fault("idempotency_no_wait", "a repeat does not wait for the call in flight",
          (edit("app/security/idempotency.py", "            remaining = deadline - time.monotonic()\n",
                "            remaining = 0.0\n"),),
          (f"{IDEM_UNIT}::test_a_repeat_waits_for_the_call_in_flight_and_gets_its_result[memory]",)),
    Fault("idempotency_lease_forever", "a claim whose process died is never taken over",
          (edit("app/security/idempotency.py", 'if entry.state == "unknown" or entry.lease_until <= now:',
                'if entry.state == "unknown":'),),
          (f"{IDEM_UNIT}::test_a_claim_whose_process_died_runs_out_and_is_reconciled[memory]",)),
    Fault("counter_check_in", "check-ins are not counted",
          (edit("app/tools/front_desk.py", 'metrics.front_desk_events.labels("check_in").inc()', "pass"),),
          (f"{PROMISES}::test_a_whole_stay_moves_each_business_counter_by_one_and_the_picker_tries_only_ready_rooms",)),
    Fault("counter_check_out", "check-outs are not counted",
          (edit("app/tools/front_desk.py", 'metrics.front_desk_events.labels("check_out").inc()', "pass"),),
          (f"{PROMISES}::test_a_whole_stay_moves_each_business_counter_by_one_and_the_picker_tries_only_ready_rooms",)),
    Fault("counter_charge", "charges are not counted",
          (edit("app/tools/billing.py", 'metrics.front_desk_events.labels("charge").inc()', "pass"),),
          (f"{PROMISES}::test_a_whole_stay_moves_each_business_counter_by_one_and_the_picker_tries_only_ready_rooms",)),
    Fault("counter_payment", "payments are not counted",
          (edit("app/tools/billing.py", 'metrics.front_desk_events.labels("payment").inc()', "pass"),),
          (f"{PROMISES}::test_a_whole_stay_moves_each_business_counter_by_one_and_the_picker_tries_only_ready_rooms",)),
    Fault("counter_reservation_created", "bookings are not counted",
          (edit("app/tools/reservations.py", 'metrics.reservations.labels("created").inc()', "pass"),),
          ("tests/e2e/test_tools_reservations.py::test_book_find_change_cancel_and_reinstate_a_stay",)),
    Fault("counter_reservation_cancelled", "cancellations are not counted",
          (edit("app/tools/reservations.py", 'metrics.reservations.labels("cancelled").inc()', "pass"),),
          ("tests/e2e/test_tools_reservations.py::test_book_find_change_cancel_and_reinstate_a_stay",)),
    Fault("picker_prefers_dirty", "the room picker takes Dirty rooms first",
          (edit("app/tools/front_desk.py", "free = (await free_rooms(hotel, stay, limit=100)).rooms",
                'free = (await free_rooms(hotel, stay, statuses=("Dirty", "Clean", "Inspected"), limit=100)).rooms'),
           edit("app/tools/front_desk.py", 'free.sort(key=lambda r: (r.room_status != "Inspected", r.room_id))',
                'free.sort(key=lambda r: (r.room_status != "Dirty", r.room_id))')),
          (f"{PROMISES}::test_a_whole_stay_moves_each_business_counter_by_one_and_the_picker_tries_only_ready_rooms",)),
    Fault("check_out_any_status", "check_out accepts a guest in any status",
          (edit("app/tools/front_desk.py", "if reservation.status and reservation.status not in CHECK_OUT_READY:",
                "if False:"),),
          (f"{PROMISES}::test_check_out_of_a_guest_who_left_yesterday_sends_no_write",)),
    Fault("early_departure_repeat_fails", "a repeated early departure (OPERA's FOF00158, already due out) is an error",
          (edit("app/tools/front_desk.py", "if exc.error_code != EARLY_DEPARTURE_NOT_REQUIRED:", "if True:"),),
          ("tests/e2e/test_exactly_once.py::test_an_early_departure_whose_answer_is_lost_is_checked_out_once",)),
    Fault("early_departure_noop", "the sandbox's putForEarlyDeparture leaves the departure as it was",
          (edit("app/sandbox/state.py",
                "        reservation.departure = hotel.business_date\n        return reservation\n",
                "        return reservation\n"),),
          ("tests/sandbox/test_csh.py::test_put_for_early_departure_makes_an_in_house_guest_due_out_with_oracles_refusals",
           "tests/sandbox/test_oracle_samples.py::test_a_whole_stay_from_oracles_sample_bodies")),
    Fault("day_use_flag_ignored", "check_out posts a day use's room and tax without reading roomAndTaxPosted first",
          (edit("app/tools/front_desk.py", "if folio.room_and_tax_posted is not True:", "if True:"),),
          ("tests/e2e/test_exactly_once.py::test_a_day_use_check_out_repeated_after_a_failure_posts_its_room_and_tax_once",)),
    Fault("day_use_lost_is_error", "a lost day-use posting is an error even when the folio says it was posted",
          (edit("app/tools/front_desk.py", "if lost is not None and folio.room_and_tax_posted is not True:",
                "if lost is not None:"),),
          ("tests/e2e/test_exactly_once.py::test_a_day_use_whose_room_and_tax_answer_is_lost_is_charged_once",)),
    Fault("folio_flag_missing", "the sandbox's getFolio leaves out roomAndTaxPosted",
          (edit("app/sandbox/routes/csh.py",
                'information["roomAndTaxPosted"] = hotel.business_date in reservation.room_and_tax_posted', "pass"),),
          ("tests/sandbox/test_csh.py::test_a_day_use_is_posted_its_room_and_tax_on_each_call_and_only_a_day_use",
           "tests/e2e/test_exactly_once.py::test_a_day_use_whose_room_and_tax_answer_is_lost_is_charged_once")),
    Fault("room_and_tax_twice", "the night audit posts a day use's date again",
          (edit("app/sandbox/state.py", "        if night in reservation.room_and_tax_posted:\n            return []\n",
                ""),),
          ("tests/sandbox/test_csh.py::test_a_day_use_is_posted_its_room_and_tax_on_each_call_and_only_a_day_use",)),
    Fault("post_503_repeated", "a 503 is taken as 'not processed' and a POST is sent again",
          (edit("app/opera/resilience.py", "        if status == 429:\n            return True",
                "        if status in (429, 503):\n            return True"),),
          ("tests/e2e/test_exactly_once.py::test_a_booking_and_a_charge_answered_503_after_opera_made_them_happen_once",
           "tests/unit/test_resilience.py::test_statuses_retried_depend_on_whether_the_request_may_have_run")),
    Fault("post_500_failed", "a 500 to a POST is reported as 'failed', not 'outcome unknown'",
          (edit("app/opera/resilience.py", "        return status in (500, 502, 503, 504)\n",
                "        return status in (502, 503, 504)\n"),),
          ("tests/e2e/test_exactly_once.py::test_a_booking_a_charge_and_a_payment_answered_500_after_opera_made_them_happen_once",
           "tests/unit/test_resilience.py::test_statuses_retried_depend_on_whether_the_request_may_have_run")),
    Fault("mid_call_yes_not_rechecked", "a handshake-era yes is taken without previewing again",
          (edit("app/security/confirm.py", "            if fresh == text:\n", "            if True:\n"),),
          ("tests/e2e/test_stdio.py::test_a_charge_posted_while_the_stdio_human_reads_the_check_out_question_is_asked_about_again",)),
    Fault("assigned_room_readiness_unchecked", "check_in sends the stay's own dirty room to OPERA with ignoreWarnings",
          (edit("app/tools/front_desk.py",
                'chosen_by, room = "reservation", reservation.room_id\n'
                '                warnings += await refuse_unready(hotel, reservation, room)\n',
                'chosen_by, room = "reservation", reservation.room_id\n'),),
          ("tests/e2e/test_tools_front_desk.py::test_check_in_into_an_assigned_room_that_turned_dirty_is_refused_before_opera_is_asked",)),
    Fault("sandbox_dirty_room_not_a_warning", "the sandbox refuses a dirty room even when ignoreWarnings says go on",
          (edit("app/sandbox/state.py", "not in READY_STATUSES and not ignore_warnings:", "not in READY_STATUSES:"),),
          ("tests/sandbox/test_fof.py::test_check_in_into_a_dirty_room_is_a_warning_that_ignore_warnings_overrides",)),
    Fault("sandbox_expected_room_ignored", "the sandbox moves the guest to another room than the one assigned",
          (edit("app/sandbox/state.py", "if room_id and reservation.room_id and room_id != reservation.room_id:",
                "if False:"),),
          ("tests/sandbox/test_fof.py::test_check_in_with_another_room_than_the_assigned_one_is_refused",)),
    Fault("first_rate_line_only", "a stay's total is read from its first rate line, stretched over every night",
          (edit("app/opera/reservations.py", "    for line in rate_lines:\n", "    for line in rate_lines[:1]:\n"),),
          ("tests/e2e/test_tools_reservations.py::test_a_stay_whose_nights_are_priced_apart_is_totalled_night_by_night",)),
    Fault("row_total_stretched", "a search row's total is its one night's rate x nights, not OPERA's totalAmount",
          (edit("app/opera/reservations.py", 'stay.get("totalAmount")', 'stay.get("noTotalAmount")'),),
          ("tests/e2e/test_results_agree.py::test_a_stay_over_a_weekend_totals_the_same_in_the_offer_the_record_and_every_list",)),
    Fault("sandbox_flat_prices", "the sandbox prices every night of a stay at its first night's rate",
          (edit("app/sandbox/state.py", "if night.weekday() in WEEKEND_NIGHTS and room_type in self.weekend_prices:",
                "if False:"),
           edit("app/sandbox/state.py",
                "if self.weekend_rate_amount is not None and night.weekday() in WEEKEND_NIGHTS:", "if False:")),
          ("tests/sandbox/test_csh.py::test_each_night_is_priced_posted_and_charged_at_its_own_rate",
           "tests/e2e/test_results_agree.py::test_a_stay_over_a_weekend_totals_the_same_in_the_offer_the_record_and_every_list")),
    Fault("sandbox_night_audit_flat", "the night audit posts every night at the weekday rate",
          (edit("app/sandbox/state.py", "amount=reservation.rate_on(night),", "amount=reservation.rate_amount,"),),
          ("tests/sandbox/test_csh.py::test_each_night_is_priced_posted_and_charged_at_its_own_rate",)),
    Fault("sandbox_penalty_flat", "an early departure's penalty charges the nights not stayed at the weekday rate",
          (edit("app/sandbox/state.py", "money(sum(reservation.rate_on(night) for night in nights), hotel.currency)",
                "money(reservation.rate_amount * len(nights), hotel.currency)"),),
          ("tests/sandbox/test_csh.py::test_each_night_is_priced_posted_and_charged_at_its_own_rate",)),
    Fault("multi_room_checked_in", "check_in and assign_room send a reservation of several rooms to OPERA",
          (edit("app/tools/front_desk.py", "        if reservation.rooms < 2:\n            return\n",
                "        if True:\n            return\n"),),
          ("tests/e2e/test_multi_room.py::test_a_three_room_booking_is_shown_kept_and_split_before_any_room_is_checked_in",)),
    Fault("rooms_unread", "every reservation is read as one room",
          (edit("app/opera/reservations.py", "    return units if units is not None and units >= 1 else 1\n",
                "    return 1\n"),),
          ("tests/e2e/test_multi_room.py::test_a_three_room_booking_is_shown_kept_and_split_before_any_room_is_checked_in",)),
    Fault("change_drops_rooms", "a change of dates sends numberOfUnits 1, giving the other rooms up",
          (edit("app/opera/reservations.py", "adults=adults, children=children, rooms=current.rooms,",
                "adults=adults, children=children, rooms=1,"),),
          ("tests/e2e/test_multi_room.py::test_a_three_room_booking_is_shown_kept_and_split_before_any_room_is_checked_in",)),
    Fault("split_repeated_blindly", "a split PUT whose answer is lost is sent again",
          (edit("app/opera/reservations.py", "json=body,\n            idempotent=False,\n        )\n        made",
                "json=body,\n        )\n        made"),),
          ("tests/e2e/test_multi_room.py::test_a_split_whose_answer_is_lost_is_made_once",)),
    Fault("split_lost_is_error", "a split whose answer is lost is reported failed although OPERA made it",
          (edit("app/tools/reservations.py", "            if after.rooms < record.rooms:\n",
                "            if False:\n"),),
          ("tests/e2e/test_multi_room.py::test_a_split_whose_answer_is_lost_is_made_once",)),
    Fault("sandbox_inventory_per_reservation", "the sandbox counts a reservation of several rooms as one room",
          (edit("app/sandbox/state.py", "        return sum(\n            r.rooms\n",
                "        return sum(\n            1\n"),),
          ("tests/e2e/test_multi_room.py::test_a_three_room_booking_is_shown_kept_and_split_before_any_room_is_checked_in",)),
    Fault("sandbox_multi_room_checked_in", "the sandbox checks in a reservation of several rooms",
          (edit("app/sandbox/state.py", '        _refuse_multi_room(reservation, "checked in")\n', ""),),
          ("tests/sandbox/test_reservations.py::test_a_multi_room_reservation_is_split_one_room_or_all_and_linked",)),
    Fault("uuid_key_refused_as_card", "a UUID idempotency key whose digits pass as a card is refused",
          (edit("app/security/arguments.py", '        text = _UUID.sub(" ", text)\n', "        pass\n"),),
          ("tests/e2e/test_card_numbers.py::test_phone_numbers_dates_and_the_last_four_digits_still_pass",)),
    Fault("return_status_unsent", "a room back in service without room_status sends OPERA no return status",
          (edit("app/tools/housekeeping.py",
                "given = {} if return_status else await statuses_given(hotel, rooms, kind)",
                "given: dict[str, str] = {}"),),
          ("tests/e2e/test_tools_housekeeping.py::test_a_room_back_in_service_takes_the_status_it_was_given_and_the_completion_names_it",)),
    Fault("move_repeated_blindly", "a room move PUT whose answer is lost is sent again",
          (edit("app/opera/front_office.py", 'json={"criteria": criteria}, idempotent=False,',
                'json={"criteria": criteria},'),),
          ("tests/e2e/test_room_move.py::test_a_move_whose_answer_is_lost_is_made_once",)),
    Fault("move_lost_is_error", "a room move whose answer is lost is reported failed although OPERA made it",
          (edit("app/tools/front_desk.py", "            if after.room_id == room_id:\n", "            if False:\n"),),
          ("tests/e2e/test_room_move.py::test_a_move_whose_answer_is_lost_is_made_once",)),
    Fault("move_same_room_sent", "a guest already in the room is moved again",
          (edit("app/tools/front_desk.py",
                "        if reservation.room_id == room_id and reservation.status in IN_HOUSE_STATUSES:\n",
                "        if False:\n"),),
          ("tests/e2e/test_room_move.py::test_a_guest_already_in_the_room_is_not_moved_again",)),
    Fault("move_not_in_house_sent", "a guest not checked in is sent to moveInHouseGuest",
          (edit("app/tools/front_desk.py",
                "        if reservation.status not in IN_HOUSE_STATUSES or not reservation.room_id:\n",
                "        if not reservation.room_id:\n"),),
          ("tests/e2e/test_room_move.py::test_a_move_that_cannot_be_made_is_refused_before_opera_is_asked",)),
    Fault("undo_check_out_date_unchecked", "a check-out of an earlier day is sent to reinstateCheckOut",
          (edit("app/tools/front_desk.py",
                "        if reservation.departure != today:\n            raise ToolError(\n"
                "                f\"undo_check_out refused",
                "        if False:\n            raise ToolError(\n                f\"undo_check_out refused"),),
          ("tests/e2e/test_undo_check_out.py::"
           "test_another_day_a_guest_not_checked_out_or_an_occupied_room_is_refused_before_opera_is_asked",)),
    Fault("undo_check_out_room_unchecked", "a stay whose room another guest was checked into is sent to OPERA",
          (edit("app/tools/front_desk.py",
                "            if room is not None and room.front_office_status not in (None, \"Vacant\"):\n"
                "                raise ToolError(\n                    f\"undo_check_out",
                "            if False:\n                raise ToolError(\n                    f\"undo_check_out"),),
          ("tests/e2e/test_undo_check_out.py::"
           "test_another_day_a_guest_not_checked_out_or_an_occupied_room_is_refused_before_opera_is_asked",)),
    Fault("undo_check_out_lost_is_error",
          "a reinstatement whose answer is lost is reported failed although OPERA made it",
          (edit("app/tools/front_desk.py",
                "            if after.status in IN_HOUSE_STATUSES:\n"
                "                return reinstated_result(hotel, after, undone=True)\n",
                "            if False:\n                return reinstated_result(hotel, after, undone=True)\n"),),
          ("tests/e2e/test_undo_check_out.py::test_a_reinstatement_whose_answer_is_lost_is_made_once",)),
    Fault("undo_check_out_in_house_refused", "a guest already in house is refused instead of told nothing was needed",
          (edit("app/tools/front_desk.py",
                "        if reservation.status in IN_HOUSE_STATUSES:\n"
                "            return reinstated_result(hotel, reservation, undone=False)",
                "        if False:\n            return reinstated_result(hotel, reservation, undone=False)"),),
          ("tests/e2e/test_undo_check_out.py::"
           "test_another_day_a_guest_not_checked_out_or_an_occupied_room_is_refused_before_opera_is_asked",)),
    Fault("reinstate_override_sent", "reinstateCheckOut is sent with overrideFlag true, sharing an occupied room",
          (edit("app/opera/cashiering.py", '                "overrideFlag": False,\n',
                '                "overrideFlag": True,\n'),),
          ("tests/e2e/test_undo_check_out.py::"
           "test_a_charge_found_after_check_out_is_posted_after_reinstating_and_settled_at_a_second_check_out",)),
    Fault("checked_out_charge_unexplained", "a charge refused for a checked-out guest does not name undo_check_out",
          (edit("app/tools/billing.py", '            if status == "CheckedOut":\n', "            if False:\n"),),
          ("tests/e2e/test_undo_check_out.py::"
           "test_a_charge_found_after_check_out_is_posted_after_reinstating_and_settled_at_a_second_check_out",)),
    Fault("sandbox_reinstate_any_day", "the sandbox reinstates a check-out of an earlier day",
          (edit("app/sandbox/state.py",
                "        if reservation.departure != hotel.business_date:\n            raise SandboxError(\n"
                "                400,\n                \"Cannot reinstate\"",
                "        if False:\n            raise SandboxError(\n"
                "                400,\n                \"Cannot reinstate\""),),
          ("tests/sandbox/test_csh.py::"
           "test_reinstating_is_refused_after_the_departure_day_without_a_cashier_or_into_an_occupied_room",)),
    Fault("sandbox_reinstate_into_occupied", "the sandbox reinstates into a room another guest was checked into",
          (edit("app/sandbox/state.py", "        if occupant is not None and not override:\n", "        if False:\n"),),
          ("tests/sandbox/test_csh.py::"
           "test_reinstating_is_refused_after_the_departure_day_without_a_cashier_or_into_an_occupied_room",)),
    Fault("sandbox_reinstate_repeated", "the sandbox reinstates a guest who is not checked out",
          (edit("app/sandbox/state.py",
                "        if reservation.status != \"CheckedOut\":\n            raise SandboxError(\n"
                "                400,\n                \"Cannot reinstate\"",
                "        if False:\n            raise SandboxError(\n"
                "                400,\n                \"Cannot reinstate\""),),
          ("tests/sandbox/test_csh.py::test_a_guest_checked_out_today_is_reinstated_once_with_the_folio_kept_and_can_be_charged",)),
    Fault("stop_check_missing", "a write cut short by a stop tells the agent no tool-specific check before a retry",
          (edit("app/security/tool_guard.py",
                '    "undo_check_out": "get_reservation to see whether the guest is in house again",\n', ""),),
          ("tests/e2e/test_tool_surface.py::test_annotations_agree_with_access_confirmation_and_description",)),
    Fault("room_condition_occupied_always", "set_room_condition sets a condition on an occupied room unasked",
          (edit("app/opera/housekeeping.py", '"includeOccupiedRooms": include_occupied}',
                '"includeOccupiedRooms": True}'),),
          ("tests/e2e/test_room_conditions.py::"
           "test_set_room_condition_refuses_what_it_cannot_do_and_sets_an_occupied_room_only_when_told",)),
    Fault("room_condition_remarks_dropped", "set_room_condition sends no remarks",
          (edit("app/opera/housekeeping.py", '                condition["remarks"] = remarks\n',
                "                pass\n"),),
          ("tests/e2e/test_room_conditions.py::"
           "test_set_room_condition_sets_aside_a_room_and_clear_gives_it_back",)),
    Fault("room_condition_clear_sends_null", "clearing a room condition sends a null code",
          (edit("app/opera/housekeeping.py", "        if code is not None:\n            condition: dict",
                "        if True:\n            condition: dict"),),
          ("tests/e2e/test_room_conditions.py::"
           "test_set_room_condition_sets_aside_a_room_and_clear_gives_it_back",)),
    Fault("room_condition_either_unchecked", "set_room_condition with neither a condition nor clear=true clears it",
          (edit("app/tools/housekeeping.py", "        if clear == (condition is not None):\n", "        if False:\n"),),
          ("tests/e2e/test_room_conditions.py::"
           "test_set_room_condition_refuses_what_it_cannot_do_and_sets_an_occupied_room_only_when_told",)),
    Fault("room_condition_code_unchecked", "a room condition the hotel does not have is sent to setRoomCondition",
          (edit("app/tools/housekeeping.py", 'known = await lov.refusing(hotel, "RoomConditions", code)',
                "known = None"),),
          ("tests/e2e/test_room_conditions.py::"
           "test_set_room_condition_refuses_what_it_cannot_do_and_sets_an_occupied_room_only_when_told",)),
    Fault("sandbox_room_conditions_lov_missing", "the sandbox's lov serves no RoomConditions list",
          (edit("app/sandbox/routes/lov.py", '    if name == "RoomConditions":', "    if False:"),),
          ("tests/e2e/test_room_conditions.py::"
           "test_set_room_condition_refuses_what_it_cannot_do_and_sets_an_occupied_room_only_when_told",)),
    Fault("message_lost_is_error", "a guest message whose answer is lost is reported failed although OPERA took it",
          (edit("app/tools/messages.py", "            made = ours(messages, body, before)\n",
                "            made = None\n"),),
          ("tests/e2e/test_guest_messages.py::test_a_message_whose_answer_is_lost_is_left_once",)),
    Fault("message_earlier_passes_for_new", "an earlier message of the same text passes for one OPERA never took",
          (edit("app/tools/messages.py", "and (before is None or m.message_id not in before)]", "]"),),
          ("tests/e2e/test_guest_messages.py::"
           "test_a_message_opera_never_took_is_reported_not_left_even_when_the_same_text_was_left_before",)),
    Fault("message_closed_stay_sent", "a message for a checked-out stay is sent to OPERA",
          (edit("app/tools/messages.py", "        if record.status in CLOSED_STATUSES:\n", "        if False:\n"),),
          ("tests/e2e/test_guest_messages.py::"
           "test_a_closed_stay_a_card_number_or_an_unknown_message_is_refused_before_opera_is_asked",)),
    Fault("message_received_put_again", "marking a received message received sends the PUT again",
          (edit("app/tools/messages.py", "        if not message.delivered:\n", "        if True:\n"),),
          ("tests/e2e/test_guest_messages.py::test_a_message_is_left_listed_handed_over_and_then_no_longer_waits",)),
    Fault("message_operator_unsent", "a guest message is sent without this server as its operator",
          (edit("app/opera/guest_messages.py", '"typeOfMessage": "Tm", "operator": OPERATOR}',
                '"typeOfMessage": "Tm"}'),),
          ("tests/e2e/test_guest_messages.py::test_a_message_is_left_listed_handed_over_and_then_no_longer_waits",
           "tests/e2e/test_guest_messages.py::test_a_message_whose_answer_is_lost_is_left_once")),
    Fault("messages_received_always_listed", "list_guest_messages lists received messages unasked",
          (edit("app/opera/guest_messages.py", '"retrieveDeliveredMessages": delivered,',
                '"retrieveDeliveredMessages": True,'),),
          ("tests/e2e/test_guest_messages.py::test_a_message_is_left_listed_handed_over_and_then_no_longer_waits",)),
    Fault("messages_unmarked", "OPERA's text of a guest message reaches the agent unmarked as data",
          (edit("app/security/untrusted.py",
                '    "GuestMessage": frozenset({"text", "recipient", "operator"}),\n', ""),),
          ("tests/e2e/test_guest_messages.py::test_a_message_is_left_listed_handed_over_and_then_no_longer_waits",)),
    Fault("sandbox_message_closed_taken", "the sandbox takes a message for a checked-out stay",
          (edit("app/sandbox/state.py", '        if reservation.status in ("Cancelled", "NoShow", "CheckedOut"):\n',
                "        if False:\n"),),
          ("tests/sandbox/test_reservations.py::"
           "test_a_guest_message_for_a_stay_with_no_guest_or_with_no_text_is_refused",)),
    Fault("sandbox_messages_delivered_filter_ignored",
          "the sandbox's getGuestMessages lists received messages when told not to",
          (edit("app/sandbox/routes/rsv.py", "if (delivered and m.delivered) or (undelivered and not m.delivered)]",
                "if True]"),),
          ("tests/sandbox/test_reservations.py::"
           "test_guest_messages_are_taken_twice_when_sent_twice_listed_and_marked_received",)),
    Fault("queue_not_due_in_sent", "a reservation not due in today is sent to addReservationToQueue",
          (edit("app/tools/room_queue.py", '        if record.status != "DueIn":\n', "        if False:\n"),),
          ("tests/e2e/test_room_queue.py::test_only_a_guest_due_in_today_is_queued",)),
    Fault("queue_repeat_sent", "a guest already queued is sent to addReservationToQueue again",
          (edit("app/tools/room_queue.py",
                "        if place_of(queue, reservation_id) is not None:\n            return",
                "        if False:\n            return"),),
          ("tests/e2e/test_room_queue.py::"
           "test_a_guest_whose_room_is_dirty_is_queued_housekeeping_sees_it_and_check_in_takes_it_off",)),
    Fault("queue_remove_unqueued_sent", "a reservation not in the queue is sent to deleteReservationFromQueue",
          (edit("app/tools/room_queue.py", "        if place_of(queue, reservation_id) is None:\n            return",
                "        if False:\n            return"),),
          ("tests/e2e/test_room_queue.py::"
           "test_a_guest_whose_room_is_dirty_is_queued_housekeeping_sees_it_and_check_in_takes_it_off",)),
    Fault("check_in_queue_unnamed", "check_in's refusal of a dirty room does not name queue_for_room",
          (edit("app/tools/front_desk.py", '            + offered("queue_for_room", "; meanwhile queue_for_room',
                '            + offered("nothing", "; meanwhile queue_for_room'),),
          ("tests/e2e/test_room_queue.py::"
           "test_a_guest_whose_room_is_dirty_is_queued_housekeeping_sees_it_and_check_in_takes_it_off",)),
    Fault("sandbox_check_in_keeps_queue", "the sandbox's check-in leaves the guest in the queue",
          (edit("app/sandbox/state.py", "        hotel.room_queue.pop(reservation_id, None)  # checked in",
                "        pass  # checked in"),),
          ("tests/sandbox/test_fof.py::"
           "test_the_queue_takes_arrivals_of_the_day_in_order_keeps_a_place_and_check_in_or_delete_takes_them_off",)),
    Fault("sandbox_queue_any_day", "the sandbox queues a reservation arriving another day",
          (edit("app/sandbox/state.py",
                '        if reservation.computed_status(hotel.business_date) != "DueIn":\n'
                '            raise _bad_request(\n                "Reservation cannot be queued"',
                '        if False:\n            raise _bad_request(\n                "Reservation cannot be queued"'),),
          ("tests/sandbox/test_fof.py::"
           "test_the_queue_takes_arrivals_of_the_day_in_order_keeps_a_place_and_check_in_or_delete_takes_them_off",)),
    Fault("sandbox_queue_counts_stale", "the sandbox's queue place counts a reservation no longer due in",
          (edit("app/sandbox/state.py",
                "        place = [r.reservation_id for r in self.queued(hotel_id)].index(reservation_id) + 1\n",
                "        place = list(hotel.room_queue).index(reservation_id) + 1\n"),),
          ("tests/sandbox/test_fof.py::test_a_reservation_no_longer_due_in_does_not_hold_a_place_in_the_queue",)),
    Fault("move_room_unchecked", "a room the guest cannot move into is sent to OPERA",
          (edit("app/tools/front_desk.py",
                "            noted = await refuse_unmovable(hotel, reservation, stay, room_id)\n",
                "            noted = []\n"),),
          ("tests/e2e/test_room_move.py::test_a_move_that_cannot_be_made_is_refused_before_opera_is_asked",)),
    Fault("assign_room_unchecked", "a room the stay cannot be given is sent to postRoomAssignment",
          (edit("app/tools/front_desk.py",
                "            noted = await refuse_unassignable(hotel, reservation, stay, room_id)\n",
                "            noted = []\n"),),
          ("tests/e2e/test_tools_front_desk.py::test_assigning_a_room_of_another_type_says_which_type_was_booked",)),
    Fault("unfit_room_passed", "a room that fails the assignment rule is given without a word, by assign_room and "
          "move_room alike",
          (edit("app/tools/front_desk.py",
                "        if room is not None and why is None:\n            return condition_warnings(room)\n",
                "        if True:\n            return []\n"),),
          ("tests/e2e/test_tools_front_desk.py::test_assigning_a_room_of_another_type_says_which_type_was_booked",
           "tests/e2e/test_room_move.py::test_a_move_that_cannot_be_made_is_refused_before_opera_is_asked")),
    Fault("move_old_status_unsent", "a room move sends no oldRoomStatus, so the room left is not what the desk said",
          (edit("app/opera/front_office.py", '            "oldRoomStatus": old_room_status,\n', ""),),
          ("tests/e2e/test_room_move.py::test_a_guest_moves_to_a_ready_room_keeping_the_folio_and_the_room_left_takes_its_status",)),
    Fault("move_reason_default_unsent", "a room move without reason_code sends none although the hotel keeps reasons",
          (edit("app/tools/front_desk.py", "            return known[0].code if known else None\n",
                "            return None\n"),),
          ("tests/e2e/test_room_move.py::test_without_a_reason_the_hotels_first_is_sent_and_the_room_left_is_dirty",)),
    Fault("move_locked_sent", "a stay locked to its room (Do Not Move) is sent to moveInHouseGuest",
          (edit("app/tools/front_desk.py", "        if reservation.room_locked:\n            raise ToolError(\n",
                "        if False:\n            raise ToolError(\n"),),
          ("tests/e2e/test_room_move.py::test_a_move_that_cannot_be_made_is_refused_before_opera_is_asked",)),
    Fault("sandbox_move_keeps_old_status", "the sandbox leaves the room a guest moved out of as it was",
          (edit("app/sandbox/state.py", "        hotel.room(current).room_status = left_status\n", ""),),
          ("tests/sandbox/test_fof.py::test_an_in_house_guest_moves_the_room_left_takes_its_status_and_the_history_says_so",)),
    Fault("sandbox_move_not_in_house", "the sandbox moves a guest who is not checked in",
          (edit("app/sandbox/state.py", '        if reservation.status != "InHouse" or reservation.room_id is None:\n',
                "        if False:\n"),),
          ("tests/sandbox/test_fof.py::test_a_room_move_is_refused_when_not_in_house_or_into_a_room_that_cannot_take_the_guest",)),
    Fault("sandbox_move_dirty_room", "the sandbox moves a guest into a dirty room without the override",
          (edit("app/sandbox/state.py",
                "        if hotel.room_status(room) not in READY_STATUSES and not allow_dirty:\n",
                "        if False:\n"),),
          ("tests/sandbox/test_fof.py::test_a_room_move_is_refused_when_not_in_house_or_into_a_room_that_cannot_take_the_guest",)),
    Fault("sandbox_move_history_lost", "the sandbox keeps no room move history",
          (edit("app/sandbox/state.py", "        reservation.room_moves.append(RoomMove(\n",
                "        [].append(RoomMove(\n"),),
          ("tests/sandbox/test_fof.py::test_an_in_house_guest_moves_the_room_left_takes_its_status_and_the_history_says_so",)),
    Fault("undo_repeated_blindly", "a check-in reversal whose answer is lost is sent again",
          (edit("app/opera/front_office.py",
                'path_params={"reservationId": reservation_id}, params=params,\n            idempotent=False,\n',
                'path_params={"reservationId": reservation_id}, params=params,\n'),),
          ("tests/e2e/test_undo_check_in.py::test_a_reversal_whose_answer_is_lost_is_made_once",)),
    Fault("undo_lost_is_error", "a check-in reversal whose answer is lost is reported failed although OPERA made it",
          (edit("app/tools/front_desk.py",
                "            if after.status in CHECK_IN_READY:\n                return undone_result(",
                "            if False:\n                return undone_result("),),
          ("tests/e2e/test_undo_check_in.py::test_a_reversal_whose_answer_is_lost_is_made_once",)),
    Fault("undo_earlier_day_sent", "a check-in of an earlier day is sent to deleteCheckin",
          (edit("app/tools/front_desk.py", "        if reservation.arrival != today:\n", "        if False:\n"),),
          ("tests/e2e/test_undo_check_in.py::test_a_check_in_of_an_earlier_day_or_with_a_posting_is_refused_before_opera_is_asked",)),
    Fault("undo_postings_unchecked", "a check-in with a posting on the folio is sent to deleteCheckin",
          (edit("app/tools/front_desk.py", "        if posted or any(w.more_postings for w in folio.windows):\n",
                "        if False:\n"),),
          ("tests/e2e/test_undo_check_in.py::test_a_check_in_of_an_earlier_day_or_with_a_posting_is_refused_before_opera_is_asked",)),
    Fault("undo_room_status_unsent", "a check-in reversal sends OPERA no roomStatus",
          (edit("app/opera/front_office.py", '            params["roomStatus"] = room_status\n',
                "            pass\n"),),
          ("tests/e2e/test_undo_check_in.py::test_a_check_in_made_by_mistake_is_reversed_and_the_guest_can_be_checked_in_again",)),
    Fault("undo_room_always_kept", "keep_room=false keeps the room",
          (edit("app/opera/front_office.py", 'params: dict[str, Any] = {"unassignRoom": unassign_room}',
                'params: dict[str, Any] = {"unassignRoom": False}'),),
          ("tests/e2e/test_undo_check_in.py::test_keep_room_false_gives_the_room_up",)),
    Fault("undo_due_in_refused", "a repeat for a guest already due in is refused instead of answered",
          (edit("app/tools/front_desk.py",
                "            return undone_result(hotel, reservation, undone=False)  # already due in",
                "            pass  # already due in"),),
          ("tests/e2e/test_undo_check_in.py::test_a_guest_already_due_in_is_not_reversed_again",)),
    Fault("sandbox_undo_drops_postings", "the sandbox reverses a check-in with charges posted and drops its folio",
          (edit("app/sandbox/state.py",
                "        if posted:\n            raise _bad_request(\n                \"Cannot cancel check-in\",",
                "        if False:\n            raise _bad_request(\n                \"Cannot cancel check-in\","),),
          ("tests/sandbox/test_fof.py::test_a_check_in_with_a_charge_posted_is_not_reversed_and_the_charge_stays",)),
    Fault("wake_up_set_twice", "a wake-up call already pending at that time is set again",
          (edit("app/tools/front_desk.py",
                "        missing = [m for m in wanted if m not in set_times]\n",
                "        missing = list(wanted)\n"),),
          ("tests/e2e/test_wake_up_calls.py::test_a_wake_up_call_is_set_for_three_mornings_and_a_repeat_rings_once",)),
    Fault("wake_up_lost_is_error", "a wake-up call whose answer is lost is reported failed although OPERA set it",
          (edit("app/tools/front_desk.py", "                if not all(m in now_pending for m in run):\n",
                "                if True:\n"),),
          ("tests/e2e/test_wake_up_calls.py::test_a_wake_up_call_whose_answer_is_lost_is_set_once",)),
    Fault("wake_up_stay_unchecked", "a wake-up call outside the stay is sent to OPERA",
          (edit("app/tools/front_desk.py", "        if date < today or last > reservation.departure:\n",
                "        if False:\n"),),
          ("tests/e2e/test_wake_up_calls.py::test_a_call_outside_the_stay_or_for_a_guest_not_in_house_is_refused_before_opera_is_asked",)),
    Fault("wake_up_not_in_house_sent", "a wake-up call for a guest not in house is sent to OPERA",
          (edit("app/tools/front_desk.py",
                "        if not reservation.room_id or reservation.status not in IN_HOUSE_STATUSES:\n",
                "        if not reservation.room_id:\n"),),
          ("tests/e2e/test_wake_up_calls.py::test_a_call_outside_the_stay_or_for_a_guest_not_in_house_is_refused_before_opera_is_asked",)),
    Fault("wake_up_cancel_repeat_refused", "a second cancel of a cancelled wake-up call is refused instead of answered",
          (edit("app/tools/front_desk.py", "            if any(c.call_time == moment for c in calls):  # cancelled",
                "            if False:  # cancelled"),),
          ("tests/e2e/test_wake_up_calls.py::test_a_cancelled_call_no_longer_rings_and_a_second_cancel_changes_nothing",)),
    Fault("sandbox_wake_up_not_in_house", "the sandbox sets a wake-up call for a guest not in house",
          (edit("app/sandbox/state.py",
                '        if reservation.room_id is None or reservation.status != "InHouse":\n',
                "        if False:\n"),),
          ("tests/sandbox/test_fof.py::test_a_wake_up_call_needs_the_guest_in_house_in_that_room_within_the_stay",)),
    Fault("sandbox_wake_up_span_ignored", "the sandbox sets a call on the first day of a time span only",
          (edit("app/sandbox/state.py", "        last = end or first\n", "        last = first\n"),),
          ("tests/sandbox/test_fof.py::test_wake_up_calls_are_set_daily_listed_and_cancelled",)),
    Fault("routed_window_paid_by_guest", "check_out pays a window billed to a company with the guest's method",
          (edit("app/tools/front_desk.py", "        if routed:\n", "        if False:\n"),),
          ("tests/e2e/test_tools_front_desk.py::test_check_out_never_settles_a_window_billed_to_a_company_with_the_guests_method",)),
    Fault("early_departure_penalty_never_posted", "an early departure sends postEarlyDeparturePenalty=false always",
          (edit("app/opera/cashiering.py", '"postEarlyDeparturePenalty": post_penalty,',
                '"postEarlyDeparturePenalty": False,'),),
          ("tests/e2e/test_tools_front_desk.py::test_an_early_departure_shows_posts_and_settles_operas_penalty",
           "tests/e2e/test_exactly_once.py::test_an_early_departure_penalty_whose_answer_is_lost_is_posted_and_paid_once")),
    Fault("stop_alert_ignored", "a stop check-in or check-out alert is not looked for before the step",
          (edit("app/tools/front_desk.py", "        stop = next((a for a in alerts if a.stops), None)\n",
                "        stop = None\n"),),
          ("tests/e2e/test_alerts.py::test_a_stop_check_in_alert_refuses_before_any_room_is_assigned_until_the_desk_lifts_it",
           "tests/e2e/test_alerts.py::test_check_out_shows_its_alerts_in_the_question_and_a_stop_alert_holds_it")),
    Fault("do_not_move_lifted", "assign_room sends roomNumberLocked false, lifting the desk's Do Not Move",
          (edit("app/tools/front_desk.py", "lock = reservation.room_locked if do_not_move is None else do_not_move",
                "lock = bool(do_not_move)"),),
          ("tests/e2e/test_do_not_move.py::test_assigning_the_locked_room_again_keeps_the_desks_lock",)),
    Fault("do_not_move_not_refused", "a stay locked to its room is given another room without a word",
          (edit("app/tools/front_desk.py", "        if not reservation.room_locked or not own or room_id == own:\n",
                "        if True:\n"),),
          ("tests/e2e/test_do_not_move.py::test_another_room_is_refused_before_opera_is_asked_and_check_in_keeps_the_locked_room",)),
    Fault("do_not_move_unread", "the client does not read roomNumberLocked from getReservation",
          (edit("app/opera/reservations.py", "room_locked=stay.get(\"roomNumberLocked\") is True or any(",
                "room_locked=False and any("),),
          ("tests/e2e/test_do_not_move.py::test_a_room_type_change_of_a_locked_stay_is_refused_before_opera_is_asked",)),
    Fault("sandbox_lock_ignored", "the sandbox moves a stay off the room locked to it",
          (edit("app/sandbox/state.py",
                "if reservation.room_locked and reservation.room_id not in (None, room_id) and not override_lock:",
                "if False:"),),
          ("tests/sandbox/test_fof.py::test_a_room_locked_to_a_stay_stays_with_it_unless_overridden",)),
    Fault("sandbox_lock_flag_ignored", "the sandbox's postRoomAssignment never updates the Do Not Move flag",
          (edit("app/sandbox/state.py", "        elif lock is not None:\n            reservation.room_locked = lock\n",
                ""),),
          ("tests/sandbox/test_fof.py::test_sending_the_lock_false_lifts_it",)),
    Fault("room_condition_offered", "find_available_rooms and the check-in picker offer a room the hotel set aside",
          (edit("app/tools/front_desk.py", "if room.condition is not None and not room.condition.available:",
                "if False:"),),
          ("tests/e2e/test_room_conditions.py::test_check_in_never_picks_a_room_set_aside",)),
    Fault("room_conditions_not_all_asked", "getHotelRooms is asked without includeAllRoomConditions",
          (edit("app/opera/front_office.py", '"includeAllRoomConditions": True,',
                '"includeAllRoomConditions": None,'),),
          ("tests/e2e/test_room_conditions.py::test_a_room_set_aside_is_still_given_when_named_with_the_condition_as_a_warning",)),
    Fault("room_condition_unread", "the client does not read a room's condition",
          (edit("app/opera/front_office.py", "        condition=condition_from(housekeeping),\n",
                "        condition=None,\n"),),
          ("tests/e2e/test_room_conditions.py::test_a_room_set_aside_is_not_offered_and_a_noted_one_is_offered_with_its_note",)),
    Fault("sandbox_condition_shown_anyway", "the sandbox's getHotelRooms lists a Not Available room by default",
          (edit("app/sandbox/routes/fof.py",
                "checks.append(lambda room, day: room.condition is None or room.condition.code.available)",
                "pass"),),
          ("tests/sandbox/test_hsk.py::test_a_room_condition_not_available_leaves_the_room_out_of_the_room_search",)),
    Fault("sandbox_condition_on_occupied",
          "the sandbox sets a condition on an occupied room without includeOccupiedRooms",
          (edit("app/sandbox/state.py", "if occupied and not include_occupied:", "if False:"),),
          ("tests/sandbox/test_hsk.py::test_a_room_condition_is_refused_unless_configured_or_on_an_occupied_room_unless_asked",)),
    Fault("stay_date_unsent", "list_arrivals/list_departures of another day do not send stayDate",
          (edit("app/tools/front_desk.py", "search_type=listing.search_type, stay_date=day,",
                "search_type=listing.search_type, stay_date=None,"),),
          ("tests/e2e/test_tools_front_desk.py::test_arrivals_and_departures_of_another_day_are_that_days",)),
    Fault("sandbox_stay_date_ignored", "the sandbox applies a search type on the business date whatever stayDate says",
          (edit("app/sandbox/routes/rsv.py", 'stay_date = as_date(query_value(request, "stayDate"), "stayDate") or bd',
                'stay_date = bd'),),
          ("tests/sandbox/test_reservations.py::test_a_search_type_applies_on_its_stay_date",)),
    Fault("alerts_dropped", "OPERA's check-in alerts are read but not handed to the agent",
          (edit("app/tools/front_desk.py", "departure=reservation.departure, alerts=alerts,",
                "departure=reservation.departure, alerts=[],"),),
          ("tests/e2e/test_alerts.py::test_check_in_hands_the_agent_operas_check_in_alerts",)),
    Fault("amounts_in_cents", "every amount sent to OPERA is rounded to cents, a Kuwaiti hotel's fils included",
          (edit("app/opera/cashiering.py", '{"amount": round_money(amount, currency)}',
                '{"amount": round(amount, 2)}'),),
          ("tests/e2e/test_currency_decimals.py::test_a_kuwaiti_folio_is_charged_shown_and_settled_to_the_fils",
           "tests/unit/test_money.py::test_a_price_goes_to_opera_in_its_currencys_decimals")),
    Fault("finer_amount_rounded", "an amount finer than its currency (12.345 USD) is rounded and posted",
          (edit("app/tools/billing.py", "    if excess_decimals(amount, currency):\n", "    if False:\n"),),
          ("tests/e2e/test_currency_decimals.py::test_an_amount_finer_than_the_currency_is_refused_and_nothing_is_posted",)),
    Fault("folio_first_page_only", "a folio's further pages of postings are not read (hasMore ignored)",
          (edit("app/opera/cashiering.py", "while window.more_postings and pages < FOLIO_PAGES:", "while False:"),),
          ("tests/e2e/test_exactly_once.py::test_a_lost_charge_on_a_folio_longer_than_a_page_is_posted_once",)),
    Fault("folio_short_read_trusted", "a folio OPERA kept postings back from is searched as if complete",
          (edit("app/tools/billing.py", "short = [w.window for w in folio.windows if w.more_postings]",
                "short: list[int] = []"),),
          ("tests/e2e/test_exactly_once.py::test_a_charge_repeat_on_a_folio_opera_cut_short_is_refused_not_reposted",)),
    Fault("ext_id_matches_any", "the sandbox's getReservationByExtId answers with a booking that lacks the reference",
          (edit("app/sandbox/state.py", "if has_external_reference(r.external_references, {external_id}, {code})",
                "if r.external_references or True"),),
          ("tests/e2e/test_exactly_once.py::test_a_first_use_of_a_key_is_booked_even_where_a_search_would_answer_with_another_guest",)),
    Fault("profile_ext_id_matches_any", "the sandbox's getProfileByExtId answers with a profile lacking the reference",
          (edit("app/sandbox/state.py",
                "p for p in self.profiles.values() if has_external_reference(p.external_references, {external_id}, "
                "{system})",
                "p for p in self.profiles.values()"),),
          ("tests/e2e/test_exactly_once.py::test_a_first_use_of_a_key_creates_the_guest_even_where_a_search_would_answer_with_another",)),
    Fault("ext_id_not_found_404", "the sandbox answers an unknown external id 404 instead of Oracle's 204",
          (edit("app/sandbox/routes/rsv.py",
                "ReservationByExtId not found.\"\n            return Response(status_code=204)",
                "ReservationByExtId not found.\"\n            return Response(status_code=404)"),),
          ("tests/sandbox/test_external_references.py::test_get_reservation_by_ext_id_answers_like_get_reservation",)),
    Fault("deposit_repeat_blind", "a deposit repeated after a lost answer does not look on the deposit ledger",
          (edit("app/tools/billing.py", 'mine = [p for p in ledger if p.reference and f"[{reference}]" in p.reference]',
                "mine: list[Posting] = []"),),
          ("tests/e2e/test_deposits.py::test_a_deposit_whose_answer_is_lost_is_taken_once_and_the_repeat_returns_it",)),
    Fault("deposit_not_stamped", "a deposit is posted without the reference a repeat finds it by",
          (edit("app/tools/billing.py", "reference=stamped(reference_text), card=card,",
                "reference=reference_text, card=card,"),),
          ("tests/e2e/test_deposits.py::test_a_deposit_whose_answer_is_lost_is_taken_once_and_the_repeat_returns_it",)),
    Fault("deposit_any_status", "post_deposit sends a deposit for a guest in house or a cancelled stay",
          (edit("app/tools/billing.py", "if record.status not in DEPOSIT_STATUSES:", "if False:"),),
          ("tests/e2e/test_deposits.py::test_deposits_are_refused_where_opera_takes_none_before_anything_is_sent",)),
    Fault("deposit_unconfirmed", "a deposit is taken without a human's confirmation",
          (edit("app/security/confirm.py", '"post_payment", "post_deposit", "refund_deposit"})',
                '"post_payment", "refund_deposit"})'),),
          ("tests/e2e/test_deposits.py::test_a_deposit_is_confirmed_by_a_human_who_is_told_what_it_takes",)),
    Fault("deposit_retry_advice_generic", "a deposit of unknown outcome gets the generic advice, not list_deposits",
          (edit("app/opera/http.py", '    "postDepositPayment": "list_deposits',
                '    "postDepositPaymentX": "list_deposits'),),
          ("tests/e2e/test_deposits.py::test_a_deposit_without_a_key_whose_answer_is_lost_says_what_to_check",)),
    Fault("deposit_paid_unread", "get_reservation does not read OPERA's totalDepositPaid",
          (edit("app/opera/reservations.py", 'deposit_paid=money_from_amount(totals.get("totalDepositPaid")),',
                "deposit_paid=None,"),),
          ("tests/e2e/test_deposits.py::test_a_deposit_matures_at_check_in_and_check_out_takes_only_the_rest",
           "tests/e2e/test_deposits.py::test_a_cancellation_says_the_deposit_it_does_not_refund")),
    Fault("cancel_silent_on_deposit", "cancel_reservation does not say the deposit it leaves unrefunded",
          (edit("app/tools/reservations.py",
                "held = record.deposit_paid if record.deposit_paid and record.deposit_paid.amount > 0 else None",
                "held = None"),),
          ("tests/e2e/test_deposits.py::test_a_cancellation_says_the_deposit_it_does_not_refund",)),
    Fault("sandbox_deposit_never_matures", "the sandbox leaves deposits off the folio at check-in",
          (edit("app/sandbox/state.py", "window.postings.extend(reservation.deposits)", "window.postings.extend([])"),),
          ("tests/sandbox/test_deposits.py::test_the_deposit_matures_at_check_in_and_counts_against_the_bill",
           "tests/e2e/test_deposits.py::test_a_deposit_matures_at_check_in_and_check_out_takes_only_the_rest")),
    Fault("sandbox_deposit_in_house", "the sandbox takes a deposit from a guest in house",
          (edit("app/sandbox/state.py", 'hotel._refuse_unless(reservation, ("Reserved", "DueIn"), "take a deposit")',
                'hotel._refuse_unless(reservation, ("Reserved", "DueIn", "InHouse"), "take a deposit")'),),
          ("tests/sandbox/test_deposits.py::test_the_deposit_matures_at_check_in_and_counts_against_the_bill",)),
    Fault("sandbox_refund_unbounded", "the sandbox refunds more deposit than was paid",
          (edit("app/sandbox/state.py", "if amount < 0 and money(-amount, hotel.currency) > reservation.deposit_paid:",
                "if False:"),),
          ("tests/sandbox/test_deposits.py::test_a_refund_is_a_negative_deposit_with_a_reference_never_more_than_was_paid",)),
    Fault("deposit_request_not_named", "post_deposit leaves the deposit unallocated (no depositPolicyId)",
          (edit("app/opera/cashiering.py", 'criteria["depositPolicyId"] = {"id": policy_id, "type": "Policy"}',
                "pass"),),
          ("tests/e2e/test_deposits.py::test_a_deposit_request_is_shown_and_taken_in_full_by_default_applied_to_it",)),
    Fault("deposit_request_not_fetched", "getReservation is read without the ReservationPolicies fetch instruction",
          (edit("app/opera/reservations.py", '"RevenuesAndBalances", "ReservationPolicies")',
                '"RevenuesAndBalances")'),),
          ("tests/e2e/test_deposits.py::test_a_deposit_request_is_shown_and_taken_in_full_by_default_applied_to_it",)),
    Fault("sandbox_policies_unasked", "the sandbox sends reservationPolicies without the fetch instruction",
          (edit("app/sandbox/routes/rsv.py",
                'if "ReservationPolicies" in request.query_params.getlist("fetchInstructions"):', "if True:"),),
          ("tests/sandbox/test_deposits.py::test_a_rate_code_with_a_deposit_rule_gives_the_booking_a_deposit_request",)),
    Fault("sandbox_unallocated_applied", "the sandbox applies a deposit that names no request to the request",
          (edit("app/sandbox/state.py", "posting.deposit_policy_id = policy_id",
                "posting.deposit_policy_id = request.policy_id if request else None"),),
          ("tests/sandbox/test_deposits.py::test_a_deposit_applies_to_the_request_only_when_it_names_it",)),
    Fault("sandbox_no_deposit_rule", "the sandbox books a rate code with a deposit rule without a deposit request",
          (edit("app/sandbox/state.py", "        self._apply_deposit_rule(hotel, reservation, plan)\n", ""),),
          ("tests/sandbox/test_deposits.py::test_a_rate_code_with_a_deposit_rule_gives_the_booking_a_deposit_request",)),
    Fault("maintenance_repeat_blind", "a maintenance report repeated after a lost answer does not look for its stamp",
          (edit("app/tools/maintenance.py",
                'mine = [r for r in found if r.room_id in rooms and r.remarks and f"[{reference}]" in r.remarks]',
                "mine: list[MaintenanceRequest] = []"),),
          ("tests/e2e/test_maintenance.py::test_a_report_whose_answer_is_lost_is_made_once",)),
    Fault("maintenance_not_stamped", "a maintenance request is reported without the reference a repeat finds it by",
          (edit("app/tools/maintenance.py", 'note = services.stamped(refuse_card_numbers("remarks", remarks, 500))',
                'note = refuse_card_numbers("remarks", remarks, 500)'),),
          ("tests/e2e/test_maintenance.py::test_a_report_whose_answer_is_lost_is_made_once",)),
    Fault("maintenance_code_unchecked", "report_maintenance sends a code the hotel does not have",
          (edit("app/tools/maintenance.py", "        await refuse_unknown_code(hotel, code)\n", ""),),
          ("tests/e2e/test_maintenance.py::test_an_unknown_code_or_a_card_number_is_refused_before_opera_is_asked",)),
    Fault("maintenance_resolved_again", "resolve_maintenance sends a resolve for a request already resolved",
          (edit("app/tools/maintenance.py", "if request.resolved:", "if False:"),),
          ("tests/e2e/test_maintenance.py::test_a_problem_is_reported_listed_and_resolved_once",)),
    Fault("maintenance_retry_advice_generic", "a maintenance report of unknown outcome gets the generic advice",
          (edit("app/opera/http.py", '    "postRoomMaintenance": "list_maintenance',
                '    "postRoomMaintenanceX": "list_maintenance'),),
          ("tests/e2e/test_maintenance.py::test_a_report_without_a_key_whose_answer_is_lost_says_what_to_check",)),
    Fault("sandbox_maintenance_status_ignored", "the sandbox lists resolved maintenance requests as open",
          (edit("app/sandbox/routes/hsk.py",
                'and (status == "All" or (status == "Resolved") == (m.resolved_at is not None))', "and True"),),
          ("tests/sandbox/test_maintenance.py::test_a_request_per_room_is_listed_until_resolved",)),
    Fault('guest_request_lost_answer_unread', 'open_guest_request does not look for the request after a lost answer',
          (edit('app/tools/guest_requests.py', '                made = None\n            if made is None:\n',
                '                made = None\n            made = None\n            if made is None:\n'),),
          ('tests/e2e/test_guest_requests.py::'
           'test_a_request_whose_answer_is_lost_is_opened_once_with_or_without_a_key',)),
    Fault('guest_request_before_ignored', 'an earlier request of the same code and comment passes for the new one',
          (edit('app/tools/guest_requests.py', 'await api.requests(hotel, reservation_id=reservation_id)}',
                'await api.requests(hotel, reservation_id="none")}'),),
          ('tests/e2e/test_guest_requests.py::'
           'test_a_lost_answer_when_opera_made_nothing_says_what_to_check',)),
    Fault('guest_request_not_stamped', 'a keyed guest request is opened without the reference a repeat finds it by',
          (edit('app/tools/guest_requests.py', 'text = services.stamped(',
                'text = (lambda t: t)('),),
          ('tests/e2e/test_guest_requests.py::'
           'test_a_key_a_second_server_never_saw_finds_the_request_in_opera',)),
    Fault('guest_request_code_unchecked', 'open_guest_request sends a code the hotel does not have',
          (edit('app/tools/guest_requests.py',
                '        await refuse_unknown(hotel, "ServiceRequestCodes", "code", wanted)\n', ''),),
          ('tests/e2e/test_guest_requests.py::'
           'test_unknown_codes_closed_stays_and_card_numbers_are_refused_before_opera_is_asked',)),
    Fault('guest_request_closed_stay', 'open_guest_request opens a request on a checked-out stay',
          (edit('app/tools/guest_requests.py', '        if record.status in CLOSED_STATUSES:\n',
                '        if False:\n'),),
          ('tests/e2e/test_guest_requests.py::'
           'test_unknown_codes_closed_stays_and_card_numbers_are_refused_before_opera_is_asked',)),
    Fault('guest_request_completed_again', 'complete_guest_request sends a PUT for a request already completed',
          (edit('app/tools/guest_requests.py', 'if stage(request.status) >= stage("PendingFollowUp"):',
                'if False:'),),
          ('tests/e2e/test_guest_requests.py::'
           'test_a_request_is_opened_completed_followed_up_and_closed_once',)),
    Fault('guest_request_closed_again', 'close_guest_request sends a PUT for a request already closed',
          (edit('app/tools/guest_requests.py', '        if request.status == "Closed":\n',
                '        if False:\n'),),
          ('tests/e2e/test_guest_requests.py::'
           'test_a_request_is_opened_completed_followed_up_and_closed_once',)),
    Fault('guest_request_close_without_action', 'close_guest_request sends an open request without the action taken',
          (edit('app/tools/guest_requests.py', 'if not (action or request.action):',
                'if False:'),),
          ('tests/e2e/test_guest_requests.py::'
           'test_closing_an_open_request_needs_what_was_done',)),
    Fault('guest_request_retry_advice_generic', 'a guest request of unknown outcome gets the generic advice',
          (edit('app/security/tool_guard.py', '    "open_guest_request": "list_guest_requests',
                '    "open_guest_requestX": "list_guest_requests'),),
          ('tests/e2e/test_tool_surface.py',)),
    Fault('sandbox_request_department_fixed', 'the sandbox sends every request without a department to housekeeping',
          (edit('app/sandbox/state.py', 'unit = (department or chosen.department).strip().upper()',
                'unit = (department or "HSK").strip().upper()'),),
          ('tests/sandbox/test_service_requests.py::'
           'test_a_request_takes_the_stay_guest_and_the_code_department_when_not_named',)),
    Fault('sandbox_request_retired_code', 'the sandbox takes a retired service request code',
          (edit('app/sandbox/state.py', 'if chosen is None or not chosen.active:',
                'if chosen is None:'),),
          ('tests/sandbox/test_service_requests.py::'
           'test_refused_requests_are_specific_and_record_nothing',)),
    Fault('sandbox_request_done_without_action', 'the sandbox completes a request without the action taken',
          (edit('app/sandbox/state.py', 'if status in ("PendingFollowUp", "Closed") and not action:',
                'if False:'),),
          ('tests/sandbox/test_service_requests.py::'
           'test_completing_needs_the_action_and_closing_the_follow_up',)),
    Fault('sandbox_request_status_unfiltered', 'the sandbox lists requests of every status whatever is asked',
          (edit('app/sandbox/routes/fof.py', 'and (not statuses or r.status in statuses)',
                'and True'),),
          ('tests/sandbox/test_service_requests.py::'
           'test_oracle_workflow_opens_lists_and_closes_a_request',)),
    Fault("refund_repeat_blind", "a refund whose answer is lost is reported failed although OPERA made it",
          (edit("app/tools/deposits.py", "refund = ours(await cashiering.deposits(hotel, reservation_id), reference, "
                "plan.take, before)", "refund = []"),),
          ("tests/e2e/test_deposit_refunds.py::test_a_refund_whose_answer_is_lost_is_made_once_with_or_without_a_key",)),
    Fault("refund_not_stamped", "a keyed refund is posted without the reference a repeat finds it by",
          (edit("app/tools/deposits.py", 'reference = services.stamped(f"{refund_tag(plan.number)}: {why}") or ""',
                'reference = f"{refund_tag(plan.number)}: {why}"'),),
          ("tests/e2e/test_deposit_refunds.py::test_a_key_a_second_server_never_saw_finds_the_refund_in_opera",)),
    Fault("refund_any_earlier_counts", "after a lost answer an earlier refund of that amount passes for the new one",
          (edit("app/tools/deposits.py", "return [p for p in ledger if p.transaction_no not in before and p.amount",
                "return [p for p in ledger if p.amount"),),
          ("tests/e2e/test_deposit_refunds.py::test_a_lost_answer_when_opera_refunded_nothing_says_what_to_check",)),
    Fault("refund_unbounded", "refund_deposit takes more than is left of the deposit",
          (edit("app/tools/deposits.py", "if left <= 0 or take > left:", "if left <= 0:"),),
          ("tests/e2e/test_deposit_refunds.py::test_a_cancelled_booking_is_refunded_in_parts_never_beyond_its_deposit",
           "tests/e2e/test_deposit_refunds.py::test_refunds_are_refused_before_opera_is_asked_where_there_is_nothing_to_refund")),
    Fault("refund_ignores_opera_eligibility", "refund_deposit posts although OPERA says the deposit cannot be refunded",
          (edit("app/tools/deposits.py", "        if valid is False:\n", "        if valid is None and False:\n"),),
          ("tests/e2e/test_deposit_refunds.py::test_a_refund_made_at_the_desk_counts_through_operas_own_check",)),
    Fault("refund_unconfirmed", "a refund is made without a human's confirmation",
          (edit("app/security/confirm.py", '"post_deposit", "refund_deposit"})', '"post_deposit"})'),),
          ("tests/e2e/test_deposit_refunds.py::test_a_cancelled_booking_is_refunded_in_parts_never_beyond_its_deposit",)),
    Fault("refund_not_to_the_card", "a card deposit is refunded without naming the card that paid it",
          (edit("app/tools/deposits.py", "        if original.card_id:\n            try:",
                "        if original.card_id and False:\n            try:"),),
          ("tests/e2e/test_deposit_refunds.py::test_a_card_deposit_goes_back_to_the_card_that_paid_it",)),
    Fault("refund_unlinked", "a refund does not name the deposit payment it pays back (originalTransactionNo)",
          (edit("app/opera/cashiering.py", 'criteria["originalTransactionNo"] = original_transaction_no', "pass"),),
          ("tests/e2e/test_deposit_refunds.py::test_a_cancelled_booking_is_refunded_in_parts_never_beyond_its_deposit",)),
    Fault("refund_in_house", "refund_deposit sends a refund for a guest whose deposit is on the folio",
          (edit("app/tools/deposits.py", 'REFUND_STATUSES = frozenset({"Reserved", "DueIn", "Cancelled", "NoShow"})',
                'REFUND_STATUSES = frozenset({"Reserved", "DueIn", "Cancelled", "NoShow", "InHouse"})'),),
          ("tests/e2e/test_deposit_refunds.py::test_refunds_are_refused_before_opera_is_asked_where_there_is_nothing_to_refund",)),
    Fault("sandbox_refund_not_after_cancel", "the sandbox refuses a refund on a cancelled booking",
          (edit("app/sandbox/state.py", 'DEPOSIT_REFUND_STATUSES = ("Reserved", "DueIn", "Cancelled", "NoShow")',
                'DEPOSIT_REFUND_STATUSES = ("Reserved", "DueIn")'),),
          ("tests/sandbox/test_deposits.py::test_a_cancelled_booking_has_its_deposit_refunded_but_takes_no_new_one",
           "tests/sandbox/test_deposits.py::test_a_no_show_has_its_deposit_refunded")),
    Fault("sandbox_refund_beyond_payment", "the sandbox refunds more of a named payment than is left of it",
          (edit("app/sandbox/state.py", "if money(-amount, hotel.currency) > left:", "if False:"),),
          ("tests/sandbox/test_deposits.py::test_a_refund_of_a_named_payment_goes_back_its_way_and_never_beyond_it",)),
    Fault("sandbox_refund_any_method", "the sandbox refunds a named payment by another method",
          (edit("app/sandbox/state.py",
                "if method.code != original.payment_method or (original.card_id and card_id != original.card_id):",
                "if False:"),),
          ("tests/sandbox/test_deposits.py::test_a_refund_of_a_named_payment_goes_back_its_way_and_never_beyond_it",)),
    Fault("sandbox_refund_always_eligible", "the sandbox says every deposit payment can be refunded",
          (edit("app/sandbox/routes/csh.py", 'body: dict[str, Any] = {"isDepositRefundValid": why_not is None}',
                'body: dict[str, Any] = {"isDepositRefundValid": True}'),),
          ("tests/sandbox/test_deposits.py::test_refund_eligibility_says_whether_a_deposit_payment_can_still_be_refunded",)),
    Fault("cancel_no_refund_step", "a cancellation that leaves a deposit does not name refund_deposit",
          (edit("app/tools/reservations.py",
                '("; refund_deposit pays it back once the booking is cancelled" if refund_tool',
                '("" if refund_tool'),),
          ("tests/e2e/test_deposits.py::test_a_cancellation_says_the_deposit_it_does_not_refund",)),
)


def copy_tree(scratch: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", "node_modules")
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, scratch / name, ignore=ignore)
        elif source.exists():
            shutil.copy2(source, scratch / name)


def environment(scratch: Path) -> dict[str, str]:
    env = dict(os.environ)
    # The scratch copy first: the project's editable install would otherwise import the real app/.
    env["PYTHONPATH"] = str(scratch) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("PYTEST_ADDOPTS", None)
    return env


def check_imports_from(scratch: Path) -> None:
    found = subprocess.run([sys.executable, "-c", "import app, tests; print(app.__file__)"], cwd=scratch,
                           env=environment(scratch), capture_output=True, text=True, check=True).stdout.strip()
    if not Path(found).resolve().is_relative_to(scratch.resolve()):
        sys.exit(f"seeded_faults: `import app` resolves to {found}, not the scratch copy; refusing to run")


def run_tests(scratch: Path, tests: tuple[str, ...]) -> tuple[str, float, list[str], str]:
    """(verdict, seconds, failed test ids, last output lines): verdict is pass, fail or timeout."""
    command = [sys.executable, "-m", "pytest", *tests, "-x", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
               "-rf", "--timeout", "300"]
    started = time.monotonic()
    try:
        done = subprocess.run(  # noqa: S603 - our own interpreter running our own test ids
            command, cwd=scratch, env=environment(scratch), capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return "timeout", time.monotonic() - started, [], ""
    seconds = time.monotonic() - started
    lines = done.stdout.splitlines()
    # pytest's short summary ("FAILED tests/x.py::test_y - why"); log lines that start with ERROR are not tests.
    failed = [line.split(" ", 2)[1] for line in lines
              if line.startswith(("FAILED ", "ERROR ")) and "::" in line.split(" ", 2)[1]]
    tail = "\n".join(lines[-3:])
    if done.returncode == 0:
        return "pass", seconds, [], tail
    if done.returncode in (4, 5):  # usage error or no tests collected: the fault table names tests that are gone
        sys.exit(f"seeded_faults: pytest could not run {' '.join(tests)}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return "fail", seconds, failed, tail


def apply(scratch: Path, fault: Fault) -> dict[Path, str]:
    """Apply the fault's edits to the copy; returns the original texts. Exits when a search text is not unique."""
    originals: dict[Path, str] = {}
    for change in fault.edits:
        target = scratch / change.path
        text = target.read_text()
        originals.setdefault(target, text)
        count = text.count(change.search)
        if count != 1:
            for path, original in originals.items():
                path.write_text(original)
            sys.exit(f"seeded_faults: fault {fault.name}: the search text occurs {count} times in {change.path} "
                     f"(expected exactly once); update the fault to the code as it is now:\n  {change.search!r}")
        target.write_text(text.replace(change.search, change.replace))
    return originals


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", default=[], help="run only this fault (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the faults and their tests, run nothing")
    parser.add_argument("--no-baseline", action="store_true", help="skip the unfaulted run of all the tests")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    options = parser.parse_args()
    names = {f.name for f in FAULTS}
    unknown = [n for n in options.only if n not in names]
    if unknown:
        parser.error(f"unknown fault {', '.join(unknown)}; the faults are: {', '.join(sorted(names))}")
    chosen = [f for f in FAULTS if not options.only or f.name in options.only]
    if options.list:
        for fault in chosen:
            print(f"{fault.name}: {fault.what}")
            for test in fault.tests:
                print(f"    {test}")
        return 0

    scratch = Path(tempfile.mkdtemp(prefix="seeded-faults-"))
    try:
        copy_tree(scratch)
        check_imports_from(scratch)
        for fault in chosen:  # every search text is checked before anything runs
            for path, original in apply(scratch, fault).items():
                path.write_text(original)
        if not options.no_baseline:
            everything = tuple(dict.fromkeys(t for f in chosen for t in f.tests))
            verdict, seconds, failed, tail = run_tests(scratch, everything)
            print(f"baseline: {len(everything)} tests, {verdict} in {seconds:.0f} s", flush=True)
            if verdict != "pass":
                print(f"seeded_faults: the tests fail without any fault ({', '.join(failed) or tail}); fix them first")
                return 2
        outcomes: list[Outcome] = []
        for fault in chosen:
            originals = apply(scratch, fault)
            try:
                verdict, seconds, failed, tail = run_tests(scratch, fault.tests)
            finally:
                for path, original in originals.items():
                    path.write_text(original)
            result = {"fail": "caught", "pass": "survived", "timeout": "caught (timeout)"}[verdict]
            outcome = Outcome(fault, result, seconds, tail, failed)
            outcomes.append(outcome)
            print(f"{fault.name:32} {result:16} {seconds:6.1f} s  {failed[0] if failed else ''}", flush=True)
        print()
        print("| Seeded fault | Result | Caught by |")
        print("|---|---|---|")
        for o in outcomes:
            by = ", ".join(f"`{t.split('::')[-1]}`" for t in o.failed) or ("-" if o.verdict == "survived" else "hang")
            print(f"| {o.fault.what} | {o.verdict} | {by} |")
        survived = [o.fault.name for o in outcomes if o.verdict == "survived"]
        print(f"\n{len(outcomes) - len(survived)} of {len(outcomes)} faults caught"
              + (f"; survived: {', '.join(survived)}" if survived else ""))
        return 1 if survived else 0
    finally:
        if options.keep:
            print(f"scratch copy kept at {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
