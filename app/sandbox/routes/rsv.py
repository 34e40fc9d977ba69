"""Sandbox routes for OHIP reservations (rsv): search, read, create, change, cancel and reinstate.

`reservation_body` renders the full `hotelReservationType` (also used by fof check-in answers); `search_row`
renders the flat `reservationInfoType` of getHotelReservations.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import date
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from app.sandbox.routes.common import (
    absolute_url,
    as_bool,
    as_date,
    as_enum,
    as_int,
    as_list,
    as_object,
    as_text,
    bad_input,
    created,
    external_references_body,
    external_references_input,
    find_id,
    hotel_of,
    id_entry,
    money_body,
    nightly_rates,
    ohip_json,
    page_params,
    paged,
    query_value,
    query_values,
    read_json,
    tax_inclusive_amount,
)
from app.sandbox.state import (
    ALERT_AREAS,
    Alert,
    BookingRequest,
    Enterprise,
    GuestMessage,
    Hotel,
    Reservation,
    ReservationChange,
    SandboxError,
    has_external_reference,
    nights_between,
)

if TYPE_CHECKING:
    from app.sandbox.app import Sandbox

BASE = "/rsv/v1"
#: getGuestMessages: "The maximum allowable limit for this API is 100".
MAX_GUEST_MESSAGES = 100
#: rsv's own limits on a reservation's external references (tighter than the shared type's 80).
EXTERNAL_ID_MAX = 50
EXTERNAL_SYSTEM_MAX = 20
#: getHotelReservations' spec default for `externalSystemCodes`.
DEFAULT_EXTERNAL_SYSTEM = "External"
#: Most external systems a `*ExternalReferencesToFetch` parameter may name (the spec's maxItems).
MAX_REFERENCES_TO_FETCH = 10
#: The most rooms the sandbox books on one reservation (a rate line's numberOfUnits).
MAX_ROOMS_PER_RESERVATION = 20
SEARCH_TYPES = ("Any", "Arrival", "Arrived", "Departure", "InHouse", "CheckedOut", "Cancellation", "NoShow")
STATUS_FILTERS = ("DueIn", "DueOut", "InHouse", "CheckedIn", "CheckedOut", "Cancelled", "NoShow", "WaitList")


def alert_body(alert: Alert) -> dict[str, Any]:
    """One rsv `alertType`."""
    return {"id": alert.alert_id, "type": "Alert", "code": alert.code, "area": alert.area,
            "description": alert.description, "global": False, "screenNotification": True,
            "printerNotification": False, "stopCheckInCheckOut": alert.stop}


def reservation_path(hotel_id: str, reservation_id: str) -> str:
    return f"{BASE}/hotels/{hotel_id}/reservations/{reservation_id}"


# ---------------------------------------------------------------------------------------------------- shapes


def fetched(request: Request, enterprise: Enterprise, hotel: Hotel, res: Reservation) -> dict[str, Any]:
    """getReservation's record; its `reservationPolicies` only with the ReservationPolicies fetch instruction, as
    Oracle's getReservation lists them (the rest of the record comes whatever is asked, a leniency)."""
    body = reservation_body(enterprise, hotel, res)
    if "ReservationPolicies" in request.query_params.getlist("fetchInstructions"):
        body["reservationPolicies"] = policies_body(res)
    return body


def policies_body(res: Reservation) -> dict[str, Any]:
    """rsv reservationPoliciesType: the deposit request (resDepositPolicyType) with what is paid against it and what
    is still due."""
    request = res.deposit_request
    if request is None:
        return {"reservationIdList": _ids(res)}
    return {
        "reservationIdList": _ids(res),
        "depositPolicies": [{
            "revenueType": "Rooms",
            "policy": {
                "policyCode": request.code,
                "description": request.description,
                "amountPercent": {"basisType": "Percentage", "percent": request.percent,
                                  "amount": res.deposit_required, "currencyCode": res.currency},
                "deadline": {"absoluteDeadline": f"{request.deadline.isoformat()}T23:59:00"},
                "typeOfCharges": "Rooms",
            },
            "amountPaid": money_body(res.deposit_applied, res.currency),
            "amountDue": money_body(res.deposit_due, res.currency),
            "policyId": {"id": request.policy_id, "type": "Policy"},
        }],
    }


def deposit_held(res: Reservation) -> dict[str, Any]:
    """cancelReservationType.deposit (reservationDepositType) when the reservation holds deposit payments: a
    cancellation keeps them on the reservation, to be refunded or kept by the hotel's cancellation policy."""
    if not res.deposits:
        return {}
    return {"deposit": {"amountPaid": res.deposit_paid, "hasPaid": res.deposit_paid > 0}}


def _ids(res: Reservation) -> list[dict[str, str]]:
    ids = [id_entry(res.reservation_id, "Reservation"), id_entry(res.confirmation_number, "Confirmation")]
    if res.cancellation_number:
        ids.append(id_entry(res.cancellation_number, "Cancellation"))
    return ids


