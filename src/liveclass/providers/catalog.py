"""The hosted providers this code knows, by the name a session's ``provider`` gives.

One entry per provider: a function that builds it from the settings. The settings each
needs are listed by ``Settings.hosted_missing``; a provider whose settings are missing is
not built, and a session naming it is refused (``PROVIDER_UNAVAILABLE``). Everything else
(sessions, joins, webhooks at ``/providers/{name}/webhook``, recordings, the contract
suite) follows from the entry.
"""

from __future__ import annotations

from collections.abc import Callable

from liveclass.config import Settings
from liveclass.providers.agora import AgoraProvider
from liveclass.providers.daily import DailyProvider
from liveclass.providers.hosted import HostedProvider
from liveclass.providers.jitsi import JitsiProvider
from liveclass.providers.meet import MeetProvider
from liveclass.providers.teams import TeamsProvider
from liveclass.providers.zoom import ZoomProvider

HostedFactory = Callable[[Settings], HostedProvider]

HOSTED: dict[str, HostedFactory] = {
    "daily": DailyProvider.from_settings,
    "zoom": ZoomProvider.from_settings,
    "jitsi": JitsiProvider.from_settings,
    "meet": MeetProvider.from_settings,
    "agora": AgoraProvider.from_settings,
    "teams": TeamsProvider.from_settings,
}


def configured_hosted(settings: Settings) -> dict[str, HostedProvider]:
    """The hosted providers whose settings are all there, built."""
    return {
        name: build(settings) for name, build in HOSTED.items() if settings.hosted_configured(name)
    }
