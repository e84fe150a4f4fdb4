"""Sign-in throttling, counted in the database so every worker and server shares it.

Three keys are counted for each attempt: the client address with the username (the
"pair"), the client address alone (password spraying across usernames) and the username
alone (many addresses against one account). Each attempt *reserves* a failure on its
keys in one atomic statement per key before the password is checked, so parallel wrong
passwords are counted as they arrive, not after argon2 finishes; a correct password
gives the reservation back.

From a key's last free failure on, each failure makes the key's next attempt wait:
1 s, then 2, 4, 8 ... up to a cap (so `limit` wrong passwords in a row are answered
401, the next attempt soon after 429 with Retry-After). Attempts refused while a key
waits are not counted (they would only lengthen the wait of whoever shares the
address). A key forgets its failures after a quiet window.

A third party must not lock a user out, so the per-username key never applies to a
client that has signed in as that user before (a pair with a recent success): an
attacker spraying one account from many addresses slows down new clients only. The
pair and per-client keys apply to everyone; on one shared address an attacker can delay
others on that address, never block them for longer than the back-off cap.

Rows expire (once a minute, per process, a bounded DELETE), so the table stays small.
The client address is the TCP peer, or, only when that peer is a configured trusted
proxy, the nearest untrusted address in X-Forwarded-For.
"""

from __future__ import annotations

import ipaddress
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from post001.core.clock import as_utc as _utc
from post001.server.auth import TooManyAttempts, VerifyGate