def reservation_body(enterprise: Enterprise, hotel: Hotel, res: Reservation) -> dict[str, Any]:
    """The full `hotelReservationType` of one reservation."""
    profile = enterprise.profiles.get(res.profile_id)
    guest_counts = {"adults": res.adults, "children": res.children}
    rate_line: dict[str, Any] = {
        "roomType": res.room_type,
        "roomTypeCharged": res.room_type,
        "ratePlanCode": res.rate_plan,
        "start": res.arrival.isoformat(),
        "end": res.departure.isoformat(),
        "rates": nightly_rates(
            ((night, res.rate_on(night)) for night in nights_between(res.arrival, res.departure)), res.currency
        ),
        "total": tax_inclusive_amount(res.total, res.currency),
        "guestCounts": guest_counts,
        "numberOfUnits": res.rooms,
    }
    if res.market_code:
        rate_line["marketCode"] = res.market_code
    if res.source_code:
        rate_line["sourceCode"] = res.source_code
    if res.room_id:
        rate_line["roomId"] = res.room_id
    room_stay: dict[str, Any] = {
        "arrivalDate": res.arrival.isoformat(),
        "departureDate": res.departure.isoformat(),
        "guestCounts": guest_counts,
        "roomRates": [rate_line],
        "guarantee": {"guaranteeCode": res.guarantee_code},
        "total": tax_inclusive_amount(res.total, res.currency),
    }
    if res.room_id:
        room_stay["currentRoomInfo"] = {"roomId": res.room_id, "roomType": res.room_type}
        room_stay["roomNumberLocked"] = res.room_locked
    guest: dict[str, Any] = {"profileIdList": [id_entry(res.profile_id, "Profile")]}
    if profile is not None:
        guest["profile"] = {
            "customer": {
                "personName": [{"givenName": profile.given_name, "surname": profile.surname, "nameType": "Primary"}],
                "language": profile.language,
                **({"vipStatus": profile.vip_status} if profile.vip_status else {}),
            },
            "profileType": profile.profile_type,
        }
    body: dict[str, Any] = {"reservationIdList": _ids(res)}
    if res.external_references:
        body["externalReferences"] = external_references_body(res.external_references)
    body |= {
        "hotelId": hotel.code,
        "reservationStatus": res.status,
        "computedReservationStatus": res.computed_status(hotel.business_date),
        "roomStay": room_stay,
        "reservationGuests": [{"profileInfo": guest, "primary": True}],
        "createDateTime": res.created.isoformat(timespec="seconds"),
    }
    if res.payment_method:
        body["reservationPaymentMethods"] = payment_methods_body(res)
    # rsv hotelReservationType.cashiering (resCashieringType): the balance getReservation returns with the
    # RevenuesAndBalances fetch instruction, the folio windows' balance (0 before check-in).
    windows = res.folio_windows.values()
    body["cashiering"] = {
        "revenuesAndBalances": {
            "totalRevenue": money_body(sum(w.revenue for w in windows), res.currency),
            "totalPayment": money_body(sum(w.payments for w in windows), res.currency),
            "balance": money_body(res.balance, res.currency),
        }
    }
    if res.deposits:
        body["cashiering"]["revenuesAndBalances"]["totalDepositPaid"] = money_body(res.deposit_paid, res.currency)
    if res.comments:
        body["comments"] = [
            {"comment": {"text": {"value": c.text}, "type": "GEN", "internal": False}, "id": c.comment_id,
             "type": "Comment"}
            for c in res.comments
        ]
    if res.status == "Cancelled" and res.cancellation_reason:
        cancellation: dict[str, Any] = {
            "code": res.cancellation_reason,
            "description": res.cancellation_reason_description or res.cancellation_reason,
        }
        if res.cancellation_number:
            cancellation["cancellationNo"] = id_entry(res.cancellation_number, "Cancellation")
        if res.cancellation_date:
            cancellation["date"] = res.cancellation_date.isoformat()
        body["cancellation"] = cancellation
    return body


def payment_methods_body(res: Reservation) -> list[dict[str, Any]]:
    """`reservationPaymentMethods`: the method on window 1, with its card on file as OPERA shows a tokenized card
    (cardId, type, masked number, last four, masked expiry; never the number), as in Oracle's PASIG getReservation."""
    row: dict[str, Any] = {"paymentMethod": res.payment_method, "folioView": 1}
    card = next((c for c in res.cards if c.payment_method == res.payment_method), None)
    if card is not None:
        row["paymentCard"] = {
            "cardId": {"id": card.card_id, "type": "CreditCard"},
            "cardType": card.card_type,
            "cardNumberMasked": "XXXXXXXXXXXX" + card.last_four,
            "cardNumberLast4Digits": card.last_four,
            "expirationDateMasked": card.expiry,
            "cardHolderName": card.holder,
            "cardOrToken": "Token",
        }
    return [row]


def _linked_info(enterprise: Enterprise, hotel: Hotel, res: Reservation) -> dict[str, Any]:
    """One `linkedReservationInfoType`: a reservation linked to another (here, by a split)."""
    profile = enterprise.profiles.get(res.profile_id)
    info: dict[str, Any] = {
        "reservationIdList": _ids(res),
        "timeSpan": {"startDate": res.arrival.isoformat(), "endDate": res.departure.isoformat()},
        "roomType": res.room_type,
        "ratePlanCode": res.rate_plan,
        "rate": money_body(res.rate_on(res.arrival), res.currency),
        "guarantee": {"guaranteeCode": res.guarantee_code},
        "balance": money_body(res.balance, res.currency),
        "reservationStatus": res.computed_status(hotel.business_date),
        "hotelId": hotel.code,
        "linkReservationType": "Linked",
        "roomNumberLocked": res.room_locked,
        "adultCount": res.adults,
        "childCount": res.children,
        "profileId": id_entry(res.profile_id, "Profile"),
    }
    if res.room_id:
        info["room"] = res.room_id
    if profile is not None:
        info["givenName"], info["surname"] = profile.given_name, profile.surname
    return info


