"""FastAPI dependencies: the services, the reader and the caller. Tests swap them with
``app.dependency_overrides``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader
from starlette.concurrency import run_in_threadpool

from api.keys import Permission, Principal
from api.problems import Problem, ProblemCode
from api.services import Reader, Services

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False,
                              description="an API key from `caliber keys create --role ROLE`")


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def get_reader(services: Annotated[Services, Depends(get_services)]) -> Reader:
    if not services.models_loaded:
        raise Problem(ProblemCode.NOT_READY, services.load_error or "the models are still loading",
                      headers={"Retry-After": str(services.settings.retry_after_s)})
    return services.reader


async def get_registry(services: Annotated[Services, Depends(get_services)]) -> Any:
    if services.registry is None:
        raise Problem(ProblemCode.NOT_READY, services.registry_error or "the registry is not open")
    return services.registry


async def get_principal(
    services: Annotated[Services, Depends(get_services)],
    key: Annotated[str | None, Security(api_key_header)] = None,
) -> Principal:
    if not key:
        raise Problem(ProblemCode.UNAUTHORIZED, "send an API key in the X-API-Key header")
    principal = await run_in_threadpool(services.keys.authenticate, key)
    if principal is None:
        raise Problem(ProblemCode.UNAUTHORIZED, "the API key is not valid (unknown, revoked or mistyped)")
    return principal


def require(permission: Permission) -> Callable[..., Awaitable[Principal]]:
    async def check(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if not principal.may(permission):
            raise Problem(ProblemCode.FORBIDDEN, f"the role {principal.role} may not do {permission}")
        return principal

    return check
