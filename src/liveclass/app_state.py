"""What a request handler of the API or of the pages gets from the app it runs in: the
node's services (``create_app`` keeps them in ``app.state``). Both layers import it; neither
imports the other."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from liveclass.services import Services


async def get_services(request: Request) -> Services:
    # async on purpose: FastAPI runs a plain `def` dependency on a worker thread, a thread
    # hop on every request for what is an attribute read
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]
