"""Command-line tasks: ``flask --app wsgi create-tenant|create-user|set-password|demo-credentials|prepare-db|
worker|reports-…``."""
import click
from flask.cli import with_appcontext

from .extensions import db


@click.command("create-tenant")
@click.argument("slug")
@click.option("--name", required=True)
@click.option("--admin-user", required=True)
@click.option("--admin-password", required=True)
@with_appcontext
def create_tenant_command(slug, name, admin_user, admin_password):
    """Create a tenant with its root org unit, default doc type and an admin."""
    from .accounts.tenants import create_tenant

    create_tenant(slug, name, admin_user, admin_password)
    db.session.commit()
    click.echo(f"tenant {slug} created; admin user {admin_user}")


@click.command("create-user")
@click.argument("tenant")
@click.argument("username")
@click.option("--password", required=True)
@click.option("--role", type=click.Choice(["admin", "dispatcher", "courier"]), required=True)
@click.option("--org-unit", default=None)
@click.option("--display-name", default="")
@with_appcontext
def create_user_command(tenant, username, password, role, org_unit, display_name):
    """Add a user to an existing tenant."""
    from .accounts.tenants import tenant_by_slug
    from .accounts.users import create_user

    found = tenant_by_slug(tenant)
    if found is None:
        raise click.ClickException(f"no tenant {tenant!r}")
    create_user(found.id, "system:cli", username=username, password=password, role=role,
                org_unit=org_unit, display_name=display_name)
    db.session.commit()
    click.echo(f"user {username} ({role}) created in {tenant}")


@click.command("set-password")
@click.argument("tenant")
@click.argument("username")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="The new password (asked for when omitted, so it stays out of the shell history).")
@with_appcontext
def set_password_command(tenant, username, password):
    """Give a user a new password (at least 8 characters); their open sessions end."""
    from .accounts.schemas import PASSWORD
    from .accounts.tenants import tenant_by_slug
    from .accounts.users import update_user
    from .core.auth import Principal
    from .core.errors import NotFound

    found = tenant_by_slug(tenant)
    if found is None:
        raise click.ClickException(f"no tenant {tenant!r}")
    if len(password) < PASSWORD.min or len(password) > PASSWORD.max:
        raise click.ClickException(f"the password must be {PASSWORD.min}–{PASSWORD.max} characters")
    try:
        update_user(Principal(tenant_id=found.id, role="system", actor="system:cli"), username, {"password": password})
    except NotFound:
        raise click.ClickException(f"no user {username!r} in {tenant}") from None
    db.session.commit()
    click.echo(f"password of {username} in {tenant} changed; their sessions were ended")


@click.command("demo-credentials")
@with_appcontext
def demo_credentials_command():
    """Give the demo tenant's users new passwords and print them (the old ones stop working)."""
    from .demo import credentials_text, reset_demo_passwords

    passwords = reset_demo_passwords()
    if passwords is None:
        raise click.ClickException("there is no demo tenant (DEMO_TENANT=0, or the database was not empty)")
    db.session.commit()
    click.echo(credentials_text(passwords))


@click.command("prepare-db")
def prepare_db_command():
    """Upgrade the schema to head and seed the demo tenant when the database is empty."""
    from flask import current_app

    from .database import prepare_database

    prepare_database(current_app._get_current_object())


@click.command("sweep-orphans")
@with_appcontext
def sweep_orphans_command():
    """Delete photos no receipt claimed whose sign link is used, revoked or expired."""
    from .signing.sweep import sweep_orphan_photos

    total = 0
    while removed := sweep_orphan_photos():
        total += removed
    click.echo(f"removed {total} orphan photo(s)")


@click.command("reports-fold")
@with_appcontext
def reports_fold_command():
    """Fold the pending report changes into the roll-up now (the worker does it every 30 s)."""
    from .reports.rollup import fold_all

    folded = fold_all()
    click.echo(f"folded {folded} change row(s)")


@click.command("reports-rebuild")
@with_appcontext
def reports_rebuild_command():
    """Recompute the report roll-up from the waybills (safe while the service runs; waybill writes wait)."""
    from .reports.rollup import rebuild

    rebuild()
    db.session.commit()
    click.echo("report roll-up rebuilt")


@click.command("worker")
@click.option("--once", is_flag=True, help="Run the jobs due now, then exit.")
@click.option("--poll", default=0.5, show_default=True, help="Seconds to sleep when no job is due.")
@click.option("--kind", "kinds", multiple=True, help="Only jobs of this kind (repeatable), e.g. webhook.deliver.")
@click.option("--lane", "lanes", multiple=True,
              help="Only this lane's threads (repeatable): default, webhooks. Default: every lane.")
@with_appcontext
def worker_command(once, poll, kinds, lanes):
    """Run durable jobs (receipt PDFs, webhooks) until SIGTERM; start as many as you like.

    Each lane runs in threads of its own (webhook deliveries apart from PDFs, sized by
    WEBHOOK_WORKERS); ``--kind`` instead runs one loop over just those kinds.
    """
    import signal
    import threading

    from flask import current_app

    from .core.jobs import run_due, start_lanes, work

    app = current_app._get_current_object()
    if once:
        click.echo(f"ran {run_due(app, kinds=kinds or None)} job(s)")
        return
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    click.echo("worker started")
    if kinds:
        work(app, stop, poll_s=poll, kinds=kinds)
        return
    threads = start_lanes(app, stop, lanes=lanes or None, poll_s=poll, name="worker")
    stop.wait()
    for thread in threads:
        thread.join(app.config["WEBHOOK_TIMEOUT_S"] + 30)


@click.command("retention-purge")
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]), default=None,
              help="Purge what has expired by this UTC date (default: now), e.g. to check a retention change.")
@with_appcontext
def retention_purge_command(as_of):
    """Purge raw strokes, photo originals, coordinates and IPs past their retention (issue 19)."""
    import json

    from .privacy.retention import retention_purge

    click.echo(json.dumps(retention_purge(as_of).as_dict()))


def register_cli(app):
    for command in (create_tenant_command, create_user_command, set_password_command, demo_credentials_command,
                    prepare_db_command, sweep_orphans_command,
                    reports_fold_command, reports_rebuild_command, worker_command,
                    retention_purge_command):
        app.cli.add_command(command)
