"""``caliber serve``, ``caliber keys ...`` and ``caliber audit verify`` (registered by api.cli)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pydantic import ValidationError

from api.keys import DEV_KEY, Role
from api.settings import ServiceSettings, load_settings


def _settings(**overrides: object) -> ServiceSettings | None:
    try:
        return load_settings(**overrides)
    except ValidationError as exc:
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()))
            print(f"caliber: setting {where or '(settings)'}: {err.get('msg')}", file=sys.stderr)
        return None


def _engine(settings: ServiceSettings):  # type: ignore[no-untyped-def]
    from api.db import migrate, open_engine

    engine = open_engine(settings.resolved_database_url)
    migrate(engine)
    return engine


def _serve(args: argparse.Namespace) -> int:
    settings = _settings(host=args.host, port=args.port, dev_mode=True if args.dev_mode else None,
                         inference_workers=args.workers)
    if settings is None:
        return 2
    import uvicorn

    from api.app import create_app
    from api.keys import KeyStore

    app = create_app(settings)
    services = app.state.services
    url = f"http://{settings.host}:{settings.port}"
    print(f"caliber: serving on {url} (API documentation at {url}/docs); data in {settings.data_dir}",
          file=sys.stderr)
    print(f"caliber: database {services.engine.url.render_as_string(hide_password=True)}", file=sys.stderr)
    if settings.dev_mode:
        print(f"caliber: DEVELOPMENT MODE: the published key {DEV_KEY} is accepted as an admin "
              "(loopback only; never use this mode with real evidence)", file=sys.stderr)
    elif KeyStore(services.engine).active_count() == 0:
        print("caliber: no API keys yet. Create one in another terminal (the service needs no restart):\n"
              "    .venv/bin/caliber keys create --role admin\n"
              "then send it as the X-API-Key header.", file=sys.stderr)
    uvicorn.run(app, host=settings.host, port=settings.port, timeout_keep_alive=settings.keep_alive_timeout_s,
                log_level=args.log_level)
    return 0


def _keys_create(args: argparse.Namespace) -> int:
    from api.audit import AuditLog
    from api.keys import KeyStore

    settings = _settings()
    if settings is None:
        return 2
    engine = _engine(settings)
    key, info = KeyStore(engine).create(args.role, args.label)
    AuditLog(engine, settings.audit_head_file).append("cli", "key.created", info.id,
                                                      {"role": str(info.role), "label": info.label})
    print(key)
    print(f"caliber: key {info.id} ({info.role}) created; it is shown only now, keep it safe", file=sys.stderr)
    return 0


def _keys_list(args: argparse.Namespace) -> int:
    from api.keys import KeyStore

    settings = _settings()
    if settings is None:
        return 2
    for k in KeyStore(_engine(settings)).list():
        state = f"revoked {k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "active"
        print(f"{k.id}  {k.role:<10}  {k.created_at:%Y-%m-%d %H:%M}  {state:<24}  {k.label}")
    return 0


def _keys_revoke(args: argparse.Namespace) -> int:
    from api.audit import AuditLog
    from api.keys import KeyStore

    settings = _settings()
    if settings is None:
        return 2
    engine = _engine(settings)
    if not KeyStore(engine).revoke(args.key_id):
        print(f"caliber: no active key {args.key_id}", file=sys.stderr)
        return 1
    AuditLog(engine, settings.audit_head_file).append("cli", "key.revoked", args.key_id, {})
    print(f"caliber: key {args.key_id} revoked", file=sys.stderr)
    return 0


def _audit_verify(args: argparse.Namespace) -> int:
    from api.audit import verify

    settings = _settings()
    if settings is None:
        return 2
    head_file = settings.audit_head_file if args.head_file is None else args.head_file
    result = verify(_engine(settings), head_file if head_file.is_file() else None)
    if result.ok:
        print(f"audit log intact: {result.entries} entries")
        return 0
    print(f"audit log BROKEN at entry {result.first_bad}: {result.reason} "
          f"({result.entries} entries before it check out)")
    return 1


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    serve = sub.add_parser("serve", help="start the HTTP service",
                           description="Settings come from CALIBER_* environment variables (CALIBER_DATA_DIR, "
                                       "CALIBER_DATABASE_URL, CALIBER_INFERENCE_WORKERS, CALIBER_QUEUE_SIZE, ...); "
                                       "options here override them.")
    serve.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (default 8000)")
    serve.add_argument("--workers", type=int, default=None, help="photos read at the same time (default 2)")
    serve.add_argument("--dev-mode", action="store_true",
                       help=f"development mode: accept the published key {DEV_KEY} as an admin (loopback only)")
    serve.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"))
    serve.set_defaults(func=_serve)

    keys = sub.add_parser("keys", help="API keys of the service")
    ksub = keys.add_subparsers(dest="keys_command", required=True)
    create = ksub.add_parser("create", help="create a key and print it (shown once)")
    create.add_argument("--role", required=True, choices=[str(r) for r in Role])
    create.add_argument("--label", default="", help="who or what the key is for")
    create.set_defaults(func=_keys_create)
    lst = ksub.add_parser("list", help="list keys (never their secrets)")
    lst.set_defaults(func=_keys_list)
    rev = ksub.add_parser("revoke", help="revoke a key by its id")
    rev.add_argument("key_id")
    rev.set_defaults(func=_keys_revoke)

    audit = sub.add_parser("audit", help="the audit log")
    asub = audit.add_subparsers(dest="audit_command", required=True)
    ver = asub.add_parser("verify", help="check the hash chain; exit 1 naming the first bad entry")
    ver.add_argument("--head-file", type=Path, default=None,
                     help="recorded head to compare the end of the log with (default: DATA_DIR/audit-head.json)")
    ver.set_defaults(func=_audit_verify)
