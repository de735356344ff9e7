"""``intake``: the command line of the assistant.

intake run        start Rasa, the action server and the app (Ctrl-C / SIGTERM stops them all)
intake serve      the app alone, against the Rasa at RASA_URL (production; see deploy/)
intake rasa       the Rasa server alone (production)
intake actions    the action server alone (production)
intake shell      talk to the assistant in the terminal, through the full pipeline
intake train      build the Rasa environment if needed and train (skipped when unchanged)
intake migrate    create or upgrade the app's database
intake evaluate   NLU accuracy per language (blind test + dev sets); writes docs/nlu-evaluation.md
intake content    check the program content pack; writes docs/program-content.md (SMS cost, sources)
intake telegram-webhook   register this app's Telegram webhook (secret token, allowed updates)
intake telegram-poll      local development: read Telegram by polling (removes the webhook!)
intake user       caseworker accounts: create, unlock, deactivate, activate
intake token      integration API tokens: create, revoke
intake erase      erase a person's data (a request by phone or in person), with a receipt reference
intake purge      apply the retention policy now (--dry-run: counts only)
intake keys       data keys: init, new, rotate (re-encrypts the stored data under a new key)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from bot.settings import PROJECT_ROOT, Settings, run_rasa_token


def _progress(message: str) -> None:
    print(message, flush=True)


def cmd_train(args: argparse.Namespace) -> int:
    from bot.runtime import training

    settings = Settings.from_env()
    if args.validate:
        _progress("[validate] rasa data validate")
        training.validate_data(_progress)
        _progress("[validate] domain, rules and NLU data are consistent")
    training.ensure_model(settings.model_dir, force=args.force, progress=_progress)
    return 0


def cmd_migrate(_args: argparse.Namespace) -> int:
    from bot.store import migrate

    settings = Settings.from_env()
    migrate.upgrade(settings.database_url)
    _progress("[migrate] database is at the latest revision")
    return 0


@contextlib.contextmanager
def _running_services(settings: Settings) -> Iterator[None]:
    """Train if needed, start the action server and Rasa, and stop them on the way out."""
    from bot.runtime import training
    from bot.runtime.services import Services

    model = training.ensure_model(settings.model_dir, progress=_progress)
    services = Services(settings, model, settings.data_dir / "logs")
    _progress("[run] starting the action server and Rasa (Rasa takes ~30s to load)")
    services.start()
    try:
        services.wait_ready()
        yield
    finally:
        _progress("[run] stopping Rasa and the action server")
        services.stop()


def _banner(settings: Settings, rasa_line: str) -> str:
    base = f"http://{settings.app_host}:{settings.app_port}"
    return "\n".join(
        [
            "",
            f"  Web chat:      {base}/chat",
            f"  Caseworkers:   {base}/caseworker/ (accounts: intake user create)",
            f"  Health:        {base}/healthz",
            f"  API schema:    {base}/openapi.json",
            rasa_line,
            f"  Logs:          {settings.data_dir / 'logs'}",
            "  Press Ctrl-C to stop everything.",
            "",
        ]
    )


def _check_ports(settings: Settings, *others: tuple[str, str, int]) -> None:
    """Every port the command needs is free now, or ``PortInUse`` names each taken one."""
    from bot.runtime import ports

    needs = [ports.Need("APP_PORT", settings.app_host, settings.app_port)]
    ports.require_free(needs + [ports.Need(*other) for other in others])


def _app_socket(settings: Settings):  # type: ignore[no-untyped-def]
    """The app's listening socket, bound only when the app is ready to answer (while Rasa
    loads, connections are refused rather than left hanging); ``PortInUse`` if it was taken
    meanwhile."""
    from bot.runtime import ports

    try:
        return ports.bind(settings.app_host, settings.app_port)
    except OSError:
        _check_ports(settings)
        raise


async def _run_embedded(settings: Settings, model: Path, signals) -> None:  # type: ignore[no-untyped-def]
    """Rasa and the action server (supervised), then the app, until SIGTERM / SIGINT."""
    from bot.app import create_app
    from bot.runtime import process_life
    from bot.runtime.health import StackHealth
    from bot.runtime.services import Services
    from bot.runtime.supervisor import Supervisor

    stop = asyncio.Event()
    signals.notify(asyncio.get_running_loop(), stop)
    supervisor = Supervisor(Services(settings, model, settings.data_dir / "logs"))
    try:
        _progress("[run] starting the action server and Rasa (Rasa takes ~30s to load)")
        starting = asyncio.create_task(supervisor.start())
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not starting.done():  # stopped while Rasa was loading
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await starting
            return
        starting.result()  # RuntimeError when one did not start: reported by main()
        rasa_line = (
            f"  Rasa:          {settings.rasa_url} (model {model.name})\n"
            f"  Action server: {settings.action_server_url}"
        )
        _progress(_banner(settings, rasa_line))
        health = StackHealth(settings, model.name, supervisor)
        app = create_app(settings, stack_health=health)
        with _app_socket(settings) as sock:
            await process_life.serve_app(app, sock, stop, log_level=settings.log_level.lower())
    finally:
        _progress("[run] stopping Rasa and the action server")
        await supervisor.stop()
        signals.detach()


def cmd_run(_args: argparse.Namespace) -> int:
    """Everything in one command: SIGTERM and SIGINT stop the app, Rasa and the action server."""
    from bot.runtime import process_life, training
    from bot.store import migrate

    with process_life.handled_signals() as signals:
        try:
            # Rasa's HTTP API token: RASA_AUTH_TOKEN, or a new one for this run
            settings = replace(Settings.from_env(), rasa_auth_token=run_rasa_token())
            _check_ports(
                settings,
                ("RASA_PORT", settings.rasa_host, settings.rasa_port),
                ("ACTIONS_PORT", settings.actions_host, settings.actions_port),
            )
            migrate.upgrade(settings.database_url)
            model = training.ensure_model(settings.model_dir, progress=_progress)
            asyncio.run(_run_embedded(settings, model, signals))
        except process_life.Shutdown:
            pass
    _progress("[run] stopped")
    return 0


def _configured_token(command: str) -> None:
    import os

    if not os.environ.get("RASA_AUTH_TOKEN", "").strip():
        raise ValueError(
            "set RASA_AUTH_TOKEN (the same value for the app and every Rasa server; generate "
            "one with python -c 'import secrets; print(secrets.token_urlsafe(32))') "
            f"before `intake {command}`"
        )


async def _serve_alone(settings: Settings, sock, signals) -> None:  # type: ignore[no-untyped-def]
    from bot.app import create_app
    from bot.runtime import process_life
    from bot.runtime.health import StackHealth

    stop = asyncio.Event()
    signals.notify(asyncio.get_running_loop(), stop)
    try:
        health = StackHealth(settings, settings.expected_model().name)
        app = create_app(settings, stack_health=health)
        await process_life.serve_app(app, sock, stop, log_level=settings.log_level.lower())
    finally:
        signals.detach()


def cmd_serve(_args: argparse.Namespace) -> int:
    """The app alone, against the Rasa at RASA_URL (production: several of these)."""
    from bot.runtime import process_life
    from bot.store import migrate

    with process_life.handled_signals() as signals:
        try:
            _configured_token("serve")
            settings = Settings.from_env()
            if migrate.pending(settings.database_url):
                raise RuntimeError(
                    "the database is not at the latest revision: run `intake migrate` first"
                )
            sock = _app_socket(settings)
            try:
                rasa_line = (
                    f"  Rasa:          {settings.rasa_url} (expects model "
                    f"{settings.expected_model().name})"
                )
                _progress(_banner(settings, rasa_line).replace("everything", "the app"))
                asyncio.run(_serve_alone(settings, sock, signals))
            finally:
                sock.close()
        except process_life.Shutdown:
            pass
    return 0


def _exec(args: list[str], env: dict[str, str]) -> int:
    """Become the server (no parent left in between: systemd and container runtimes signal
    and watch the server itself)."""
    import os

    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(args[0], args, env)  # noqa: S606 - the argument list, no shell
    return 1  # not reached


def cmd_rasa(_args: argparse.Namespace) -> int:
    """Rasa alone, with the same settings `intake run` gives it (model, endpoints, tracker and
    lock stores, token)."""
    from bot.runtime import ports, rasa_env
    from bot.runtime.services import Services

    _configured_token("rasa")
    settings = Settings.from_env()
    model = settings.expected_model()
    if not model.exists():
        raise RuntimeError(f"no model at {model}: run `intake train` (or set RASA_MODEL)")
    if not (rasa_env.venv_dir() / "bin" / "python").exists():
        raise RuntimeError(f"no Rasa environment at {rasa_env.venv_dir()}: run `intake train`")
    ports.require_free([ports.Need("RASA_PORT", settings.rasa_host, settings.rasa_port)])
    args, env = Services(settings, model, settings.data_dir / "logs").rasa_command()
    _progress(f"[rasa] serving {model.name} on {settings.rasa_host}:{settings.rasa_port}")
    return _exec(args, env)


def cmd_actions(_args: argparse.Namespace) -> int:
    """The action server alone (it uses the app's database: same DATABASE_URL)."""
    from bot.runtime import ports
    from bot.runtime.services import Services

    settings = Settings.from_env()
    need = ports.Need("ACTIONS_PORT", settings.actions_host, settings.actions_port)
    ports.require_free([need])
    args, env = Services(settings, Path(), settings.data_dir / "logs").actions_command()
    _progress(f"[actions] serving on {settings.actions_host}:{settings.actions_port}")
    return _exec(args, env)


async def _shell_loop(settings: Settings) -> None:
    from bot.app import open_runtime
    from bot.conversation import InboundMessage

    user = f"shell-{uuid.uuid4().hex[:12]}"
    buttons: list[str] = []
    print("Type a message (English or français). A number picks an option. Ctrl-D to quit.")
    async with open_runtime(settings) as runtime:
        while True:
            try:
                text = await asyncio.to_thread(input, "you> ")
            except EOFError:
                print()
                return
            if not text.strip():
                continue
            if text.strip().isdigit() and 0 < int(text) <= len(buttons):
                text = buttons[int(text) - 1]
            outcome = await runtime.conversations.receive(
                InboundMessage("shell", user, uuid.uuid4().hex, text)
            )
            buttons = []
            for stored in outcome.replies:
                print(f"bot> {stored.reply.text}")
                for button in stored.reply.buttons:
                    buttons.append(button.payload)
                    print(f"     {len(buttons)}. {button.title}")


def cmd_shell(_args: argparse.Namespace) -> int:
    import httpx

    from bot.store import migrate

    settings = Settings.from_env()
    migrate.upgrade(settings.database_url)
    try:
        already_up = _rasa_answers(settings)
    except httpx.HTTPError:
        already_up = False
    if already_up:  # `intake run` is going: talk to that Rasa
        asyncio.run(_shell_loop(settings))
    else:
        with _running_services(settings):
            asyncio.run(_shell_loop(settings))
    return 0


def _rasa_answers(settings: Settings) -> bool:
    """A Rasa (that of a running `intake run`) answers at RASA_URL with our token."""
    import httpx

    from bot.engine import api_params

    url = f"{settings.rasa_url}/status"
    params = api_params(settings.rasa_auth_token)
    return httpx.get(url, params=params, timeout=2.0).status_code == 200


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _evaluate_safety(args: argparse.Namespace) -> int:
    """The blind safety set through the whole assistant, on a throw-away database."""
    import tempfile

    from bot.runtime import safety_evaluation, training
    from bot.store import migrate

    with tempfile.TemporaryDirectory(prefix="intake-safety-") as tmp:
        data = Path(tmp)
        rasa_port = _free_port()
        settings = replace(
            Settings.from_env(),
            data_dir=data,
            database_url=f"sqlite:///{data / 'intake.db'}",
            rasa_tracker_db_url=f"sqlite:///{data / 'rasa-tracker.db'}",
            rasa_port=rasa_port,
            rasa_url=f"http://127.0.0.1:{rasa_port}",
            actions_port=_free_port(),
            rasa_timeout_seconds=30.0,
            rasa_auth_token=run_rasa_token(),
        )
        migrate.upgrade(settings.database_url)
        directory = {
            "safety": safety_evaluation.SAFETY_DIR,
            "safety-dev": safety_evaluation.DEV_DIR,
            "safety-v3": safety_evaluation.V3_DIR,
        }[args.set]
        with _running_services(settings):
            results = asyncio.run(safety_evaluation.evaluate(settings, directory))
    model = training.model_path(settings.model_dir).name
    name = {
        "safety": "safety-evaluation.md",
        "safety-dev": "safety-evaluation-dev.md",
        "safety-v3": "safety-evaluation-v3.md",
    }[args.set]
    out = PROJECT_ROOT / "docs" / name if args.output is None else args.output
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(safety_evaluation.report(results, model, directory), encoding="utf-8")
    _progress(safety_evaluation.summary(results))
    _progress(f"[evaluate] report written to {out}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from bot.runtime import evaluation, training

    if args.set in ("safety", "safety-dev", "safety-v3"):
        return _evaluate_safety(args)
    settings = Settings.from_env()
    names = evaluation.SETS if args.set == "all" else (args.set,)
    with _running_services(settings):
        by_set = {
            n: evaluation.evaluate(
                settings.rasa_url, evaluation.load_set(n), settings.rasa_auth_token
            )
            for n in names
        }
    model = training.model_path(settings.model_dir).name
    out = PROJECT_ROOT / "docs" / "nlu-evaluation.md" if args.output is None else args.output
    out.parent.mkdir(parents=True, exist_ok=True)
    # The hand-written tuning log at the end of the report (what was tried, with numbers) is kept.
    kept = ""
    if out.exists():
        previous = out.read_text(encoding="utf-8")
        if evaluation.TUNING_LOG in previous:
            kept = "\n" + previous[previous.index(evaluation.TUNING_LOG) :]
    out.write_text(evaluation.report(by_set, model) + kept, encoding="utf-8")
    for name, results in by_set.items():
        _progress(evaluation.summary(results, name))
    _progress(f"[evaluate] report written to {out}")
    return 0


def cmd_content(args: argparse.Namespace) -> int:
    from bot import knowledge

    pack, facts = knowledge.load_pack(), knowledge.load_facts()
    out = PROJECT_ROOT / "docs" / "program-content.md" if args.output is None else args.output
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(knowledge.report(pack, facts), encoding="utf-8")
    _progress(f"[content] {len(pack.topics)} topics; report written to {out}")
    found = knowledge.problems(pack, facts)
    for problem in found:
        print(f"intake content: {problem}", file=sys.stderr)
    return 1 if found else 0


POLLING_WARNING = """
WARNING: polling removes the webhook registered for this bot token. Telegram delivers updates
to a webhook OR to a poller, never both: if this is your production bot, it stops receiving
messages until you run `intake telegram-webhook` again. Use a separate development bot (its
own token from @BotFather) for polling.
"""


def _telegram_settings() -> Settings:
    settings = Settings.from_env()
    if not settings.telegram_enabled:
        raise ValueError("set TELEGRAM_BOT_TOKEN (from @BotFather) first")
    return settings


def cmd_telegram_webhook(_args: argparse.Namespace) -> int:
    import re

    from telegram import Bot

    from bot.channels import telegram

    settings = _telegram_settings()
    if not settings.public_base_url.startswith("https://"):
        raise ValueError("PUBLIC_BASE_URL must be the app's public https:// address")
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", settings.telegram_webhook_secret):
        raise ValueError(
            "TELEGRAM_WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and -"
        )

    async def register() -> str:
        bot = Bot(settings.telegram_bot_token, base_url=settings.telegram_api_base_url)
        async with bot:
            return await telegram.register_webhook(
                bot, settings.public_base_url, settings.telegram_webhook_secret
            )

    url = asyncio.run(register())
    _progress(f"[telegram] webhook registered: {url} (secret token set)")
    return 0


async def _poll_loop(settings: Settings) -> None:
    from bot.app import _retry_worker, open_runtime
    from bot.channels import telegram
    from bot.channels.setup import open_channels
    from bot.store.db import session_factory

    async with (
        open_runtime(settings) as runtime,
        open_channels(settings, session_factory(runtime.db), runtime.conversations) as channels,
    ):
        assert channels.telegram is not None
        bot = channels.telegram.bot
        await bot.delete_webhook()
        retry = asyncio.create_task(
            _retry_worker(runtime.conversations, settings.retry_interval_seconds)
        )
        _progress("[telegram] polling; Ctrl-C to stop")
        offset: int | None = None
        try:
            while True:
                offset = await telegram.poll_once(
                    bot, channels.pipeline, settings.max_text_chars, offset
                )
        finally:
            retry.cancel()


def cmd_telegram_poll(_args: argparse.Namespace) -> int:
    import httpx

    from bot.store import migrate

    settings = _telegram_settings()
    print(POLLING_WARNING, file=sys.stderr, flush=True)
    migrate.upgrade(settings.database_url)
    try:
        already_up = _rasa_answers(settings)
    except httpx.HTTPError:
        already_up = False
    if already_up:
        asyncio.run(_poll_loop(settings))
    else:
        with _running_services(settings):
            asyncio.run(_poll_loop(settings))
    return 0


def cmd_user_create(args: argparse.Namespace) -> int:
    import getpass

    from bot.caseworker import accounts

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password (12 characters or more): ")
        if getpass.getpass("Again: ") != password:
            raise ValueError("the two passwords differ")
    user_id = asyncio.run(
        accounts.create_user(
            Settings.from_env(), args.username, password, args.role, args.name or "", args.language
        )
    )
    _progress(f"[user] created {args.username} ({args.role}), id {user_id}")
    return 0


def cmd_user_unlock(args: argparse.Namespace) -> int:
    from bot.caseworker import accounts

    asyncio.run(accounts.unlock_user(Settings.from_env(), args.username))
    _progress(f"[user] {args.username} unlocked")
    return 0


def cmd_user_active(args: argparse.Namespace) -> int:
    from bot.caseworker import accounts

    active = args.user_command == "activate"
    asyncio.run(accounts.set_active(Settings.from_env(), args.username, active))
    _progress(f"[user] {args.username} {'reactivated' if active else 'deactivated'}")
    return 0


def cmd_token_create(args: argparse.Namespace) -> int:
    from bot.caseworker import accounts

    token_id, token = asyncio.run(
        accounts.create_token(Settings.from_env(), args.name, args.scope or ["referrals:read"])
    )
    _progress(f"[token] id {token_id}; the token is shown once, store it now:")
    print(token)
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    from bot.caseworker import accounts

    asyncio.run(accounts.revoke_token(Settings.from_env(), args.token_id))
    _progress(f"[token] {args.token_id} revoked")
    return 0


@contextlib.asynccontextmanager
async def _privacy_runtime(settings: Settings):  # type: ignore[no-untyped-def]
    """The store, the channel senders (to send receipts and delete messages at Twilio and
    Telegram) and the erasure service, without the app's workers."""
    from bot.app import open_runtime
    from bot.channels.setup import open_channels
    from bot.store import migrate
    from bot.store.db import session_factory

    await asyncio.to_thread(migrate.upgrade, settings.database_url)
    async with open_runtime(settings) as runtime:
        sessions = session_factory(runtime.db)
        async with open_channels(settings, sessions, runtime.conversations, run_worker=False):
            yield runtime, sessions, runtime.conversations.erasure_service()


async def _erase(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from bot.store.models import Contact, Conversation, Referral

    settings = Settings.from_env()
    async with _privacy_runtime(settings) as (runtime, sessions, erasure):
        async with sessions() as s:
            if args.conversation:
                query = select(Conversation.contact_id).where(Conversation.id == args.conversation)
            elif args.referral:
                query = select(Referral.contact_id).where(Referral.id == args.referral)
            else:
                query = select(Contact.id).where(
                    Contact.matches(args.channel, args.address.strip())
                )
            contact_id = await s.scalar(query)
        if contact_id is None:
            raise ValueError("nothing found to erase (already erased, or a wrong id or address)")
        job = await runtime.conversations.erase_contact(contact_id, reason="operator", actor="cli")
        assert job is not None
        job = await erasure.job_by_reference(job.reference)
        assert job is not None
    _progress(f"[erase] reference {job.reference} (give it to the person as their receipt)")
    _progress("[erase] " + ", ".join(f"{part}: {state}" for part, state in job.parts.items()))
    counts = ", ".join(f"{k}={v}" for k, v in job.counts.items())
    _progress(f"[erase] {counts}")
    if job.status != "done":
        _progress(
            f"[erase] not finished yet ({job.last_error}): the app's worker retries until done"
        )
    return 0


def cmd_erase(args: argparse.Namespace) -> int:
    if not (args.conversation or args.referral or args.address):
        raise ValueError("say what to erase: --conversation ID, --referral ID or --address")
    return asyncio.run(_erase(args))


async def _purge(args: argparse.Namespace) -> dict[str, int]:
    from bot import retention
    from bot.store.models import utcnow

    settings = Settings.from_env()
    policy = retention.Policy.from_settings(settings)
    async with _privacy_runtime(settings) as (_runtime, sessions, erasure):
        if args.dry_run:
            return await retention.count(
                sessions, policy, utcnow(), tracker_url=settings.rasa_tracker_db_url
            )
        return await retention.purge(sessions, erasure, policy, actor="cli", always_audit=True)


def cmd_purge(args: argparse.Namespace) -> int:
    counts = asyncio.run(_purge(args))
    verb = "would purge" if args.dry_run else "purged"
    for name, n in counts.items():
        unit = {"outbox": "outbox rows", "tracker_orphans": "tracker conversations"}.get(
            name, "conversations"
        )
        _progress(f"[purge] {name}: {verb} {n} {unit}")
    return 0


def _add_privacy_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    erase = sub.add_parser(
        "erase", help="erase a person's data everywhere, with a receipt reference"
    )
    which = erase.add_mutually_exclusive_group()
    which.add_argument("--conversation", help="a conversation id (the caseworker UI shows it)")
    which.add_argument("--referral", help="a referral id")
    which.add_argument("--address", help="the person's phone number, Telegram chat id or web id")
    erase.add_argument(
        "--channel", choices=["sms", "telegram", "web"], default="sms", help="with --address"
    )
    erase.set_defaults(func=cmd_erase)
    purge = sub.add_parser("purge", help="apply the retention policy now")
    purge.add_argument("--dry-run", action="store_true", help="print counts, delete nothing")
    purge.set_defaults(func=cmd_purge)


def cmd_keys_init(_args: argparse.Namespace) -> int:
    from bot import crypto

    settings = Settings.from_env()
    if settings.data_keys:
        raise ValueError("the keys come from INTAKE_DATA_KEYS: there is no key file to create")
    if settings.data_key_file.exists():
        keyring = crypto.read_key_file(settings.data_key_file)
        _progress(f"[keys] {settings.data_key_file} exists (primary data key {keyring.primary_id})")
        return 0
    keyring = crypto.Keyring.generate(str(settings.data_key_file))
    crypto.write_key_file(settings.data_key_file, keyring, replace=False)
    _progress(f"[keys] created {settings.data_key_file} (mode 0600); back it up apart from the "
              "database")  # fmt: skip
    return 0


def cmd_keys_new(args: argparse.Namespace) -> int:
    from bot import crypto

    print(crypto.new_lookup_key() if args.lookup else crypto.new_data_key())
    return 0


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    from bot import crypto
    from bot.store import keys, migrate

    settings = Settings.from_env()
    keyring = crypto.keyring_for(settings, create=False)
    crypto.install(keyring)
    migrate.upgrade(settings.database_url)
    if keyring.source == "environment":
        new = keyring
        _progress(
            f"[keys] the keys come from {crypto.ENV_DATA_KEYS}: re-encrypting under its first key "
            f"({new.primary_id}). To rotate, put a new key (`intake keys new`) first in "
            f"{crypto.ENV_DATA_KEYS}, keep the old ones after it, and run this again."
        )
    else:
        new = keyring.with_new_primary()
        # The file first: if re-encryption stops half-way, every row still has its key.
        crypto.write_key_file(Path(keyring.source), new, replace=True)
        _progress(
            f"[keys] new primary data key {new.primary_id} in {keyring.source}; "
            f"{len(new.data_keys) - 1} older key(s) kept for decryption"
        )
    crypto.install(new)
    counts = keys.reencrypt(
        settings.database_url, settings.rasa_tracker_db_url, new, batch=args.batch
    )
    for name, count in counts.items():
        print(f"  {name}: {count} re-encrypted")
    _progress(
        f"[keys] {sum(counts.values())} values re-encrypted under {new.primary_id}; restart the "
        "assistant (app, action server, Rasa) so that it writes with the new key"
    )
    return 0


def _add_keys_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    keys = sub.add_parser("keys", help="the data keys: init, new, rotate").add_subparsers(
        dest="keys_command", required=True
    )
    keys.add_parser(
        "init", help="create the key file (INTAKE_DATA_KEY_FILE) if it does not exist"
    ).set_defaults(func=cmd_keys_init)
    new = keys.add_parser("new", help="print a new key (for INTAKE_DATA_KEYS)")
    new.add_argument("--lookup", action="store_true", help="a lookup key (INTAKE_LOOKUP_KEY)")
    new.set_defaults(func=cmd_keys_new)
    rotate = keys.add_parser(
        "rotate",
        help="add a new primary data key to the key file and re-encrypt every stored value "
        "under it (run it with the assistant stopped)",
    )
    rotate.add_argument("--batch", type=int, default=500, help="rows per query (default 500)")
    rotate.set_defaults(func=cmd_keys_rotate)


def _add_account_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    user = sub.add_parser("user", help="caseworker accounts").add_subparsers(
        dest="user_command", required=True
    )
    create = user.add_parser("create", help="create an account (asks for the password)")
    create.add_argument("username")
    create.add_argument(
        "--role", choices=["caseworker", "supervisor", "admin"], default="caseworker"
    )
    create.add_argument("--name", help="name shown to colleagues (default: the username)")
    create.add_argument("--language", choices=["en", "fr"], default="en", help="UI language")
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    create.set_defaults(func=cmd_user_create)
    unlock = user.add_parser("unlock", help="lift a lock-out after failed logins")
    unlock.add_argument("username")
    unlock.set_defaults(func=cmd_user_unlock)
    for name, text in (
        ("deactivate", "deactivate an account (signed out everywhere, cannot log in)"),
        ("activate", "reactivate a deactivated account"),
    ):
        command = user.add_parser(name, help=text)
        command.add_argument("username")
        command.set_defaults(func=cmd_user_active)
    token = sub.add_parser("token", help="integration API tokens").add_subparsers(
        dest="token_command", required=True
    )
    tcreate = token.add_parser("create", help="create a token (printed once)")
    tcreate.add_argument("name", help="who uses it, e.g. the case-management system")
    tcreate.add_argument(
        "--scope",
        action="append",
        help="scope (repeatable): referrals:read (the default; contact details masked), "
        "referrals:read_contact (with referrals:read: contact details unmasked, each reveal "
        "audited)",
    )
    tcreate.set_defaults(func=cmd_token_create)
    revoke = token.add_parser("revoke", help="revoke a token by its id")
    revoke.add_argument("token_id")
    revoke.set_defaults(func=cmd_token_revoke)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="intake", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="start Rasa, the action server and the app").set_defaults(
        func=cmd_run
    )
    sub.add_parser(
        "serve", help="the app alone, against the Rasa at RASA_URL (production)"
    ).set_defaults(func=cmd_serve)
    sub.add_parser("rasa", help="the Rasa server alone (production)").set_defaults(func=cmd_rasa)
    sub.add_parser("actions", help="the action server alone (production)").set_defaults(
        func=cmd_actions
    )
    sub.add_parser("shell", help="talk to the assistant in the terminal").set_defaults(
        func=cmd_shell
    )
    train = sub.add_parser("train", help="train the model (skipped when nothing changed)")
    train.add_argument("--force", action="store_true", help="train even if a model exists")
    train.add_argument("--validate", action="store_true", help="run `rasa data validate` first")
    train.set_defaults(func=cmd_train)
    sub.add_parser("migrate", help="create or upgrade the app's database").set_defaults(
        func=cmd_migrate
    )
    evaluate = sub.add_parser(
        "evaluate", help="NLU accuracy per language on the blind test set and the dev set"
    )
    evaluate.add_argument(
        "--set",
        choices=("all", "test", "dev", "safety", "safety-dev", "safety-v3"),
        default="all",
        help="all/test/dev: NLU accuracy (docs/nlu-evaluation.md); safety: the blind safety set "
        "through the whole assistant (docs/safety-evaluation.md); safety-dev: the first blind "
        "set, read and tuned on since (docs/safety-evaluation-dev.md); safety-v3: the third "
        "blind set (docs/safety-evaluation-v3.md)",
    )
    evaluate.add_argument("--output", type=Path, default=None)
    evaluate.set_defaults(func=cmd_evaluate)
    content = sub.add_parser("content", help="check the program content pack and report on it")
    content.add_argument("--output", type=Path, default=None)
    content.set_defaults(func=cmd_content)
    sub.add_parser(
        "telegram-webhook", help="register the Telegram webhook (PUBLIC_BASE_URL, secret token)"
    ).set_defaults(func=cmd_telegram_webhook)
    sub.add_parser(
        "telegram-poll", help="local development: poll Telegram (removes the webhook)"
    ).set_defaults(func=cmd_telegram_poll)
    _add_account_commands(sub)
    _add_privacy_commands(sub)
    _add_keys_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from bot.logging_setup import private_files

    private_files()  # databases, logs, generated configs and secrets: this user only (0600/0700)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a clear one-line error for operators; details are in the logs
        from bot.runtime.rasa_env import RasaEnvError

        if isinstance(exc, RasaEnvError | RuntimeError | ValueError):
            print(f"intake {args.command}: {exc}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
