"""Which Twenty the sandbox behaves as: one value per release family.

Users run many Twenty releases (self-hosted 1.x, cloud 2.4x). Every behaviour of the
emulator that changed between releases is one field of :class:`TwentyProfile`, and each
value below cites where in Twenty's source (twentyhq/twenty) it was read. Values marked
``[uncertain]`` were not confirmed by a Twenty test; they are still one field, so a test or
a user can change them with :meth:`TwentyProfile.replace`.

    >>> sandbox_profile("1.18").name
    '1.x'
    >>> sandbox_profile("2").query_max_records
    200
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "DEFAULT_PROFILE",
    "PROFILES",
    "PROFILE_1X",
    "PROFILE_2_4X",
    "TwentyProfile",
    "describe_profiles",
    "sandbox_profile",
]

ThrottleStyle = Literal["common", "newest"]
MetadataSchema = Literal["1.x", "2.43"]
TargetModel = Literal["plain", "morph"]


@dataclass(frozen=True)
class TwentyProfile:
    """Every version-dependent behaviour of the emulator, for one family of releases.

    Attributes:
        name: The family's name (``"1.x"``, ``"2.4x"``).
        majors: The major release numbers this profile answers for.
        summary: One line for ``--help`` and reprs.
        query_max_records: ``QUERY_MAX_RECORDS``, the most records one create, upsert or
            find call takes; an oversized write is refused whole with
            ``Maximum number of records to upsert is N.``
        throttle_style: ``"common"``: the throttler service (REST 429 without headers,
            GraphQL ``BAD_USER_INPUT``/``LIMIT_REACHED``); ``"newest"``: the usage-limit
            module (429 with ``Retry-After`` and ``X-RateLimit-*``, GraphQL
            ``RATE_LIMITED``).
        metadata_schema: Which metadata GraphQL schema ``/metadata`` serves: ``"1.x"``
            (``isCustom``, ``totalCount``, ``indexFieldMetadatas``) or ``"2.43"`` (the
            schema shipped in the ``twenty-client-sdk`` 2.43.0 npm package).
        rich_text_type: The type name of the writable rich-text body (``bodyV2``).
        legacy_rich_text_body: Tasks and notes still carry the old, unwritable ``body``.
        target_model: Task and note targets: ``"plain"`` (``personId``...) or ``"morph"``
            (``targetPerson`` with join column ``targetPersonId``...).
        domain_name_bare_host: ``domainName`` is stored as the bare host
            (``https://acme.com`` → ``acme.com``), so company upserts match on it.
        destroy_max_records: The most records one destroy call may remove (None: no cap).
        quotas: The usage-limit module's quota refusals exist: 402 when an allowance is
            used up, 409 ``RECORD limit reached for this workspace`` past
            ``WORKSPACE_RECORD_LIMIT``, GraphQL ``QUOTA_EXHAUSTED``.
        upsert_atomic: An upsert call's updates are undone when its insert fails.
        rest_fields_param: REST ``fields=`` projects find-one, create, batch create and
            restore answers (400 for an unknown field).
        rest_merge_and_group_by: The REST routes ``PATCH /rest/{plural}/merge`` and
            ``GET /rest/{plural}/groupBy`` and their GraphQL twins ``merge{Plural}`` and
            ``{plural}GroupBy`` exist (duplicates, REST and GraphQL, always do).
        rate_limit_headers_on_success: ``X-RateLimit-*`` headers on every answer, not only
            on a 429.
        opportunity_owner: Opportunities have the standard ``owner`` relation to a
            workspace member (join column ``ownerId``). Companies' ``accountOwner`` and
            tasks' ``assignee`` exist on every profile.
    """

    name: str
    majors: tuple[int, ...]
    summary: str
    query_max_records: int
    throttle_style: ThrottleStyle
    metadata_schema: MetadataSchema
    rich_text_type: str
    legacy_rich_text_body: bool
    target_model: TargetModel
    domain_name_bare_host: bool
    destroy_max_records: int | None
    quotas: bool
    upsert_atomic: bool
    rest_fields_param: bool = False
    rest_merge_and_group_by: bool = False
    rate_limit_headers_on_success: bool = False
    opportunity_owner: bool = True

    def __post_init__(self) -> None:
        if self.query_max_records < 1:
            raise ValueError(
                f"query_max_records must be at least 1, not {self.query_max_records!r}"
            )
        if self.throttle_style not in ("common", "newest"):
            raise ValueError(
                f"throttle_style must be 'common' or 'newest', not {self.throttle_style!r}"
            )

    @property
    def morph_targets(self) -> bool:
        """Task and note targets are morph relations (``targetPersonId``...)."""
        return self.target_model == "morph"

    def replace(self, **changes: object) -> TwentyProfile:
        """A copy with some values changed (for tests and what-if rehearsals)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def __str__(self) -> str:
        return f"Twenty {self.name} ({self.summary})"


PROFILE_1X = TwentyProfile(
    name="1.x",
    majors=(0, 1),
    summary="self-hosted releases of 2025 to early 2026",
    # packages/twenty-shared/src/constants/QueryMaxRecords.ts: 60 in the 1.x releases, and
    # the docs' "60 records per call" (twenty-api.md §2.3).
    query_max_records=60,
    # server/src/engine/core-modules/throttler/throttler.service.ts with
    # throttlerToRestApiExceptionHandler: 429 with no headers (twenty-api.md §6.2).
    throttle_style="common",
    # packages/twenty-front/src/modules/object-metadata/graphql/queries.ts selects
    # isCustom on objects and fields (removed by PR #21799, June 2026).
    metadata_schema="1.x",
    # RICH_TEXT_V2 was the writable body until release 1.20 renamed it RICH_TEXT and removed
    # the v1 type (PR #18628). This profile is the behaviour before that rename.
    rich_text_type="RICH_TEXT_V2",
    legacy_rich_text_body=True,
    # standard taskTarget / noteTarget fields person, company, opportunity with join columns
    # personId... [uncertain: morph targets already appear in a ~1.18 OpenAPI spec].
    target_model="plain",
    # Links were stored as sent before PR #24911 (merged 2026-08-27).
    domain_name_bare_host=False,
    destroy_max_records=None,
    # No usage-limit module before the 2.4x releases.
    quotas=False,
    # [uncertain] the createMany runner updates then inserts with no transaction
    # (twenty-api.md §2.5); both profiles keep the atomic reading until a test says more.
    upsert_atomic=True,
    # [uncertain] parse-fields-rest-request.util.ts and the merge/groupBy REST routes
    # appear in 2026 code only (rest-api-core-field-projection.integration-spec.ts).
    rest_fields_param=False,
    rest_merge_and_group_by=False,
    rate_limit_headers_on_success=False,
    # [uncertain] company.accountOwner and task.assignee are in every release
    # (workspace-member.workspace-entity.ts: accountOwnerForCompanies, assignedTasks). The
    # opportunity owner is not in the older standard objects read
    # (workspace-sync-metadata/constants/standard-field-ids.ts OPPORTUNITY_STANDARD_FIELD_IDS,
    # and twenty-standard-application compute-opportunity-standard-flat-field-metadata.util.ts
    # of the plain-target era), and is in the newest; the release that added it is not
    # known, so this profile keeps it (replace(opportunity_owner=False) for an older 1.x).
    opportunity_owner=True,
)

PROFILE_2_4X = TwentyProfile(
    name="2.4x",
    majors=(2,),
    summary="current cloud and recent self-hosted releases, 2.40 to 2.46",
    # QueryMaxRecords.ts = 200 in 2026 code; Twenty's own import writes 200 per call.
    query_max_records=200,
    # server/src/engine/core-modules/usage-limit/ (usage-limit-speed.service.ts and its
    # REST/GraphQL exception handlers, twenty-api.md §6.3 and §13).
    throttle_style="newest",
    # npm twenty-client-sdk 2.43.0, dist/metadata/generated/schema.d.ts.
    metadata_schema="2.43",
    # PR #18628 (release 1.20): the writable rich-text type is RICH_TEXT, the v1 type is gone.
    rich_text_type="RICH_TEXT",
    legacy_rich_text_body=False,
    # twenty-standard-application task/note target morph fields targetPerson... (§5, §13).
    target_model="morph",
    # PR #24911 (merged 2026-08-27): domainName stored as the bare host.
    domain_name_bare_host=True,
    # The destroy-many runner refuses more than 60 records at once in the newest code
    # (twenty-api.md §13, REST details).
    destroy_max_records=60,
    # usage-limit module: 402 for a used-up allowance, 409 past WORKSPACE_RECORD_LIMIT.
    quotas=True,
    upsert_atomic=True,
    # input-request-parsers/fields-parser-utils/parse-fields-rest-request.util.ts and
    # rest-api-core-field-projection.integration-spec.ts.
    rest_fields_param=True,
    # rest-api-core-merge.integration-spec.ts, rest-api-core-group-by.integration-spec.ts.
    rest_merge_and_group_by=True,
    # [uncertain] usage-limit/utils/build-rate-limit-response-headers.util.ts is called only
    # by the 429 exception handler: successful answers carry no X-RateLimit-* headers.
    rate_limit_headers_on_success=False,
    # twenty-standard-application compute-opportunity-standard-flat-field-metadata.util.ts:
    # owner -> workspaceMember (ownedOpportunities), joinColumnName ownerId.
    opportunity_owner=True,
)

PROFILES: tuple[TwentyProfile, ...] = (PROFILE_1X, PROFILE_2_4X)
"""Every profile, oldest first."""

DEFAULT_PROFILE = PROFILES[-1]
"""The newest profile: what a sandbox is when no release is named."""

_RELEASE = re.compile(r"^v?(\d+)(?:\.(\d+|x))?(?:\.\d+)?$")


def sandbox_profile(release: str | TwentyProfile | None = None) -> TwentyProfile:
    """The profile that covers a Twenty release.

    Args:
        release: A release (``"1"``, ``"1.18"``, ``"2"``, ``"2.43"``, ``"v2.43.1"``), a
            profile's name (``"1.x"``, ``"2.4x"``), a profile (returned as it is), or None
            for the newest.

    Raises:
        ValueError: The release is malformed or no profile covers it; the message lists
            the profiles.
    """
    if release is None:
        return DEFAULT_PROFILE
    if isinstance(release, TwentyProfile):
        return release
    text = str(release).strip().lower()
    for profile in PROFILES:
        if text == profile.name:
            return profile
    match = _RELEASE.match(text)
    if match is None:
        raise ValueError(
            f"{release!r} is not a Twenty release. Give one such as 1.18 or 2.43; "
            f"profiles: {describe_profiles()}"
        )
    major = int(match.group(1))
    for profile in PROFILES:
        if major in profile.majors:
            return profile
    raise ValueError(f"No sandbox profile covers Twenty {release}. Profiles: {describe_profiles()}")


def describe_profiles() -> str:
    """One line per profile, for ``--help`` and error messages."""
    return "; ".join(
        f"{p.name} (releases {', '.join(f'{m}.*' for m in p.majors)}: {p.summary})"
        for p in PROFILES
    )