def search_row(
    enterprise: Enterprise, hotel: Hotel, res: Reservation, *, references_of: Collection[str] = ()
) -> dict[str, Any]:
    """The flat `reservationInfoType` row of a reservation search; `references_of` names the external systems whose
    references the row shows (getHotelReservations' `resvExternalReferencesToFetch`)."""
    profile = enterprise.profiles.get(res.profile_id)
    stay: dict[str, Any] = {
        "arrivalDate": res.arrival.isoformat(),
        "departureDate": res.departure.isoformat(),
        "adultCount": res.adults,
        "childCount": res.children,
        "roomType": res.room_type,
        "ratePlanCode": res.rate_plan,
        "rateAmount": money_body(res.rate_on(res.arrival), res.currency),
        # stayInfoType.totalAmount: "The total amount charged for the Room Stay" (the row's rateAmount is one
        # night's, and the nights of a stay can be priced differently)
        "totalAmount": money_body(res.total, res.currency),
        "numberOfRooms": res.rooms,
        "balance": money_body(res.balance, res.currency),
        "guarantee": {"guaranteeCode": res.guarantee_code},
    }
    if res.room_id:
        stay["roomId"] = res.room_id
        stay["roomNumberLocked"] = res.room_locked
    guest: dict[str, Any] = {"id": res.profile_id, "type": "Profile"}
    if profile is not None:
        guest["givenName"] = profile.given_name
        guest["surname"] = profile.surname
        if profile.email:
            guest["email"] = profile.email
    row: dict[str, Any] = {"reservationIdList": _ids(res)}
    wanted = {code.upper() for code in references_of}
    shown = [ref for ref in res.external_references if ref.id_context.upper() in wanted]
    if shown:
        row["externalReferences"] = external_references_body(shown)
    row |= {
        "hotelId": hotel.code,
        "reservationStatus": res.status,
        "computedReservationStatus": res.computed_status(hotel.business_date),
        "roomStay": stay,
        "reservationGuest": guest,
    }
    if res.room_id and res.room_id in hotel.rooms:
        row["roomStatus"] = hotel.rooms[res.room_id].room_status
    if res.payment_method:
        row["paymentMethod"] = res.payment_method
    return row


# ----------------------------------------------------------------------------------------------------- search


def _status_matches(hotel: Hotel, res: Reservation, wanted: list[str]) -> bool:
    if not wanted:
        return True
    computed = res.computed_status(hotel.business_date)
    for status in wanted:
        if status in ("InHouse", "CheckedIn") and res.status == "InHouse":
            return True
        if status == computed or status == res.status:
            return True
    return False


def _search_type_matches(hotel: Hotel, res: Reservation, search_type: str | None, day: date) -> bool:
    """Whether a reservation is of `search_type` on `day`, the search's stayDate: "the date for which the search
    types are applicable. If date is not available, the business date will be used by default" (getHotelReservations).
    On the business date the day's lists are the desk's (due in, due out including overstays, in house); on another
    day they are the stays arriving, leaving or staying over that night."""
    bd = hotel.business_date
    if search_type in (None, "Any"):
        return True
    if search_type == "Arrival":
        return res.status == "Reserved" and res.arrival == day
    if search_type == "Arrived":
        return res.status in ("InHouse", "CheckedOut") and res.arrival == day and res.checked_in_at is not None
    if search_type == "Departure":
        if day == bd:
            return res.status == "InHouse" and res.departure <= bd
        held = ("Reserved", "InHouse") if day > bd else ("InHouse", "CheckedOut")
        return res.status in held and res.departure == day
    if search_type == "InHouse":
        if day == bd:
            return res.status == "InHouse"
        held = ("Reserved", "InHouse") if day > bd else ("InHouse", "CheckedOut")
        return res.status in held and res.arrival <= day < res.departure
    if search_type == "CheckedOut":
        return res.status == "CheckedOut"
    if search_type == "Cancellation":
        return res.status == "Cancelled"
    return search_type == "NoShow" and res.status == "NoShow"


def _within(day: date, start: date | None, end: date | None) -> bool:
    return (start is None or day >= start) and (end is None or day <= end)