throttle_metadata = sa.MetaData()
signin_throttle = sa.Table(
    "signin_throttle", throttle_metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
    sa.Column("blocked_until", sa.DateTime(timezone=True)),
    sa.Column("last_success_at", sa.DateTime(timezone=True)),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
T = signin_throttle

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class Limits:
    pair: int = 10
    client: int = 30
    user: int = 50
    window: timedelta = timedelta(minutes=15)
    backoff_max_seconds: int = 900
    #: How long a successful sign-in makes its (client, username) pair "known".
    known_for: timedelta = timedelta(days=30)
    #: Rows beyond this many are expired oldest first, whatever their age.
    max_rows: int = 100_000


@dataclass(frozen=True, slots=True)
class Reservation:
    keys: tuple[str, ...]
    pair: str
    limits: tuple[int, ...]


def parse_networks(text: str) -> tuple[Network, ...]:
    """`POST001_SERVER_TRUSTED_PROXIES`: addresses or CIDR blocks, comma-separated."""
    return tuple(ipaddress.ip_network(part.strip(), strict=False)
                 for part in text.split(",") if part.strip())


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def client_address(peer: str | None, forwarded_for: Sequence[str],
                   trusted: Sequence[Network]) -> str:
    """The address to throttle: the peer unless it is a trusted proxy; then, walking
    X-Forwarded-For from the right (the entries our proxies appended), the first
    address that is not itself a trusted proxy. A client cannot pick its own address by
    sending the header: only a trusted proxy's entries are believed."""
    peer = peer or "?"
    address = _ip(peer)
    if address is None or not any(address in net for net in trusted):
        return peer
    hops = [h for value in forwarded_for for h in value.split(",") if h.strip()]
    for hop in reversed(hops):
        ip = _ip(hop)
        if ip is None:
            return peer  # a garbled chain: fall back to the proxy itself
        if not any(ip in net for net in trusted):
            return str(ip)
    return peer


def _backoff(over: int, cap: int) -> int:
    """Seconds to wait after the `over`-th failure past the free ones: 1, 2, 4 ... cap."""
    return int(min(cap, 2 ** min(over - 1, 30)))


class SigninThrottle:
    def __init__(self, engine: sa.Engine, limits: Limits | None = None) -> None:
        self.engine = engine
        self.limits = limits or Limits()
        self._expired_at: datetime | None = None
        self._lock = threading.Lock()
        insert = (postgresql.insert if engine.dialect.name == "postgresql"
                  else sqlite.insert)
        blocked = sa.and_(T.c.blocked_until.is_not(None),
                          T.c.blocked_until > sa.bindparam("now"))
        quiet = T.c.updated_at < sa.bindparam("quiet_since")
        stmt = insert(T).values(key=sa.bindparam("key"), failures=1,
                                window_start=sa.bindparam("now"), blocked_until=None,
                                updated_at=sa.bindparam("now"))
        self._count = stmt.on_conflict_do_update(
            index_elements=[T.c.key],
            set_={
                "failures": sa.case((blocked, T.c.failures), (quiet, 1),
                                    else_=T.c.failures + 1),
                "window_start": sa.case((blocked, T.c.window_start),
                                        (quiet, sa.bindparam("now")),
                                        else_=T.c.window_start),
                "updated_at": sa.bindparam("now"),
            },
        ).returning(T.c.failures, T.c.blocked_until)

    def _keys(self, client: str, username: str) -> tuple[str, str, str]:
        name = username.strip().lower()[:64]
        return f"pair:{client} {name}", f"client:{client}", f"user:{name}"

    def reserve(self, client: str, username: str, now: datetime) -> Reservation:
        """Count this attempt as a failure on each key (atomically), or raise
        TooManyAttempts with how long to wait. Call `release` when it was not one."""
        self._maybe_expire(now)
        pair, by_client, by_user = self._keys(client, username)
        limits = self.limits
        with self.engine.begin() as conn:
            known = conn.execute(sa.select(T.c.last_success_at).where(
                T.c.key == pair)).scalar()
            keys: list[tuple[str, int]] = [(pair, limits.pair), (by_client, limits.client)]
            if known is None or _utc(known) < now - limits.known_for:
                keys.append((by_user, limits.user))
            wait = 0
            for key, limit in keys:
                failures, blocked_until = conn.execute(self._count, {
                    "key": key, "now": now, "quiet_since": now - limits.window}).one()
                if blocked_until is not None and _utc(blocked_until) > now:
                    wait = max(wait, _seconds(_utc(blocked_until) - now))
                elif failures >= limit:
                    # This attempt goes ahead; the key's next one waits. Set in this
                    # transaction, so a parallel attempt (queued on the row) sees it.
                    seconds = _backoff(failures - limit + 1, limits.backoff_max_seconds)
                    conn.execute(T.update().where(T.c.key == key).values(
                        blocked_until=now + timedelta(seconds=seconds)))
        if wait:
            raise TooManyAttempts(wait)
        return Reservation(keys=tuple(k for k, _ in keys), pair=pair,
                           limits=tuple(limit for _, limit in keys))

    def release(self, reservation: Reservation, now: datetime, *, signed_in: bool) -> None:
        """Give back a reserved failure: the password was right (`signed_in`: the pair
        starts afresh and is known from now on), or it was never checked."""
        others = [(k, limit) for k, limit in zip(reservation.keys, reservation.limits,
                                                 strict=True)
                  if k != reservation.pair or not signed_in]
        with self.engine.begin() as conn:
            for key, limit in others:
                # Back under the free failures: a wait this reservation set goes too.
                conn.execute(T.update().where(T.c.key == key, T.c.failures > 0).values(
                    failures=T.c.failures - 1,
                    blocked_until=sa.case((T.c.failures - 1 < limit, None),
                                          else_=T.c.blocked_until)))
            if signed_in:
                conn.execute(T.update().where(T.c.key == reservation.pair).values(
                    failures=0, blocked_until=None, last_success_at=now, updated_at=now))

    def expire(self, now: datetime) -> int:
        """Forget keys quiet for a window, not waiting, and not a recently known pair;
        then, past `max_rows`, the oldest quiet ones."""
        limits = self.limits
        with self.engine.begin() as conn:
            gone = conn.execute(T.delete().where(
                T.c.updated_at < now - limits.window,
                sa.or_(T.c.blocked_until.is_(None), T.c.blocked_until < now),
                sa.or_(T.c.last_success_at.is_(None),
                       T.c.last_success_at < now - limits.known_for),
            )).rowcount
            total = conn.execute(sa.select(sa.func.count()).select_from(T)).scalar() or 0
            if total > limits.max_rows:
                oldest = (sa.select(T.c.key).order_by(T.c.updated_at)
                          .limit(total - limits.max_rows).scalar_subquery())
                gone += conn.execute(T.delete().where(T.c.key.in_(oldest))).rowcount
        return int(gone or 0)

    def _maybe_expire(self, now: datetime) -> None:
        with self._lock:
            due = self._expired_at is None or now - self._expired_at > timedelta(minutes=1)
            if due:
                self._expired_at = now
        if due:
            self.expire(now)


@dataclass
class SigninDefence:
    """What guards password checks in one server process: the shared throttle, the
    gate bounding concurrent argon2 verifications, and the proxies whose
    X-Forwarded-For is believed."""

    throttle: SigninThrottle
    gate: VerifyGate
    trusted_proxies: tuple[Network, ...] = ()

    def client_of(self, peer: str | None, forwarded_for: Sequence[str]) -> str:
        return client_address(peer, forwarded_for, self.trusted_proxies)


def _seconds(delta: timedelta) -> int:
    return max(1, math.ceil(delta.total_seconds()))
