"""Building the parts from settings: streams, topics, appliers. No I/O here."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from fnmatch import fnmatchcase

from drcommon.topics import TopicNames

from drapply.adapters.base import Stream, TargetSession
from drapply.applier import Applier
from drapply.ddl.runner import DdlHandling
from drapply.ddl.translate import DdlOptions
from drapply.naming import Naming
from drapply.observer import ApplyObserver
from drapply.plan import Planner
from drapply.policy import Policies
from drapply.settings import ApplyOptions, ApplySettings, TargetSettings
from drapply.values import Spill

ApplierFactory = Callable[[TargetSession, Stream], Applier]


def topic_names(settings: ApplySettings) -> TopicNames:
    return TopicNames(settings.kafka.topic_prefix, settings.source.database)


def naming_for(settings: ApplySettings, target: TargetSettings) -> Naming:
    return Naming(settings.renames, target.identifier_case, target.kind)


def schema_topics(settings: ApplySettings, topics: Iterable[str]) -> dict[str, str]:
    """Data topics whose schema matches ``source.schemas``: topic -> Oracle schema."""
    names = topic_names(settings)
    found = {}
    for topic in topics:
        owner = names.owner_of(topic)
        if owner is not None and any(fnmatchcase(owner, p) for p in settings.source.schemas):
            found[topic] = owner
    return dict(sorted(found.items()))


def explicit_schemas(settings: ApplySettings) -> list[str]:
    """Schemas named without wildcards (their topics can be created up front)."""
    return [s for s in settings.source.schemas if not any(ch in s for ch in "*?[")]


def stream_for(naming: Naming, topic: str, owner: str, partition: int = 0) -> Stream:
    return Stream(topic, partition, owner, naming.schema(owner))


def spill_for(options: ApplyOptions) -> Spill:
    """Where a stream keeps the large values it reassembles."""
    return Spill(options.value_spill_bytes, options.value_spill_dir)


def applier_factory(
    settings: ApplySettings, target: TargetSettings, observer: ApplyObserver
) -> ApplierFactory:
    """Appliers for one target; naming and policies are shared, planners per session."""
    naming = naming_for(settings, target)
    policies = Policies(settings.policies)

    options = DdlOptions(grants=settings.apply.ddl_grants,
                         oracle_other=settings.apply.ddl_oracle_other)  # fmt: skip
    ddl = DdlHandling(settings.apply.ddl, target.kind, naming, options)

    def make(session: TargetSession, stream: Stream) -> Applier:
        planner = Planner(naming, session.converter, settings.source)
        return Applier(
            session=session,
            stream=stream,
            planner=planner,
            policies=policies,
            options=settings.apply,
            observer=observer,
            ddl=ddl,
        )

    return make