def _search(sandbox: Sandbox, request: Request, hotel: Hotel) -> Response:
    limit, offset = page_params(request)
    surname = as_text(query_value(request, "surname", "lastName"), "surname", max_length=80)
    given = as_text(query_value(request, "givenName", "firstName"), "givenName", max_length=80)
    text = as_text(query_value(request, "text"), "text", max_length=80)
    confirmations = set(query_values(request, "confirmationNumberList", "confirmationNumber"))
    reservation_ids = set(query_values(request, "reservationIdList", "reservationId"))
    arrival_from = as_date(query_value(request, "arrivalStartDate"), "arrivalStartDate")
    arrival_to = as_date(query_value(request, "arrivalEndDate"), "arrivalEndDate")
    departure_from = as_date(query_value(request, "departureStartDate"), "departureStartDate")
    departure_to = as_date(query_value(request, "departureEndDate"), "departureEndDate")
    for start, end, name in ((arrival_from, arrival_to, "arrival"), (departure_from, departure_to, "departure")):
        if start and end and end < start:
            raise bad_input(f"{name}EndDate {end} is before {name}StartDate {start}", f"{name}EndDate")
    statuses = [
        s
        for s in (
            as_enum(v, STATUS_FILTERS, "reservationStatuses") for v in query_values(request, "reservationStatuses")
        )
        if s
    ]
    search_type = as_enum(query_value(request, "searchType"), SEARCH_TYPES, "searchType")
    room_id = as_text(query_value(request, "roomId"), "roomId", max_length=20)
    profile_id = as_text(query_value(request, "profileId"), "profileId", max_length=40)
    expected_arrivals = as_bool(query_value(request, "expectedArrivals"), "expectedArrivals")
    expected_departures = as_bool(query_value(request, "expectedDepartures"), "expectedDepartures")
    bd = hotel.business_date
    stay_date = as_date(query_value(request, "stayDate"), "stayDate") or bd
    external_ids, external_systems = _external_filter(request, hotel)
    external_leg = as_int(query_value(request, "externalReferenceLegId"), "externalReferenceLegId")
    references_of = query_values(request, "resvExternalReferencesToFetch")
    if len(references_of) > MAX_REFERENCES_TO_FETCH:
        raise bad_input(
            f"resvExternalReferencesToFetch names {len(references_of)} external systems; at most "
            f"{MAX_REFERENCES_TO_FETCH}",
            "resvExternalReferencesToFetch",
        )

    def matches(res: Reservation) -> bool:
        profile = sandbox.enterprise.profiles.get(res.profile_id)
        last = profile.surname.lower() if profile else ""
        first = profile.given_name.lower() if profile else ""
        if surname and not last.startswith(surname.lower()):
            return False
        if given and not first.startswith(given.lower()):
            return False
        if text:
            haystack = " ".join(
                [
                    last,
                    first,
                    res.confirmation_number,
                    res.reservation_id,
                    res.room_id or "",
                    (profile.email or "").lower() if profile else "",
                ]
            )
            if text.lower() not in haystack:
                return False
        checks: list[Callable[[], bool]] = [
            lambda: not confirmations or res.confirmation_number in confirmations,
            lambda: not reservation_ids or res.reservation_id in reservation_ids,
            lambda: _within(res.arrival, arrival_from, arrival_to),
            lambda: _within(res.departure, departure_from, departure_to),
            lambda: _status_matches(hotel, res, statuses),
            lambda: _search_type_matches(hotel, res, search_type, stay_date),
            lambda: room_id is None or res.room_id == room_id,
            lambda: profile_id is None or res.profile_id == profile_id,
            lambda: not expected_arrivals or res.computed_status(bd) == "DueIn",
            lambda: not expected_departures or res.computed_status(bd) == "DueOut",
            lambda: (
                not external_ids
                or has_external_reference(res.external_references, external_ids, external_systems, leg=external_leg)
            ),
        ]
        return all(check() for check in checks)

    def order(res: Reservation) -> tuple[date, str, int]:
        profile = sandbox.enterprise.profiles.get(res.profile_id)
        return res.arrival, (profile.surname.lower() if profile else ""), int(res.reservation_id)

    rows = sorted((r for r in hotel.reservations.values() if matches(r)), key=order)
    page, paging = paged(rows, limit, offset)
    infos = [search_row(sandbox.enterprise, hotel, r, references_of=references_of) for r in page]
    return ohip_json({"reservations": {"reservationInfo": infos, **paging}})


def _external_filter(request: Request, hotel: Hotel) -> tuple[set[str], list[str]]:
    """(`externalReferenceIds`, `externalSystemCodes`) of a search. Codes default to the spec's "External" and each
    must be configured for the hotel; without ids the codes alone filter nothing."""
    ids = set(query_values(request, "externalReferenceIds"))
    given = query_values(request, "externalSystemCodes")
    if not ids and not given:
        return set(), []
    codes = given or [DEFAULT_EXTERNAL_SYSTEM]
    checked: list[str] = []
    for code in codes:
        try:
            checked.append(hotel.external_system(code, "externalSystemCodes"))
        except SandboxError as exc:
            if not given:
                exc.detail += f"; externalSystemCodes defaults to {DEFAULT_EXTERNAL_SYSTEM}, so name the system"
            raise
    return ids, checked


# ------------------------------------------------------------------------------------------------ write input


def _first_reservation(body: dict[str, Any], *, create: bool) -> dict[str, Any]:
    """POST wraps as reservations.reservation[]; PUT as reservations[]. Accept either, and lone objects."""
    container = body.get("reservations")
    if isinstance(container, dict):
        items = as_list(container.get("reservation")) or ([container] if "roomStay" in container else [])
    else:
        items = as_list(container)
    if not items:
        where = "reservations.reservation" if create else "reservations"
        raise bad_input(f"The body has no reservation in {where}", where)
    return as_object(items[0], "reservations.reservation")


