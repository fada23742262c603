"""Twenty's standard objects (company, person, opportunity, task, note, targets, members)."""

from __future__ import annotations

from typing import Any

from twenty_migrate.sandbox.metadata.model import (
    JSON,
    PERSON_HAS_CITY,
    FieldMeta,
    ObjectMeta,
    metadata_id,
    system_fields,
)
from twenty_migrate.sandbox.metadata.ops import relation_pair
from twenty_migrate.sandbox.metadata.registry import Registry
from twenty_migrate.sandbox.profiles import TwentyProfile


class _Builder:
    """Small helper to declare standard objects."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.pending: list[tuple[str, str, str, str, str, str, str, bool]] = []

    def obj(
        self,
        singular: str,
        plural: str,
        label_singular: str,
        label_plural: str,
        *,
        identifier: str = "name",
        icon: str | None = None,
        system: bool = False,
        duplicate_criteria: list[list[str]] | None = None,
    ) -> ObjectMeta:
        obj = ObjectMeta(
            id=metadata_id(singular),
            name_singular=singular,
            name_plural=plural,
            label_singular=label_singular,
            label_plural=label_plural,
            icon=icon,
            is_system=system,
            label_identifier_field=identifier,
            duplicate_criteria=duplicate_criteria,
        )
        for f in system_fields(singular):
            obj.fields[f.name] = f
        return obj

    def add(self, obj: ObjectMeta, name: str, label: str, ftype: str, **kw: Any) -> FieldMeta:
        f = FieldMeta(
            id=metadata_id(obj.name_singular, name), name=name, label=label, type=ftype, **kw
        )
        if ftype in ("EMAILS", "LINKS", "PHONES") and f.settings is None and kw.get("is_unique"):
            f.settings = {"maxNumberOfValues": 1}
        obj.fields[name] = f
        return f

    def relate(
        self,
        many: str,
        many_name: str,
        many_label: str,
        one: str,
        one_name: str,
        one_label: str,
        on_delete: str = "SET_NULL",
        morph: bool = False,
    ) -> None:
        self.pending.append(
            (many, many_name, many_label, one, one_name, one_label, on_delete, morph)
        )

    def finish(self) -> None:
        reg = self.registry
        for many, many_name, many_label, one, one_name, one_label, on_delete, morph in self.pending:
            many_obj = reg.by_singular(many)
            one_obj = reg.by_singular(one)
            if many_obj is None or one_obj is None:
                continue
            m2o, o2m = relation_pair(
                many_obj,
                many_name,
                many_label,
                one_obj,
                one_name,
                one_label,
                on_delete,
                custom=False,
                morph=morph,
            )
            reg._attach(many_obj, m2o)
            reg._attach(one_obj, o2m)


def _stage_options() -> list[JSON]:
    values = ["NEW", "SCREENING", "MEETING", "PROPOSAL", "CUSTOMER"]
    colors = ["red", "purple", "sky", "turquoise", "yellow"]
    return [
        {
            "id": metadata_id("opportunity", "stage", v),
            "value": v,
            "label": v.title(),
            "position": i,
            "color": colors[i],
        }
        for i, v in enumerate(values)
    ]


def _task_status_options() -> list[JSON]:
    items = [
        ("TODO", "To do", "sky"),
        ("IN_PROGRESS", "In progress", "purple"),
        ("DONE", "Done", "green"),
    ]
    return [
        {
            "id": metadata_id("task", "status", v),
            "value": v,
            "label": label,
            "position": i,
            "color": color,
        }
        for i, (v, label, color) in enumerate(items)
    ]


def build_standard_registry(
    profile: TwentyProfile | None = None, *, attachments: bool = True
) -> Registry:
    """A registry with Twenty's standard objects, as ``profile``'s release defines them.

    Args:
        profile: the release family (the newest when None); see :func:`standard_registry`.
        attachments: include the ``attachment`` object.

    Returns:
        A new registry (company, person, opportunity, task, note, taskTarget, noteTarget,
        workspaceMember and optionally attachment).
    """
    reg = Registry(profile)
    morph_targets = reg.profile.morph_targets
    b = _Builder(reg)

    member = b.obj(
        "workspaceMember",
        "workspaceMembers",
        "Workspace Member",
        "Workspace Members",
        icon="IconUserCircle",
        system=True,
    )
    b.add(member, "name", "Name", "FULL_NAME", icon="IconCircleUser")
    b.add(member, "userEmail", "User Email", "TEXT", icon="IconMail")
    b.add(member, "userId", "User Id", "UUID", icon="IconCircleUsers")
    b.add(
        member,
        "colorScheme",
        "Color Scheme",
        "TEXT",
        default_value="'System'",
        icon="IconColorSwatch",
    )
    b.add(member, "locale", "Language", "TEXT", default_value="'en'", icon="IconLanguage")
    b.add(member, "avatarUrl", "Avatar Url", "TEXT", icon="IconFileUpload")
    b.add(member, "timeZone", "Time zone", "TEXT", default_value="'system'", icon="IconTimezone")

    company = b.obj(
        "company",
        "companies",
        "Company",
        "Companies",
        icon="IconBuildingSkyscraper",
        duplicate_criteria=[["name"], ["domainNamePrimaryLinkUrl"]],
    )
    b.add(company, "name", "Name", "TEXT", icon="IconBuildingSkyscraper")
    b.add(
        company,
        "domainName",
        "Domain",
        "LINKS",
        is_unique=True,
        # PR #24911: the links variant "domain" (settings.type) stores the bare host.
        settings=(
            {"maxNumberOfValues": 1, "type": "domain"}
            if reg.profile.domain_name_bare_host
            else None
        ),
        icon="IconLink",
        description="The company website URL. We use this url to fetch the company icon",
    )
    b.add(
        company,
        "employees",
        "Employees",
        "NUMBER",
        icon="IconUsers",
        settings={"type": "number", "decimals": 0},
    )
    b.add(company, "linkedinLink", "Linkedin", "LINKS", icon="IconBrandLinkedin")
    b.add(company, "xLink", "X", "LINKS", icon="IconBrandX")
    b.add(company, "annualRecurringRevenue", "ARR", "CURRENCY", icon="IconMoneybag")
    b.add(company, "address", "Address", "ADDRESS", icon="IconMap")
    b.add(
        company,
        "idealCustomerProfile",
        "ICP",
        "BOOLEAN",
        is_nullable=False,
        default_value=False,
        icon="IconTarget",
    )

    person = b.obj(
        "person",
        "people",
        "Person",
        "People",
        icon="IconUser",
        duplicate_criteria=[
            ["nameFirstName", "nameLastName"],
            ["linkedinLinkPrimaryLinkUrl"],
            ["emailsPrimaryEmail"],
        ],
    )
    b.add(person, "name", "Name", "FULL_NAME", icon="IconUser")
    b.add(person, "emails", "Emails", "EMAILS", is_unique=True, icon="IconMail")
    b.add(person, "linkedinLink", "Linkedin", "LINKS", icon="IconBrandLinkedin")
    b.add(person, "xLink", "X", "LINKS", icon="IconBrandX")
    b.add(person, "jobTitle", "Job Title", "TEXT", icon="IconBriefcase")
    b.add(person, "phones", "Phones", "PHONES", icon="IconPhone")
    if PERSON_HAS_CITY:
        b.add(person, "city", "City", "TEXT", icon="IconMap")
    b.add(person, "avatarUrl", "Avatar", "TEXT", is_system=True, icon="IconFileUpload")

    opportunity = b.obj(
        "opportunity", "opportunities", "Opportunity", "Opportunities", icon="IconTargetArrow"
    )
    b.add(opportunity, "name", "Name", "TEXT", icon="IconTargetArrow")
    b.add(opportunity, "amount", "Amount", "CURRENCY", icon="IconCurrencyDollar")
    b.add(opportunity, "closeDate", "Close date", "DATE_TIME", icon="IconCalendarEvent")
    b.add(
        opportunity,
        "stage",
        "Stage",
        "SELECT",
        is_nullable=False,
        default_value="'NEW'",
        options=_stage_options(),
        icon="IconProgressCheck",
    )

    task = b.obj("task", "tasks", "Task", "Tasks", identifier="title", icon="IconCheckbox")
    b.add(task, "title", "Title", "TEXT", icon="IconNotes")
    if reg.profile.legacy_rich_text_body:
        b.add(task, "body", "Body (deprecated)", "RICH_TEXT", icon="IconFilePencil")
    b.add(task, "bodyV2", "Body", reg.profile.rich_text_type, icon="IconFilePencil")
    b.add(task, "dueAt", "Due Date", "DATE_TIME", icon="IconCalendarEvent")
    b.add(
        task,
        "status",
        "Status",
        "SELECT",
        default_value="'TODO'",
        options=_task_status_options(),
        icon="IconProgressCheck",
    )

    note = b.obj("note", "notes", "Note", "Notes", identifier="title", icon="IconNotes")
    b.add(note, "title", "Title", "TEXT", icon="IconNotes")
    if reg.profile.legacy_rich_text_body:
        b.add(note, "body", "Body (deprecated)", "RICH_TEXT", icon="IconFilePencil")
    b.add(note, "bodyV2", "Body", reg.profile.rich_text_type, icon="IconFilePencil")

    task_target = b.obj(
        "taskTarget",
        "taskTargets",
        "Task Target",
        "Task Targets",
        identifier="id",
        icon="IconCheckbox",
        system=True,
    )
    note_target = b.obj(
        "noteTarget",
        "noteTargets",
        "Note Target",
        "Note Targets",
        identifier="id",
        icon="IconCheckbox",
        system=True,
    )
    objects = [member, company, person, opportunity, task, note, task_target, note_target]
    attachment = None
    if attachments:
        attachment = b.obj(
            "attachment",
            "attachments",
            "Attachment",
            "Attachments",
            icon="IconFileImport",
            system=True,
        )
        b.add(attachment, "name", "Name", "TEXT", icon="IconFileUpload")
        b.add(attachment, "fullPath", "Full path", "TEXT", icon="IconLink")
        b.add(attachment, "fileCategory", "File category", "TEXT", icon="IconList")
        objects.append(attachment)
    for obj in objects:
        reg.add_object(obj)

    b.relate(
        "company",
        "accountOwner",
        "Account Owner",
        "workspaceMember",
        "accountOwnerForCompanies",
        "Account Owner For Companies",
    )
    b.relate("person", "company", "Company", "company", "people", "People")
    b.relate(
        "opportunity",
        "pointOfContact",
        "Point of Contact",
        "person",
        "pointOfContactForOpportunities",
        "Linked Opportunities",
    )
    b.relate("opportunity", "company", "Company", "company", "opportunities", "Opportunities")
    if reg.profile.opportunity_owner:
        b.relate(
            "opportunity",
            "owner",
            "Owner",
            "workspaceMember",
            "ownedOpportunities",
            "Owned opportunities",
        )
    b.relate("task", "assignee", "Assignee", "workspaceMember", "assignedTasks", "Assigned tasks")
    b.relate("taskTarget", "task", "Task", "task", "taskTargets", "Relations", on_delete="CASCADE")
    b.relate("noteTarget", "note", "Note", "note", "noteTargets", "Relations", on_delete="CASCADE")
    targets = [("person", "Person"), ("company", "Company"), ("opportunity", "Opportunity")]
    for holder, back in (("taskTarget", "taskTargets"), ("noteTarget", "noteTargets")):
        for target, label in targets:
            name = f"target{label}" if morph_targets else target
            b.relate(
                holder,
                name,
                label,
                target,
                back,
                label_plural(holder),
                on_delete="CASCADE",
                morph=morph_targets,
            )
    if attachment is not None:
        for target, label in [*targets, ("task", "Task"), ("note", "Note")]:
            name = f"target{label}" if morph_targets else target
            b.relate(
                "attachment",
                name,
                label,
                target,
                "attachments",
                "Attachments",
                on_delete="CASCADE",
                morph=morph_targets,
            )
        b.relate(
            "attachment",
            "author",
            "Author",
            "workspaceMember",
            "authoredAttachments",
            "Authored attachments",
        )
    b.finish()
    reg.version = 1
    return reg


def label_plural(name: str) -> str:
    """Label of a target back-relation ("taskTarget" -> "Tasks")."""
    return "Tasks" if name == "taskTarget" else "Notes"


def standard_registry(
    profile: TwentyProfile | None = None, *, attachments: bool = True
) -> Registry:
    """A registry with Twenty's standard objects, as the profile's release defines them.

    Args:
        profile: the Twenty release family (the newest when None). Its ``target_model``
            names task/note/attachment targets (``targetPerson`` with join column
            ``targetPersonId``, or ``person`` with ``personId``), its rich-text type and
            legacy ``body`` shape tasks and notes.
        attachments: include the ``attachment`` object.

    Returns:
        A new registry (company, person, opportunity, task, note, taskTarget, noteTarget,
        workspaceMember and optionally attachment).
    """
    return build_standard_registry(profile, attachments=attachments)
