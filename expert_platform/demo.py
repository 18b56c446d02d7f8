"""Demo data for `make run` and `flask seed-demo`: accounts for every role, think tanks in several
member states, experts with varied expertise and languages, and a council of six delegations.

Everything is created through the services, as a person using the platform would create it, so
demo data always satisfies the same rules as real data. Development only (refused in production).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select

from .accounts import services as account_services
from .council import services as council_services
from .database import utcnow
from .enums import (
    CommentVisibility,
    DelegationRole,
    Dimension,
    MembershipRole,
    Participation,
    Position,
    ProfileVisibility,
    Recommendation,
    Role,
    RoundKind,
    TextStatus,
)
from .experts import services as expert_services
from .extensions import db
from .reference.models import MemberState
from .reference.services import load_reference_data
from .thinktanks import services as thinktank_services
from .thinktanks.models import ThinkTank

#: The accounts the README lists, one per role.
DEMO_ACCOUNTS = (
    ("secretariat@demo.example", "Amina Secretariat", "Saffron-Harbour-Lantern-26", {Role.ADMIN}),
    ("manager@demo.example", "Timur Manager", "Copper-Meadow-Violet-26", {Role.THINKTANK_MANAGER, Role.EXPERT}),
    ("expert@demo.example", "Li Wei Expert", "Granite-Orchard-Willow-26", {Role.EXPERT}),
    ("council@demo.example", "Sara Council", "Amber-Kettle-Cascade-26", {Role.COUNCIL_MEMBER}),
    ("researcher@demo.example", "Olga Researcher", "Silver-Thistle-Beacon-26", {Role.RESEARCHER}),
)
#: Every other demo person signs in with this password.
COLLEAGUE_PASSWORD = "Demo-Colleague-Harbour-26"


@dataclass(frozen=True)
class DemoThinkTank:
    name: str
    state: str
    participation: Participation
    manager: str
    description: str


THINK_TANKS = (
    DemoThinkTank("Steppe Institute for Strategic Studies", "KZ", Participation.LEAD, "manager@demo.example",
                  "Research on regional security, connectivity and **confidence-building** in Central Asia."),
    DemoThinkTank("Centre for Asian Security Dialogue", "CN", Participation.LEAD, "zhang.min@demo.example",
                  "Dialogue between the region's militaries and foreign ministries."),
    DemoThinkTank("Volga Forum for International Affairs", "RU", Participation.LEAD, "ivan.petrov@demo.example",
                  "Arms control, transparency measures and the fight against new threats."),
    DemoThinkTank("Bosphorus Policy Centre", "TR", Participation.PERMANENT, "mehmet.yilmaz@demo.example",
                  "Energy, trade corridors and disaster risk in the wider region."),
    DemoThinkTank("Mekong Water Research Institute", "TH", Participation.TEMPORARY, "somchai.wong@demo.example",
                  "Shared rivers, water diplomacy and climate adaptation."),
)


@dataclass(frozen=True)
class DemoExpert:
    email: str
    name: str
    think_tank: str
    role: MembershipRole
    title: str
    dimensions: tuple[Dimension, ...]
    keywords: tuple[str, ...]
    languages: tuple[str, ...]
    country: str
    visibility: ProfileVisibility
    orcid: str | None = None


EXPERTS = (
    DemoExpert("expert@demo.example", "Li Wei Expert", "KZ", MembershipRole.EXPERT, "Senior research fellow",
               (Dimension.ECONOMIC, Dimension.NEW_CHALLENGES), ("connectivity", "transport corridors"),
               ("en", "zh", "ru"), "KZ", ProfileVisibility.PUBLIC, "0000-0002-1825-0097"),
    DemoExpert("manager@demo.example", "Timur Manager", "KZ", MembershipRole.MANAGER, "Director of programmes",
               (Dimension.MILITARY_POLITICAL,), ("arms control", "transparency"), ("kk", "ru", "en"), "KZ",
               ProfileVisibility.PUBLIC),
    DemoExpert("aigerim.sadykova@demo.example", "Aigerim Sadykova", "KZ", MembershipRole.EXPERT, "Research fellow",
               (Dimension.ENVIRONMENTAL, Dimension.HUMAN), ("water", "aral sea", "education"), ("kk", "ru"), "KZ",
               ProfileVisibility.SIGNED_IN),
    DemoExpert("zhang.min@demo.example", "Zhang Min", "CN", MembershipRole.MANAGER, "Professor of international law",
               (Dimension.MILITARY_POLITICAL, Dimension.NEW_CHALLENGES), ("cyber security", "maritime"),
               ("zh", "en"), "CN", ProfileVisibility.PUBLIC, "0000-0001-5109-3700"),
    DemoExpert("ivan.petrov@demo.example", "Ivan Petrov", "RU", MembershipRole.MANAGER, "Head of department",
               (Dimension.MILITARY_POLITICAL,), ("military transparency", "arms control"), ("ru", "en"), "RU",
               ProfileVisibility.PUBLIC),
    DemoExpert("elena.smirnova@demo.example", "Elena Smirnova", "RU", MembershipRole.EXPERT, "Analyst",
               (Dimension.NEW_CHALLENGES,), ("drug trafficking", "terrorism"), ("ru",), "RU",
               ProfileVisibility.SIGNED_IN),
    DemoExpert("mehmet.yilmaz@demo.example", "Mehmet Yilmaz", "TR", MembershipRole.MANAGER, "Energy economist",
               (Dimension.ECONOMIC,), ("energy", "trade"), ("tr", "en"), "TR", ProfileVisibility.PUBLIC),
    DemoExpert("somchai.wong@demo.example", "Somchai Wong", "TH", MembershipRole.MANAGER, "Hydrologist",
               (Dimension.ENVIRONMENTAL,), ("water diplomacy", "mekong", "disaster risk"), ("th", "en"), "TH",
               ProfileVisibility.PUBLIC, "0000-0002-1694-233X"),
    DemoExpert("siti.rahma@demo.example", "Siti Rahma", "TH", MembershipRole.EXPERT, "Climate adaptation researcher",
               (Dimension.ENVIRONMENTAL, Dimension.HUMAN), ("climate adaptation", "public health"), ("id", "en"),
               "ID", ProfileVisibility.PUBLIC),
)

#: (email, name, member state, role): six delegations, each with a head, two with an alternate.
COUNCIL = (
    ("council@demo.example", "Sara Council", "KZ", DelegationRole.HEAD),
    ("nurlan.akhmetov@demo.example", "Nurlan Akhmetov", "KZ", DelegationRole.ALTERNATE),
    ("wang.fang@demo.example", "Wang Fang", "CN", DelegationRole.HEAD),
    ("sergey.volkov@demo.example", "Sergey Volkov", "RU", DelegationRole.HEAD),
    ("anna.kuznetsova@demo.example", "Anna Kuznetsova", "RU", DelegationRole.ALTERNATE),
    ("ayse.demir@demo.example", "Ayse Demir", "TR", DelegationRole.HEAD),
    ("priya.sharma@demo.example", "Priya Sharma", "IN", DelegationRole.HEAD),
    ("kanya.srisuk@demo.example", "Kanya Srisuk", "TH", DelegationRole.HEAD),
)


def _account(email: str, name: str, password: str, roles: set[Role], report) -> object:
    user = account_services.find_user_by_email(email)
    if user is None:
        user = account_services.create_user(
            email=email, display_name=name, password=password, roles=roles, is_email_confirmed=True
        )
        report(email, password, roles)
    return user


def seed(report) -> None:
    """Create whatever demo data is missing (idempotent). ``report(email, password, roles)`` is
    called for each account created. Raises DomainError when a service refuses something."""
    load_reference_data()
    states = {state.code: state for state in db.session.scalars(select(MemberState)) if state.code}
    for email, name, password, roles in DEMO_ACCOUNTS:
        _account(email, name, password, roles, report)
    secretariat = account_services.find_user_by_email(DEMO_ACCOUNTS[0][0])

    people = {}
    for expert in EXPERTS:
        people[expert.email] = _account(expert.email, expert.name, COLLEAGUE_PASSWORD, {Role.EXPERT}, report)

    think_tanks = {}
    for demo in THINK_TANKS:
        think_tanks[demo.state] = _think_tank(demo, states[demo.state], secretariat)

    for expert in EXPERTS:
        user = people[expert.email]
        think_tank = think_tanks[expert.think_tank]
        thinktank_services.add_member(actor=secretariat, think_tank=think_tank, user=user, role=expert.role)
        profile = expert_services.ensure_profile(user)
        if not profile.biography:
            expert_services.update_profile(
                actor=user,
                profile=profile,
                title=expert.title,
                affiliations=think_tank.name,
                biography=f"{expert.name} works at the {think_tank.name} on "
                f"{', '.join(expert.keywords)}.\n\n## Selected work\n\n- Policy briefs for the council\n",
                dimensions=[dimension.value for dimension in expert.dimensions],
                keywords=list(expert.keywords),
                languages=list(expert.languages),
                country_id=states[expert.country].id,
                orcid=expert.orcid,
                publication_links=[],
                visibility=expert.visibility.value,
            )

    for email, name, state, role in COUNCIL:
        member = _account(email, name, COLLEAGUE_PASSWORD, {Role.COUNCIL_MEMBER}, report)
        if council_services.current_seat_of(member) is None:
            council_services.appoint(actor=secretariat, user=member, member_state=states[state], role=role)
    db.session.flush()
    seed_proposals()


def _think_tank(demo: DemoThinkTank, state: MemberState, secretariat) -> ThinkTank:
    existing = db.session.scalar(select(ThinkTank).where(ThinkTank.name == demo.name))
    if existing is not None:
        return existing
    ends_on = date.today() + timedelta(days=365) if demo.participation == Participation.TEMPORARY else None
    manager = account_services.find_user_by_email(demo.manager)
    think_tank = thinktank_services.apply(
        actor=manager,
        name=demo.name,
        member_state_id=state.id,
        website=None,
        description=demo.description,
        contact_name=manager.display_name,
        contact_email=manager.email,
        participation=demo.participation.value,
        ends_on=ends_on,
    )
    thinktank_services.approve(
        actor=secretariat, think_tank=think_tank, participation=demo.participation.value, ends_on=ends_on
    )
    return think_tank


@dataclass(frozen=True)
class DemoRapporteur:
    """A council member made rapporteur; with a recommendation they have written their review."""

    email: str
    recommendation: Recommendation | None = None
    assessment: str = ""
    #: The secretariat shares the review with the authors (as "Rapporteur <n>").
    shared: bool = False


@dataclass(frozen=True)
class DemoComment:
    author: str
    visibility: CommentVisibility
    body: str
    #: (author's email, text): an answer in the same thread.
    answer: tuple[str, str] | None = None


@dataclass(frozen=True)
class DemoRound:
    """A consensus round: opened ``opened_ago`` before now with its deadline ``deadline_in`` from now
    (negative: passed); each position (council member's email, position, reason) is recorded an hour
    after the previous one, starting an hour after the opening. ``ending``: "settle" applies the rule
    now (a deadline passed), "close" closes it without consensus now; None leaves it open."""

    kind: RoundKind
    deadline_in: timedelta
    positions: tuple[tuple[str, Position, str | None], ...] = ()
    opened_ago: timedelta = timedelta(0)
    ending: str | None = None


@dataclass(frozen=True)
class DemoTranslation:
    """A translation its lead author writes into the draft before any workflow step (so it is frozen
    with the first revision)."""

    language: str
    title: str
    summary: str
    body: str
    status: TextStatus = TextStatus.TRANSLATION


@dataclass(frozen=True)
class DemoProposal:
    title: str
    language: str
    summary: str
    body: str
    dimensions: tuple[Dimension, ...]
    lead: str
    coauthors: tuple[str, ...]
    #: Workflow steps after creation: (action, who) with who in {"lead", "secretariat"}.
    steps: tuple[tuple[str, str], ...]
    rapporteurs: tuple[DemoRapporteur, ...] = ()
    comments: tuple[DemoComment, ...] = ()
    consensus: DemoRound | None = None
    #: How long ago the workflow steps were taken (rounds in the past need a past before them).
    steps_ago: timedelta = timedelta(0)
    translations: tuple[DemoTranslation, ...] = ()


_SUBMIT = (("submit", "lead"),)
_IN_REVIEW = (("submit", "lead"), ("start_review", "secretariat"))
_REVISED = (("submit", "lead"), ("start_review", "secretariat"), ("return_for_revision", "secretariat"),
            ("resubmit", "lead"))

_DAY = timedelta(days=1)
_KZ, _CN, _RU, _TR, _IN, _TH = (
    "council@demo.example", "wang.fang@demo.example", "sergey.volkov@demo.example", "ayse.demir@demo.example",
    "priya.sharma@demo.example", "kanya.srisuk@demo.example",
)
P = Position

PROPOSALS = (
    DemoProposal(
        "Early warning network for flash floods in shared river basins", "en",
        "Member states share river gauge data in real time and agree on one alert protocol.",
        "## Problem\n\nFlash floods cross borders faster than warnings do.\n\n## Proposed measure\n\n"
        "A shared network of river gauges with an agreed alert protocol.\n\n## Implementation\n\n"
        "1. Inventory of gauges\n2. Data-sharing agreement\n3. Joint exercises\n",
        (Dimension.ENVIRONMENTAL,), "somchai.wong@demo.example", ("siti.rahma@demo.example",), (),
        translations=(DemoTranslation(
            "ru", "Сеть раннего предупреждения о паводках в общих речных бассейнах",
            "Государства-члены обмениваются данными речных гидропостов в реальном времени и согласуют единый "
            "порядок оповещения.",
            "## Проблема\n\nПаводки пересекают границы быстрее, чем предупреждения.\n\n## Предлагаемая мера\n\n"
            "Общая сеть гидропостов с согласованным порядком оповещения.\n\n## Реализация\n\n"
            "1. Перечень гидропостов\n2. Соглашение об обмене данными\n3. Совместные учения\n"),)),
    DemoProposal(
        "Обмен данными о трансграничных перевозках опасных грузов", "ru",
        "Государства-члены обмениваются уведомлениями о перевозках опасных грузов.",
        "## Проблема\n\nПеревозки опасных грузов через границы плохо прослеживаются.\n\n"
        "## Предлагаемая мера\n\nЕдиный реестр уведомлений и контактные пункты в каждом государстве.\n",
        (Dimension.NEW_CHALLENGES, Dimension.ECONOMIC), "ivan.petrov@demo.example",
        ("elena.smirnova@demo.example",), _SUBMIT),
    DemoProposal(
        "Hotline between defence ministries for incidents at sea", "en",
        "A standing communication line and incident protocol between defence ministries.",
        "## Problem\n\nIncidents at sea escalate when nobody can be reached.\n\n## Proposed measure\n\n"
        "A hotline staffed around the clock, with a shared incident glossary.\n",
        (Dimension.MILITARY_POLITICAL,), "zhang.min@demo.example", ("expert@demo.example",),
        (*_REVISED, ("start_review", "secretariat")),
        rapporteurs=(
            DemoRapporteur(_IN, Recommendation.ENDORSE,
                           "The revised text answers the council's questions.\n\n"
                           "- The timetable is realistic.\n- The glossary should be annexed.", shared=True),
            DemoRapporteur(_TH),
        ),
        comments=(
            DemoComment(_IN, CommentVisibility.COUNCIL,
                        "Two delegations asked informally whether the hotline covers coast guards."),
            DemoComment("secretariat@demo.example", CommentVisibility.AUTHORS,
                        "Could you say who staffs the hotline at night?",
                        answer=("zhang.min@demo.example", "The duty officers of each ministry, in turns.")),
        )),
    DemoProposal(
        "Mutual recognition of vocational qualifications in logistics", "en",
        "Drivers and logistics staff work across borders with recognised qualifications.",
        "## Problem\n\nQualifications stop at the border.\n\n## Proposed measure\n\nA mutual recognition list.\n",
        (Dimension.ECONOMIC, Dimension.HUMAN), "expert@demo.example", ("manager@demo.example",),
        (("submit", "lead"), ("start_review", "secretariat"), ("return_for_revision", "secretariat"))),
    DemoProposal(
        "Locust outbreak alerts along shared grazing lands", "en",
        "Plant protection services warn each other of locust swarms within a day of sighting them.",
        "## Problem\n\nSwarms cross borders before the neighbours know.\n\n## Proposed measure\n\n"
        "A common alert form and a duty officer in each plant protection service.\n",
        (Dimension.ENVIRONMENTAL, Dimension.ECONOMIC), "somchai.wong@demo.example", (), _IN_REVIEW,
        rapporteurs=(
            DemoRapporteur(_KZ),
            DemoRapporteur(_RU, Recommendation.REVISE,
                           "Sound idea; the alert form needs the fields the FAO bulletin uses."),
        ),
        comments=(DemoComment(_RU, CommentVisibility.COUNCIL,
                              "Should the secretariat ask the FAO regional office for its view?"),)),
    DemoProposal(
        "Совместные учения по ликвидации последствий землетрясений", "ru",
        "Ежегодные совместные учения спасательных служб государств-членов.",
        "## Проблема\n\nСпасательные службы впервые встречаются во время бедствия.\n\n"
        "## Предлагаемая мера\n\nЕжегодные учения с обменом наблюдателями.\n",
        (Dimension.ENVIRONMENTAL, Dimension.HUMAN), "ivan.petrov@demo.example", (),
        (*_REVISED, ("start_review", "secretariat")),
        rapporteurs=(DemoRapporteur(_IN, Recommendation.ENDORSE, "Ready for the council's decision."),),
        consensus=DemoRound(RoundKind.STANDARD, 4 * _DAY,
                            ((_CN, P.ENDORSE, None), (_TR, P.STAND_ASIDE, None)))),
    DemoProposal(
        "Common protocol for mountain rescue across borders", "en",
        "Rescue teams may cross a border in pursuit of a rescue, under one notification protocol.",
        "## Problem\n\nRescue teams stop at the border while climbers wait.\n\n## Proposed measure\n\n"
        "A notification protocol and a list of crossing points open to rescue teams.\n",
        (Dimension.HUMAN,), "zhang.min@demo.example", (), _IN_REVIEW,
        rapporteurs=(DemoRapporteur(_TR, Recommendation.ENDORSE, "Uncontroversial; the silence procedure fits."),),
        consensus=DemoRound(RoundKind.SILENCE, 5 * _DAY,
                            ((_RU, P.ENDORSE, None),
                             (_IN, P.ENDORSE_WITH_RESERVATION, "Crossing points are to be agreed bilaterally.")))),
    DemoProposal(
        "Regional cyber incident contact points", "en",
        "Each member state names a contact point for cyber incidents affecting another member state.",
        "## Problem\n\nCyber incidents spread before anyone calls.\n\n## Proposed measure\n\n"
        "Named national contact points, a directory kept by the secretariat and yearly tests.\n",
        (Dimension.NEW_CHALLENGES,), "zhang.min@demo.example", ("expert@demo.example", "manager@demo.example"),
        _IN_REVIEW,
        rapporteurs=(DemoRapporteur(_IN, Recommendation.ENDORSE, "A modest, useful measure."),),
        consensus=DemoRound(RoundKind.STANDARD, 3 * _DAY, (
            (_CN, P.ENDORSE, None),
            (_RU, P.ENDORSE_WITH_RESERVATION, "The directory is to hold no personal data beyond a function."),
            (_TR, P.STAND_ASIDE, None),
            (_IN, P.ENDORSE_WITH_RESERVATION, "Yearly tests to be scheduled outside national holidays."),
            (_TH, P.ENDORSE, None),
            (_KZ, P.ENDORSE, None),
        ))),
    DemoProposal(
        "Shared seismic data for earthquake early warning", "en",
        "Seismic networks share their readings in real time so that neighbours can warn before the waves arrive.",
        "## Problem\n\nSeconds of warning save lives, and the nearest sensor is often across a border.\n\n"
        "## Proposed measure\n\nA real-time exchange of seismic readings between national networks.\n",
        (Dimension.ENVIRONMENTAL,), "somchai.wong@demo.example", ("siti.rahma@demo.example",), _IN_REVIEW,
        steps_ago=12 * _DAY,
        translations=(DemoTranslation(
            "ru", "Обмен сейсмическими данными для раннего предупреждения о землетрясениях",
            "Сейсмические сети обмениваются показаниями в реальном времени, чтобы соседи могли предупредить "
            "население до прихода волн.",
            "## Проблема\n\nСекунды предупреждения спасают жизни, а ближайший датчик часто находится по ту "
            "сторону границы.\n\n## Предлагаемая мера\n\nОбмен сейсмическими показаниями между национальными "
            "сетями в реальном времени.\n",
            TextStatus.CHECKED_TRANSLATION),),
        consensus=DemoRound(RoundKind.SILENCE, -3 * _DAY, (
            (_CN, P.ENDORSE, None),
            (_TR, P.ENDORSE_WITH_RESERVATION, "Readings are shared for warning only, not for publication."),
        ), opened_ago=10 * _DAY, ending="settle")),
    DemoProposal(
        "Joint observation of military exercises near borders", "en",
        "Observers from neighbouring member states attend exercises held within 50 km of a border.",
        "## Problem\n\nExercises near borders are misread.\n\n## Proposed measure\n\nInvited observers.\n",
        (Dimension.MILITARY_POLITICAL,), "manager@demo.example", (), _IN_REVIEW,
        steps_ago=12 * _DAY,
        consensus=DemoRound(RoundKind.STANDARD, -3 * _DAY, (
            (_RU, P.ENDORSE, None),
            (_CN, P.OBJECT, "Observation should follow the existing confidence-building catalogue instead."),
            (_TR, P.STAND_ASIDE, None),
        ), opened_ago=10 * _DAY, ending="close")),
    DemoProposal(
        "Туристические визы для участников культурных фестивалей", "ru",
        "Упрощённые визы для участников культурных фестивалей в государствах-членах.",
        "## Проблема\n\nУчастники фестивалей не успевают получить визы.\n",
        (Dimension.HUMAN,), "elena.smirnova@demo.example", (), (("submit", "lead"), ("withdraw", "lead"))),
)


def seed_proposals() -> None:
    """Proposals in every state, in English and Russian, with co-authors and several revisions; under
    review with rapporteurs, reviews and comments; open rounds of both kinds; endorsed with reservations;
    and one closed without consensus. Through the services only; a proposal whose title exists is skipped."""
    from .proposals.models import Proposal

    secretariat = account_services.find_user_by_email(DEMO_ACCOUNTS[0][0])
    for demo in PROPOSALS:
        if db.session.scalar(select(Proposal.id).where(Proposal.title == demo.title)) is not None:
            continue
        _seed_proposal(demo, secretariat)


def _seed_proposal(demo: DemoProposal, secretariat) -> None:
    from .proposals import coauthors as coauthor_services
    from .proposals import services as proposal_services
    from .proposals import translations as proposal_translations
    from .proposals import workflow
    from .review import services as review_services

    person = account_services.find_user_by_email
    lead = person(demo.lead)
    proposal = proposal_services.create_draft(
        actor=lead,
        content=proposal_services.Content(
            title=demo.title, summary=demo.summary, body=demo.body, language=demo.language,
            dimensions=[dimension.value for dimension in demo.dimensions], member_state_ids=(),
            keywords=(),
        ),
    )
    for email in demo.coauthors:
        coauthor = person(email)
        coauthor_services.invite(actor=lead, proposal=proposal, user=coauthor)
        coauthor_services.respond(actor=coauthor, proposal=proposal, accept=True)
    for translation in demo.translations:
        proposal_translations.save_translation(
            actor=lead, proposal=proposal, language=translation.language, opened_at_version=proposal.version,
            content=proposal_translations.TranslationContent(
                title=translation.title, summary=translation.summary, body=translation.body,
                status=translation.status.value,
            ),
        )
    actors = {"lead": lead, "secretariat": secretariat}
    # One step an hour, the last one ``steps_ago`` before now (never in the future).
    started = utcnow() - demo.steps_ago - len(demo.steps) * timedelta(hours=1)
    for number, (action, who) in enumerate(demo.steps):
        note = "Please add an implementation timetable." if action == "return_for_revision" else None
        if action == "resubmit":
            proposal_services.save_content(
                actor=lead, proposal=proposal, opened_at_version=proposal.version,
                content=proposal_services.Content(
                    title=proposal.title, summary=proposal.summary,
                    body=proposal.body + "\n## Timetable\n\nYear 1: agreement. Year 2: first exercise.\n",
                    language=proposal.language, dimensions=[d.dimension.value for d in proposal.dimensions],
                    member_state_ids=(), keywords=(),
                ),
            )
        workflow.transition(proposal, action, actor=actors[who], note=note,
                            now=started + (number + 1) * timedelta(hours=1))

    for rapporteur in demo.rapporteurs:
        assignment = review_services.assign_rapporteur(actor=secretariat, proposal=proposal,
                                                       user=person(rapporteur.email))
        if rapporteur.recommendation is not None:
            review = review_services.save_review(actor=assignment.user, proposal=proposal,
                                                 recommendation=rapporteur.recommendation,
                                                 assessment=rapporteur.assessment)
            if rapporteur.shared:
                review_services.share_review(actor=secretariat, proposal=proposal, review=review)
    for comment in demo.comments:
        thread = review_services.add_comment(actor=person(comment.author), proposal=proposal, body=comment.body,
                                             visibility=comment.visibility)
        if comment.answer is not None:
            author, body = comment.answer
            review_services.add_comment(actor=person(author), proposal=proposal, body=body, parent=thread)

    if demo.consensus is not None:
        _seed_round(demo.consensus, proposal, secretariat)


def _seed_round(demo: DemoRound, proposal, secretariat) -> None:
    """Open the round (in the past when it is to be decided now), record its positions before the
    deadline, then settle or close it with the real clock."""
    from .review import rounds

    now = utcnow()
    opened_at = now - demo.opened_ago
    rounds.open_round(actor=secretariat, proposal=proposal, kind=demo.kind, deadline_at=now + demo.deadline_in,
                      now=opened_at if demo.opened_ago else None)
    for number, (email, position, reason) in enumerate(demo.positions, start=1):
        rounds.record_position(actor=account_services.find_user_by_email(email), proposal=proposal,
                               position=position, reason=reason,
                               now=opened_at + number * timedelta(hours=1) if demo.opened_ago else None)
    if demo.ending == "settle":
        rounds.settle(proposal=proposal)
    elif demo.ending == "close":
        rounds.close_without_consensus(actor=secretariat, proposal=proposal,
                                       note="The objection stood at the deadline.")