def _stay_fields(item: dict[str, Any]) -> dict[str, Any]:
    stay = as_object(item.get("roomStay"), "roomStay")
    rate = as_object(
        as_list(stay.get("roomRates"))[0] if as_list(stay.get("roomRates")) else None, "roomStay.roomRates"
    )
    counts = as_object(stay.get("guestCounts") or rate.get("guestCounts"), "roomStay.guestCounts")
    guarantee = as_object(stay.get("guarantee"), "roomStay.guarantee")
    payments = as_list(item.get("reservationPaymentMethods"))
    payment = as_object(payments[0], "reservationPaymentMethods") if payments else {}
    method = payment.get("paymentMethod")
    if isinstance(method, dict):  # some clients nest {paymentMethod: {paymentMethod: "CA"}}
        method = method.get("paymentMethod")
    comments: list[tuple[str | None, str]] | None = None
    if "comments" in item:
        comments = []
        for entry in as_list(item.get("comments")):
            info = as_object(entry, "comments")
            comment = as_object(info.get("comment"), "comments.comment")
            text = comment.get("text")
            value = text.get("value") if isinstance(text, dict) else text
            if value:
                comment_id = as_text(info.get("id"), "comments.id", max_length=80)
                comments.append((comment_id, as_text(value, "comments.comment.text.value") or ""))
    return {
        "arrival": as_date(stay.get("arrivalDate") or rate.get("start"), "roomStay.arrivalDate"),
        "departure": as_date(stay.get("departureDate") or rate.get("end"), "roomStay.departureDate"),
        "adults": as_int(counts.get("adults"), "roomStay.guestCounts.adults"),
        "children": as_int(counts.get("children"), "roomStay.guestCounts.children"),
        "room_type": as_text(rate.get("roomType"), "roomStay.roomRates.roomType", max_length=20),
        "rate_plan": as_text(rate.get("ratePlanCode"), "roomStay.roomRates.ratePlanCode", max_length=20),
        "market_code": as_text(rate.get("marketCode"), "roomStay.roomRates.marketCode", max_length=20),
        "source_code": as_text(rate.get("sourceCode"), "roomStay.roomRates.sourceCode", max_length=20),
        "rooms": as_int(rate.get("numberOfUnits"), "roomStay.roomRates.numberOfUnits", minimum=1,
                        maximum=MAX_ROOMS_PER_RESERVATION),
        "guarantee_code": as_text(guarantee.get("guaranteeCode"), "roomStay.guarantee.guaranteeCode", max_length=20),
        "payment_method": as_text(method, "reservationPaymentMethods.paymentMethod", max_length=20),
        "comments": comments,
        "external_references": external_references_input(
            item.get("externalReferences"),
            "externalReferences",
            id_max=EXTERNAL_ID_MAX,
            context_max=EXTERNAL_SYSTEM_MAX,
            with_extension=True,
        ),
    }


def _upper(value: str | None) -> str | None:
    return value.upper() if value else None


def _booking(item: dict[str, Any]) -> BookingRequest:
    fields = _stay_fields(item)
    for key, path in (
        ("arrival", "roomStay.arrivalDate"),
        ("departure", "roomStay.departureDate"),
        ("room_type", "roomStay.roomRates.roomType"),
        ("rate_plan", "roomStay.roomRates.ratePlanCode"),
    ):
        if fields[key] is None:
            raise bad_input(f"{path} is required to book a room", path)
    guests = as_list(item.get("reservationGuests"))
    guest = as_object(guests[0], "reservationGuests") if guests else {}
    profile_info = as_object(guest.get("profileInfo"), "reservationGuests.profileInfo")
    profile_id = find_id(profile_info.get("profileIdList"), "Profile")
    given = surname = email = None
    if profile_id is None:
        profile = as_object(profile_info.get("profile"), "reservationGuests.profileInfo.profile")
        customer = as_object(profile.get("customer"), "profile.customer")
        names = as_list(customer.get("personName"))
        name = as_object(names[0], "profile.customer.personName") if names else {}
        given = as_text(name.get("givenName"), "personName.givenName", max_length=40)
        surname = as_text(name.get("surname"), "personName.surname", max_length=40)
        emails = as_list(as_object(profile.get("emails"), "profile.emails").get("emailInfo"))
        if emails:
            email_obj = as_object(as_object(emails[0], "emailInfo").get("email"), "emailInfo.email")
            email = as_text(email_obj.get("emailAddress"), "email.emailAddress", max_length=200)
    return BookingRequest(
        arrival=fields["arrival"],
        departure=fields["departure"],
        room_type=fields["room_type"].upper(),
        rate_plan=fields["rate_plan"].upper(),
        adults=fields["adults"] if fields["adults"] is not None else 1,
        children=fields["children"] or 0,
        profile_id=profile_id,
        given_name=given,
        surname=surname,
        email=email,
        guarantee_code=_upper(fields["guarantee_code"]),
        payment_method=_upper(fields["payment_method"]),
        market_code=_upper(fields["market_code"]),
        source_code=_upper(fields["source_code"]),
        comments=[text for _id, text in fields["comments"] or []],
        external_references=fields["external_references"] or [],
        rooms=fields["rooms"] or 1,
    )


def _change(item: dict[str, Any]) -> ReservationChange:
    fields = _stay_fields(item)
    return ReservationChange(
        arrival=fields["arrival"],
        departure=fields["departure"],
        room_type=_upper(fields["room_type"]),
        rate_plan=_upper(fields["rate_plan"]),
        adults=fields["adults"],
        children=fields["children"],
        guarantee_code=_upper(fields["guarantee_code"]),
        payment_method=_upper(fields["payment_method"]),
        market_code=_upper(fields["market_code"]),
        source_code=_upper(fields["source_code"]),
        comments=fields["comments"],
        external_references=fields["external_references"],
        rooms=fields["rooms"],
    )


def _check_body_ids(item: dict[str, Any], hotel: Hotel, reservation_id: str | None) -> None:
    body_hotel = item.get("hotelId")
    if body_hotel is not None and str(body_hotel) != hotel.code:
        raise bad_input(f"hotelId {body_hotel} in the body does not match hotel {hotel.code} in the path", "hotelId")
    if reservation_id is not None:
        body_id = find_id(item.get("reservationIdList"), "Reservation")
        if body_id is not None and body_id != reservation_id:
            raise bad_input(
                f"Reservation id {body_id} in the body does not match {reservation_id} in the path",
                "reservationIdList",
            )


# ------------------------------------------------------------------------------------------------------ routes


def routes(sandbox: Sandbox) -> list[BaseRoute]:
    # always read sandbox.enterprise at call time: reset() replaces it
    async def get_hotel_reservations(request: Request) -> Response:
        return _search(sandbox, request, hotel_of(sandbox, request))

    async def get_reservation(request: Request) -> Response:
        hotel = hotel_of(sandbox, request)
        res = hotel.reservation(str(request.path_params["reservationId"]))
        return ohip_json({"reservations": {"reservation": [fetched(request, sandbox.enterprise, hotel, res)]}})

    async def get_reservation_by_ext_id(request: Request) -> Response:
        hotel = hotel_of(sandbox, request)
        res = hotel.by_external_reference(
            str(request.path_params["externalSystemCode"]), str(request.path_params["reservationExternalId"])
        )
        if res is None:  # getReservationByExtId: 204 "ReservationByExtId not found."
            return Response(status_code=204)
        return ohip_json({"reservations": {"reservation": [fetched(request, sandbox.enterprise, hotel, res)]}})

    async def post_reservation(request: Request) -> Response:
        hotel = hotel_of(sandbox, request)
        item = _first_reservation(await read_json(request), create=True)
        _check_body_ids(item, hotel, None)
        res = sandbox.enterprise.create_reservation(hotel.code, _booking(item))
        body = {"reservations": {"reservation": [reservation_body(sandbox.enterprise, hotel, res)]}}
        return created(request, reservation_path(hotel.code, res.reservation_id), body)

    async def put_reservation(request: Request) -> Response:
        hotel = hotel_of(sandbox, request)
        reservation_id = str(request.path_params["reservationId"])
        hotel.reservation(reservation_id)
        item = _first_reservation(await read_json(request), create=False)
        _check_body_ids(item, hotel, reservation_id)
        res = sandbox.enterprise.modify_reservation(hotel.code, reservation_id, _change(item))
        body = {"reservations": {"reservation": [reservation_body(sandbox.enterprise, hotel, res)]}}
        return ohip_json(
            body, headers={"Location": absolute_url(request, reservation_path(hotel.code, res.reservation_id))}
        )

    async def post_cancel_reservation(request: Request) -> Response:
        hotel = hotel_of(sandbox, request)
        reservation_id = str(request.path_params["reservationId"])
        hotel.reservation(reservation_id)
        body = await read_json(request)
        reason = as_object(body.get("reason"), "reason")
        code = as_text(reason.get("code"), "reason.code", max_length=20)
        if not code:
            raise bad_input(
                f"reason.code is required; valid codes: {', '.join(hotel.cancellation_reasons)}", "reason.code"
            )
        for entry in as_list(body.get("reservations")):
            _check_body_ids(as_object(entry, "reservations"), hotel, reservation_id)
        dry_run = bool(as_bool(body.get("verificationOnly"), "verificationOnly"))
        outcome = sandbox.enterprise.cancel_reservation(hotel.code, reservation_id, code, verification_only=dry_run)
        res = outcome.reservation
        if dry_run:
            warning = (
                f"Verification only: reservation {res.reservation_id} can be cancelled with reason "
                f"{outcome.reason.code}; nothing was changed. Cancellation policy: {outcome.penalty_text}"
            )
            row = {"reservationIdList": _ids(res), "hotelId": hotel.code, "reservationStatus": res.status}
            row |= deposit_held(res)
            dry = {"reservations": [row], "warnings": [{"value": warning, "code": "VERIFICATION_ONLY"}]}
            # the spec declares only 201 (with Location) for postCancelReservation, dry run or not
            return created(request, reservation_path(hotel.code, res.reservation_id) + "/cancellations", dry)
        info = {
            "code": outcome.reason.code,
            "description": outcome.reason.description,
            "date": outcome.cancellation_date.isoformat(),
        }
        answer = {
            "cxlActivityLog": [
                {
                    "cancellationIdList": [id_entry(outcome.cancellation_number or "", "Cancellation")],
                    "reason": {"code": outcome.reason.code, "description": outcome.reason.description},
                    "cxlDate": outcome.cancellation_date.isoformat(),
                }
            ],
            "reservations": [
                {
                    "reservationIdList": _ids(res),
                    "hotelId": hotel.code,
                    "reservationStatus": res.status,
                    "cancellationInfo": info,
                } | deposit_held(res)
            ],
        }
        return created(request, reservation_path(hotel.code, res.reservation_id) + "/cancellations", answer)

    async def put_reinstate_reservation(request: Request) -> Response:
        hotel = hotel_of(sandbox, request)
        reservation_id = str(request.path_params["reservationId"])
        hotel.reservation(reservation_id)
        raw = await request.body()
        if raw.strip():
            _check_body_ids(await read_json(request), hotel, reservation_id)
        res = sandbox.enterprise.reinstate_reservation(hotel.code, reservation_id)
        location = absolute_url(request, reservation_path(hotel.code, res.reservation_id))
        return ohip_json({}, headers={"Location": location})

    async def get_alert_notices(request: Request) -> Response:
        # rsv getAlertNotices: the reservation's alerts, of one area when alertArea says.
        hotel = hotel_of(sandbox, request)
        res = hotel.reservation(str(request.path_params["reservationId"]))
        area = query_value(request, "alertArea")
        wanted = as_enum(area, ALERT_AREAS, "alertArea") if area else None
        alerts = [alert_body(a) for a in res.alerts if wanted is None or a.area == wanted]
        return ohip_json({"alerts": alerts} if alerts else {})

    async def post_bulk_reservation_alerts(request: Request) -> Response:
        # rsv postBulkReservationAlerts: reservations[].alert[] created, or changed when an alert names its id.
        hotel = hotel_of(sandbox, request)
        body = await read_json(request)
        parsed: list[tuple[str, dict[str, Any]]] = []
        for i, entry in enumerate(as_list(body.get("reservations"))):
            where = f"reservations[{i}]"
            entry = as_object(entry, where)
            reservation_id = find_id(as_list(entry.get("reservationId")), "Reservation")
            if reservation_id is None:
                raise bad_input(f"{where}.reservationId needs the reservation's id", f"{where}.reservationId")
            hotel.reservation(reservation_id)
            for j, raw in enumerate(as_list(entry.get("alert"))):
                alert = as_object(raw, f"{where}.alert[{j}]")
                for name in ("code", "area", "description"):
                    if not as_text(alert.get(name), f"{where}.alert[{j}].{name}"):
                        raise bad_input(f"{where}.alert[{j}].{name} is required", f"{where}.alert[{j}].{name}")
                # every alert is checked before any is kept: a refusal keeps nothing
                area = as_enum(alert.get("area"), ALERT_AREAS, f"{where}.alert[{j}].area")
                parsed.append((reservation_id, {**alert, "area": area}))
        for reservation_id, alert in parsed:
            sandbox.enterprise.set_alert(
                hotel.code, reservation_id, code=str(alert["code"]), area=str(alert["area"]),
                description=str(alert["description"]), stop=as_bool(alert.get("stopCheckInCheckOut"), "stop") is True,
                alert_id=as_text(alert.get("id"), "id"),
            )
        return created(request, BASE + f"/hotels/{hotel.code}/reservations/alerts", {})

    async def put_split_multi_room_reservation(request: Request) -> Response:
        # The path names no hotel: the gateway's x-hotelid header does.
        hotel = sandbox.enterprise.hotel(request.headers.get("x-hotelid", ""))
        reservation_id = str(request.path_params["reservationId"])
        hotel.reservation(reservation_id)
        body = await read_json(request)
        named = find_id([as_object(body.get("reservationId"), "reservationId")], "Reservation")
        if named is not None and named != reservation_id:
            raise bad_input(f"reservationId {named} in the body does not match {reservation_id} in the path",
                            "reservationId")
        made = sandbox.enterprise.split_reservation(
            hotel.code, reservation_id, split_all=as_bool(body.get("splitAll"), "splitAll") is True,
            copy_payment=as_bool(body.get("copyPaymentInformation"), "copyPaymentInformation") is True,
        )
        linked = [hotel.reservation(reservation_id), *sandbox.enterprise.linked_reservations(hotel.code,
                                                                                               reservation_id)]
        return ohip_json({
            "newReservationIdList": [id_entry(r.reservation_id, "Reservation") for r in made],
            "linkedReservations": {"reservationInfo": [_linked_info(sandbox.enterprise, hotel, r) for r in linked]},
        })

    async def get_linked_reservations_summary(request: Request) -> Response:
        hotel = hotel_of(sandbox, request)
        linked = sandbox.enterprise.linked_reservations(hotel.code, str(request.path_params["reservationId"]))
        if not linked:  # getLinkedReservationsSummary: 204 "LinkedReservationsSummary not found."
            return Response(status_code=204)
        infos = [_linked_info(sandbox.enterprise, hotel, r) for r in linked]
        return ohip_json({"linkedReservationList": {"reservationInfo": infos}})

    def message_body(hotel: Hotel, res: Reservation, message: GuestMessage) -> dict[str, Any]:
        delivery: dict[str, Any] = {"deliveryStatus": "Mr" if message.delivered else "Nr"}
        if message.delivered_at is not None:
            delivery["deliveryDate"] = message.delivered_at.isoformat(timespec="seconds")
        if message.delivered_by:
            delivery["deliveredBy"] = message.delivered_by
        text: dict[str, Any] = {
            "messageText": message.text,
            "messageDate": message.created.isoformat(timespec="seconds"),
            "typeOfMessage": message.message_type,
            "reservationId": id_entry(res.reservation_id, "Reservation"),
            "reservationStatus": hotel.computed_status(res),
            "confirmationNo": res.confirmation_number,
        }
        if message.recipient:
            text["recipient"] = message.recipient
        if message.operator:
            text["operator"] = message.operator
        if res.room_id:
            text["roomId"] = res.room_id
        return {"id": str(message.message_id), "type": "GuestMessage", "message": text, "delivery": delivery,
                "createDateTime": message.created.isoformat(timespec="seconds")}

    async def get_guest_messages(request: Request) -> Response:
        # rsv getGuestMessages: "The maximum allowable limit for this API is 100"; 204 when none.
        hotel = hotel_of(sandbox, request)
        limit = as_int(query_value(request, "limit"), "limit", minimum=1, maximum=MAX_GUEST_MESSAGES) or 20
        offset = as_int(query_value(request, "offset"), "offset", minimum=0) or 0
        reservation_id = as_text(query_value(request, "reservationId"), "reservationId", max_length=80)
        delivered = as_bool(query_value(request, "retrieveDeliveredMessages"), "retrieveDeliveredMessages")
        undelivered = as_bool(query_value(request, "retrieveUndeliveredMessages"), "retrieveUndeliveredMessages")
        if delivered is None and undelivered is None:
            delivered = undelivered = True
        stays = [hotel.reservation(reservation_id)] if reservation_id else list(hotel.reservations.values())
        rows = [message_body(hotel, res, m) for res in stays for m in res.guest_messages
                if (delivered and m.delivered) or (undelivered and not m.delivered)]
        if not rows:
            return Response(status_code=204)
        page, paging = paged(rows, limit, offset)
        paging.pop("count", None)
        return ohip_json({"guestMessages": page, **paging})

    async def post_guest_messages(request: Request) -> Response:
        hotel = hotel_of(sandbox, request)
        reservation_id = str(request.path_params["reservationId"])
        res = hotel.reservation(reservation_id)
        body = await read_json(request)
        body_hotel = as_text(body.get("hotelId"), "hotelId", max_length=20)
        if body_hotel is not None and body_hotel != hotel.code:
            raise bad_input(f"hotelId {body_hotel} differs from hotel {hotel.code} in the path", "hotelId")
        named = find_id(body.get("reservationIdList"), "Reservation")
        if named is not None and named != reservation_id:
            raise bad_input(f"reservationIdList names reservation {named}, the path {reservation_id}",
                            "reservationIdList")
        entries = as_list(body.get("guestMessages"))
        if not entries:
            raise bad_input("guestMessages needs one message", "guestMessages")
        parsed = []
        for i, raw in enumerate(entries):  # every message is checked before any is taken
            entry = as_object(raw, f"guestMessages[{i}]")
            message = as_object(entry.get("message"), f"guestMessages[{i}].message")
            delivery = as_object(entry.get("delivery"), f"guestMessages[{i}].delivery")
            text = as_text(message.get("messageText"), f"guestMessages[{i}].message.messageText", max_length=2000)
            if not text:
                raise bad_input(f"guestMessages[{i}].message.messageText is required",
                                f"guestMessages[{i}].message.messageText")
            kind = as_enum(message.get("typeOfMessage"), ("Tm", "Vm"), f"guestMessages[{i}].message.typeOfMessage")
            status = as_enum(delivery.get("deliveryStatus"), ("Mr", "Nr"),
                             f"guestMessages[{i}].delivery.deliveryStatus")
            parsed.append((text, kind or "Tm", as_text(message.get("recipient"), "recipient", max_length=80),
                           as_text(message.get("operator"), "operator", max_length=256), status == "Mr"))
        made = [sandbox.enterprise.post_guest_message(hotel.code, reservation_id, text, message_type=kind,
                                                       recipient=recipient, operator=operator, delivered=delivered)
                for text, kind, recipient, operator, delivered in parsed]
        return created(request, reservation_path(hotel.code, reservation_id) + "/guestMessages",
                       {"guestMessages": [message_body(hotel, res, m) for m in made]})

    async def put_guest_message(request: Request) -> Response:
        hotel = hotel_of(sandbox, request)
        reservation_id = str(request.path_params["reservationId"])
        hotel.reservation(reservation_id)
        body = await read_json(request)
        entries = as_list(body.get("guestMessages"))
        if len(entries) != 1:
            raise bad_input("guestMessages needs the one message the path names", "guestMessages")
        entry = as_object(entries[0], "guestMessages[0]")
        delivery = as_object(entry.get("delivery"), "guestMessages[0].delivery")
        status = as_enum(delivery.get("deliveryStatus"), ("Mr", "Nr"), "guestMessages[0].delivery.deliveryStatus")
        if status is None:
            raise bad_input("guestMessages[0].delivery.deliveryStatus is required: Mr or Nr",
                            "guestMessages[0].delivery.deliveryStatus")
        sandbox.enterprise.deliver_guest_message(
            hotel.code, reservation_id, str(request.path_params["guestMessageId"]), delivered=status == "Mr",
            delivered_by=as_text(delivery.get("deliveredBy"), "guestMessages[0].delivery.deliveredBy", max_length=40),
        )
        return ohip_json({})

    hotel_path = BASE + "/hotels/{hotelId}/reservations"
    return [
        Route(BASE + "/reservations/{reservationId}/split", put_split_multi_room_reservation, methods=["PUT"],
              name="putSplitMultiRoomReservation"),
        Route(hotel_path + "/{reservationId}/linkedSummary", get_linked_reservations_summary, methods=["GET"],
              name="getLinkedReservationsSummary"),
        Route(hotel_path + "/alerts", post_bulk_reservation_alerts, methods=["POST"],
              name="postBulkReservationAlerts"),
        Route(hotel_path + "/{reservationId}/alerts", get_alert_notices, methods=["GET"], name="getAlertNotices"),
        Route(BASE + "/hotels/{hotelId}/guestMessages", get_guest_messages, methods=["GET"], name="getGuestMessages"),
        Route(hotel_path + "/{reservationId}/guestMessages", post_guest_messages, methods=["POST"],
              name="postGuestMessages"),
        Route(hotel_path + "/{reservationId}/guestMessages/{guestMessageId}", put_guest_message, methods=["PUT"],
              name="putGuestMessages"),
        Route(hotel_path, get_hotel_reservations, methods=["GET"], name="getHotelReservations"),
        Route(hotel_path, post_reservation, methods=["POST"], name="postReservation"),
        Route(hotel_path + "/{reservationId}", get_reservation, methods=["GET"], name="getReservation"),
        Route(
            BASE + "/hotels/{hotelId}/externalSystems/{externalSystemCode}/reservations/{reservationExternalId}",
            get_reservation_by_ext_id,
            methods=["GET"],
            name="getReservationByExtId",
        ),
        Route(hotel_path + "/{reservationId}", put_reservation, methods=["PUT"], name="putReservation"),
        Route(
            hotel_path + "/{reservationId}/cancellations",
            post_cancel_reservation,
            methods=["POST"],
            name="postCancelReservation",
        ),
        Route(
            hotel_path + "/{reservationId}/cancellations",
            put_reinstate_reservation,
            methods=["PUT"],
            name="putReinstateReservation",
        ),
    ]
