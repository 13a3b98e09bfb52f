"""The `labelkit` command. Errors a user can fix print one clear message and exit with code 2."""

from __future__ import annotations

import functools
import json
import sys

import click

from labelkit.errors import LabelkitError
from labelkit.project import Project
from labelkit.serve import APPS
from labelkit.team.assignment import DEFAULT_LEASE_SECONDS, ORDERS
from labelkit.templates import TEMPLATES, template

EXIT_BAD_INPUT = 2


def _user_errors(command):
    """Turn LabelkitError into a one-line message on stderr and exit code 2 (no traceback)."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except LabelkitError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_BAD_INPUT)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="labelkit")
def cli():
    """labelkit: label and check AI outputs in Jupyter and Voila.

    A project is a folder holding its schema (fields shown, questions asked), its settings
    and, by default, its SQLite label store. Start with `labelkit init`.
    """


@cli.command()
@click.argument("path", type=click.Path(file_okay=False))
@click.option(
    "--template",
    "template_name",
    type=click.Choice(list(TEMPLATES)),
    help="A ready schema (see `labelkit templates`).",
)
@click.option(
    "--schema",
    "schema_file",
    type=click.Path(exists=True, dir_okay=False),
    help="A schema in YAML or JSON instead of a template.",
)
@click.option(
    "--db",
    "db_url",
    metavar="URL",
    help="Store labels in this database, e.g. postgresql+psycopg://user@host/db "
    "(default: a SQLite file in the project folder).",
)
@click.option("--overlap", default=1, show_default=True, help="Answers wanted per item.")
@click.option(
    "--order",
    type=click.Choice(ORDERS),
    default="sequential",
    show_default=True,
    help="Which items go first: import order, shuffled (--seed), or the priority column.",
)
@click.option("--seed", type=int, help="Seed of the random order (default: a fresh one).")
@click.option(
    "--lease-seconds",
    type=click.FloatRange(min=1),
    default=DEFAULT_LEASE_SECONDS,
    show_default=True,
    help="How long a shown item stays reserved for its annotator without activity.",
)
@_user_errors
def init(path, template_name, schema_file, db_url, overlap, order, seed, lease_seconds):
    """Create a project in PATH from a template or a schema file."""
    if bool(template_name) == bool(schema_file):
        raise click.UsageError("give exactly one of --template or --schema")
    project = Project.create(
        path,
        template_name or schema_file,
        db_url=db_url,
        overlap=overlap,
        order=order,
        seed=seed,
        lease_seconds=lease_seconds,
    )
    click.echo(f"created {project.schema.kind} project in {path}")
    click.echo(f"next: labelkit import {path} DATA_FILE")
    project.close()


@cli.command("import")
@click.argument("path", type=click.Path(exists=True, file_okay=False))
@click.argument("data", type=click.Path(exists=True))
@click.option(
    "--map",
    "mappings",
    multiple=True,
    metavar="FIELD=COLUMN",
    help="Read FIELD (or an optional column: language, level, priority, sensitive, gold, "
    "gold_explanation, suggestions, metadata) from COLUMN. Repeatable.",
)
@click.option(
    "--id-column", metavar="COL", help="Column with stable item ids (default: a content hash)."
)
@click.option(
    "--meta",
    "metadata_columns",
    multiple=True,
    metavar="COL",
    help="Keep COL as reviewer-only metadata.",
)
@click.option("--split", help="Split of a saved DatasetDict.")
@click.option(
    "--format",
    "data_format",
    type=click.Choice(["csv", "jsonl", "parquet", "hf"]),
    help="Input format (default: from the file extension; a folder is a saved dataset).",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@_user_errors
def import_(path, data, mappings, id_column, metadata_columns, split, data_format, quiet):
    """Import items from DATA (CSV, JSONL, Parquet or a save_to_disk folder) into PATH.

    All or nothing: a bad row stops the import with its file, row and column, and the project
    is left unchanged. Importing the same rows again adds nothing; an interrupted import of
    the same file resumes.
    """
    mapping = {}
    for text in mappings:
        target, sep, column = text.partition("=")
        if not sep or not target or not column:
            raise click.BadParameter(f"{text!r} is not FIELD=COLUMN", param_hint="--map")
        mapping[target.strip()] = column.strip()
    with Project.open(path) as project:
        report = project.import_items(
            data,
            mapping=mapping,
            id_column=id_column,
            metadata_columns=list(metadata_columns),
            split=split,
            format=data_format,
            progress=not quiet,
        )
    click.echo(str(report))


@cli.command()
@click.argument("path", type=click.Path(exists=True, file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@_user_errors
def stats(path, as_json):
    """Progress and answer counts of the project in PATH."""
    with Project.open(path) as project:
        figures = project.stats()
    if as_json:
        click.echo(json.dumps(figures, indent=2, ensure_ascii=False))
        return
    click.echo(f"{figures['title']} ({figures['kind']}, {figures['database']})")
    done = figures["complete"]
    total = figures["items"] or 1
    # `items` leaves the gold out (they come back as hidden honeypots): say so plainly.
    click.echo(f"items        {figures['items']:>9}  to label, {figures['gold_items']} gold")
    click.echo(
        f"complete     {done:>9}  ({100 * done / total:.1f} %, overlap {figures['overlap']})"
    )
    click.echo(f"in progress  {figures['in_progress']:>9}")
    click.echo(f"not started  {figures['not_started']:>9}")
    click.echo(
        f"annotations  {figures['annotations']:>9}  ({figures['submitted']} submitted, "
        f"{figures['skipped']} skipped, {figures['escalated']} escalated)"
    )
    click.echo(f"annotators   {figures['annotators']:>9}")
    for question, found in figures.get("agreement", {}).items():
        if found["alpha"] is not None:
            click.echo(
                f"agreement    {question}: alpha {found['alpha']:.3f} ({found['level']}, "
                f"{found['items']} items with 2+ answers)"
            )
    unfinished = figures["unfinished_imports"]
    if unfinished:
        imports = "1 import" if unfinished == 1 else f"{unfinished} imports"  # the CLI is English
        click.echo(f"note: {imports} did not finish; run the same import again to resume")


@cli.command()
@click.argument("path", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; anything but loopback needs annotator accounts.",
)
@click.option("--port", type=int, help="Port to listen on (default 8866; the review app: 8867).")
@click.option(
    "--db",
    "db_url",
    metavar="URL",
    help="Open the project's labels in this database (e.g. the team's PostgreSQL).",
)
@click.option(
    "--annotator",
    help="Who labels through this server before accounts exist (default: the local user).",
)
@click.option(
    "--cull-idle",
    default=600,
    show_default=True,
    metavar="SECONDS",
    help="Shut down a page's kernel after it was idle this long (closed tabs).",
)
@click.option(
    "--app",
    type=click.Choice(list(APPS)),
    default="label",
    show_default=True,
    help="Which app: label (annotators), dashboard (admins: the team's figures), ...",
)
@_user_errors
def serve(path, host, port, db_url, annotator, cull_idle, app):
    """Serve the annotator app for the project in PATH with Voila (open the printed URL).

    Once the project has annotator accounts (`labelkit annotators add`), each annotator opens
    their personal link and labels as themselves; a page without a valid link labels nothing.
    """
    from labelkit.serve import check_serving, default_port
    from labelkit.serve import serve as run

    port = port or default_port(app)
    links = check_serving(path, host, db_url)
    click.echo(f"labelkit: serving {path} on http://{host}:{port}/ (Ctrl-C stops)")
    if app == "review":
        click.echo(
            "the review app: reviewers and admins open it with their own review link "
            "(labelkit annotators add PATH NAME --role reviewer)"
            if links
            else "no accounts yet: whoever opens the page reviews as the local user (an admin)"
        )
    elif app == "dashboard":
        click.echo(
            "the team dashboard: admins open it with their own link "
            "(labelkit annotators add PATH NAME --role admin)"
            if links
            else "no accounts yet: whoever opens the page sees the dashboard as the local user"
        )
    elif links:
        click.echo(
            "access links are in force: each annotator opens their own link "
            "(labelkit annotators rotate-token PATH NAME gives a lost one anew)"
        )
        if annotator:
            click.echo("note: --annotator is ignored: the links say who labels", err=True)
    else:
        who = annotator or "the local user"
        click.echo(f"no annotator accounts yet: whoever opens the page labels as {who}")
    run(
        path,
        host=host,
        port=port,
        annotator=annotator,
        cull_idle=cull_idle,
        db_url=db_url,
        app=app,
    )


def _labelstudio_token() -> str:
    """The token from LABEL_STUDIO_API_KEY, or asked for (hidden) on a terminal."""
    import os

    from labelkit.project import LABEL_STUDIO_TOKEN_VARIABLE

    token = os.environ.get(LABEL_STUDIO_TOKEN_VARIABLE, "").strip()
    if token:
        return token
    if not sys.stdin.isatty():
        raise LabelkitError(
            f"no Label Studio token: set {LABEL_STUDIO_TOKEN_VARIABLE} (or run on a terminal "
            "to be asked for it)"
        )
    return click.prompt("Label Studio token", hide_input=True).strip()


@cli.command()
@click.argument("path", type=click.Path(exists=True, file_okay=False))
@click.option("--url", required=True, help="Label Studio's address, e.g. http://localhost:8080")
@click.option("--push-only", is_flag=True, help="Only push items and answers.")
@click.option("--pull-only", is_flag=True, help="Only pull annotations made in Label Studio.")
@click.option(
    "--as-predictions", is_flag=True, help="Push answers as predictions, not annotations."
)
@click.option(
    "--user",
    "user_map",
    multiple=True,
    metavar="NAME=EMAIL",
    help="Label Studio email of annotator NAME (default: the name when it is an email, "
    "else NAME@labelkit.local). Repeatable.",
)
@click.option("--batch-size", default=500, show_default=True, help="Tasks per import call.")
@click.option("--timeout", default=60.0, show_default=True, help="Seconds to wait for a call.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
@_user_errors
def sync(path, url, push_only, pull_only, as_predictions, user_map, batch_size, timeout, quiet):
    """Sync the project in PATH with Label Studio at URL, both ways.

    The first run creates the Label Studio project. Each run pulls annotations made there
    (checked against the schema; invalid ones are listed and skipped), then pushes new items
    as tasks and answers as annotations. Running it twice changes nothing; an interrupted run
    resumes. The token comes from LABEL_STUDIO_API_KEY (or a hidden prompt) and is never stored.
    """
    if push_only and pull_only:
        raise click.UsageError("give at most one of --push-only and --pull-only")
    users = {}
    for text in user_map:
        name, sep, email = text.partition("=")
        if not sep or not name.strip() or "@" not in email:
            raise click.BadParameter(f"{text!r} is not NAME=EMAIL", param_hint="--user")
        users[name.strip()] = email.strip()
    token = _labelstudio_token()
    with Project.open(path) as project:
        report = project.sync_labelstudio(
            url,
            token,
            push=not pull_only,
            pull=not push_only,
            as_predictions=as_predictions,
            users=users,
            batch_size=batch_size,
            timeout=timeout,
            progress=not quiet,
        )
    click.echo(str(report))


@cli.command()
@click.argument("path", type=click.Path(file_okay=False))
@click.option("--url", required=True, help="Label Studio's address, e.g. http://localhost:8080")
@click.option("--project", "project_id", required=True, type=int, help="Label Studio project id.")
@click.option("--db", "db_url", metavar="URL", help="Store labels in this database.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
@_user_errors
def link(path, url, project_id, db_url, quiet):
    """Create a project in PATH from an existing Label Studio project.

    Its labeling config becomes the schema (tags with no labelkit equivalent are named in the
    error), its tasks the items and its annotations the answers. Then `labelkit sync PATH
    --url URL` keeps both sides in step.
    """
    from labelkit.labelstudio import link_project

    token = _labelstudio_token()
    project, report = link_project(path, url, token, project_id, db_url=db_url, progress=not quiet)
    project.close()
    click.echo(f"created a {project.schema.kind} project in {path}")
    click.echo(str(report))


def _parse_splits(texts: tuple[str, ...]) -> str | dict[str, float] | None:
    """--split train  |  --split train=0.9 --split test=0.1"""
    if not texts:
        return None
    if len(texts) == 1 and "=" not in texts[0]:
        return texts[0]
    fractions = {}
    for text in texts:
        name, _, part = text.partition("=")
        try:
            fractions[name.strip()] = float(part)
        except ValueError:
            message = f"{text!r} is not NAME=FRACTION"
            raise click.BadParameter(message, param_hint="--split") from None
    return fractions


@cli.command()
@click.argument("path", type=click.Path(exists=True, file_okay=False))
@click.argument("out", type=click.Path(file_okay=False))
@click.option(
    "--view",
    "views",
    multiple=True,
    type=click.Choice(["raw", "consensus", "preference", "ratings"]),
    help="A view to publish (repeatable; default: every view the schema supports).",
)
@click.option(
    "--split",
    "split_texts",
    multiple=True,
    metavar="NAME[=FRACTION]",
    help="One split name, or random splits by item: --split train=0.9 --split test=0.1.",
)
@click.option("--split-by", metavar="COLUMN", help="Name the splits by a column's values.")
@click.option("--seed", default=0, show_default=True, help="Seed of the random splits.")
@click.option(
    "--per",
    type=click.Choice(["answer", "item"]),
    help="Preference/ratings rows per answer or per item (default: preference per answer, "
    "ratings per item).",
)
@click.option("--keep-ties", is_flag=True, help="Keep tied preferences (tie=True rows).")
@click.option("--method", default="majority", show_default=True, help="Consensus method.")
@click.option("--include-gold", is_flag=True, help="Include hidden gold items.")
@click.option("--include-rejected", is_flag=True, help="Include answers a reviewer rejected.")
@click.option("--license", "license_id", default="other", show_default=True, help="Card license.")
@click.option("--language", "languages", multiple=True, help="Card language (default: items').")
@click.option("--pretty-name", help="Card title (default: the schema's title).")
@click.option(
    "--annotations-creators",
    default="crowdsourced",
    show_default=True,
    type=click.Choice(["crowdsourced", "expert-generated", "machine-generated", "found"]),
)
@click.option("--push", "repo_id", metavar="REPO_ID", help="Then upload to this Hub dataset.")
@click.option("--private", is_flag=True, help="Make the pushed repository private.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
@_user_errors
def publish(
    path,
    out,
    views,
    split_texts,
    split_by,
    seed,
    per,
    keep_ties,
    method,
    include_gold,
    include_rejected,
    license_id,
    languages,
    pretty_name,
    annotations_creators,
    repo_id,
    private,
    quiet,
):
    """Publish the labels of PATH as a Hugging Face dataset folder OUT (parquet + README.md).

    `datasets.load_dataset(OUT, VIEW)` loads it back. An earlier release in OUT is replaced
    only once the new one is complete. --push uploads OUT (token: HF_TOKEN or `hf auth login`).
    """
    from labelkit.publish import CardOptions

    if private and not repo_id:
        raise click.UsageError("--private goes with --push")
    options = {"keep_ties": keep_ties, "method": method} | ({"per": per} if per else {})
    card = CardOptions(
        license=license_id,
        language=list(languages) or None,
        annotations_creators=annotations_creators,
        pretty_name=pretty_name,
    )
    with Project.open(path) as project:
        report = project.publish(
            out,
            views=list(views) or None,
            split=_parse_splits(split_texts),
            split_by=split_by,
            seed=seed,
            include_gold=include_gold,
            include_rejected=include_rejected,
            card=card,
            push_to=repo_id,
            private=private,
            progress=not quiet,
            **options,
        )
    click.echo(str(report))


def _level_rate(text: str) -> tuple[int, dict]:
    try:
        level, per_answer, per_hour = text.split(":")
        return int(level), {"per_answer": float(per_answer), "per_hour": float(per_hour)}
    except ValueError:
        raise LabelkitError(
            f"--level-rate wants LEVEL:PER_ANSWER:PER_HOUR, e.g. 2:0.15:0, got {text!r}"
        ) from None


@cli.command()
@click.argument("path", type=click.Path(exists=True, file_okay=False))
@click.option("--currency", help="e.g. EUR, USD.")
@click.option("--per-answer", type=float, help="Pay per answer.")
@click.option("--per-hour", type=float, help="Pay per hour of active work.")
@click.option(
    "--level-rate",
    "level_rates",
    multiple=True,
    metavar="LEVEL:PER_ANSWER:PER_HOUR",
    help="Rates from a level up (repeatable), e.g. 2:0.15:0.",
)
@click.option("--pay-rejected/--no-pay-rejected", default=None, help="Pay rejected answers.")
@click.option("--idle-after", type=float, help="Seconds on one item after which time is idle.")
@click.option("--floor", "hourly_floor", type=float, help="Warn under this hourly rate.")
@_user_errors
def pay(path, currency, per_answer, per_hour, level_rates, pay_rejected, idle_after, hourly_floor):
    """Show or change the project's pay rates (per answer, per hour, per level)."""
    from labelkit.pay import configure_pay, pay_rates

    changes = {
        "currency": currency,
        "per_answer": per_answer,
        "per_hour": per_hour,
        "pay_rejected": pay_rejected,
        "idle_after_seconds": idle_after,
        "hourly_floor": hourly_floor,
    }
    changes = {key: value for key, value in changes.items() if value is not None}
    with Project.open(path) as project:
        if level_rates:
            levels = pay_rates(project).model_dump()["levels"]
            changes["levels"] = levels | dict(_level_rate(text) for text in level_rates)
        rates = configure_pay(project, **changes) if changes else pay_rates(project)
    click.echo(json.dumps(rates.model_dump(), indent=2))


@cli.command()
@click.argument("path", type=click.Path(exists=True, file_okay=False))
@click.option("--week", required=True, metavar="YYYY-Www", help="ISO week, e.g. 2026-W48 (UTC).")
@click.option("--csv", "csv_out", type=click.Path(dir_okay=False), help="Also write a CSV file.")
@_user_errors
def payroll(path, week, csv_out):
    """Per annotator for one week: answers, accepted, active hours, amount, hourly rate."""
    from labelkit.pay import payroll as week_payroll

    with Project.open(path) as project:
        table = week_payroll(project, week)
        floor = project.settings.get("pay", {}).get("hourly_floor")
    if table.empty:
        click.echo(f"no work recorded in {week}")
    else:
        click.echo(table.to_string(index=False))
    for row in table[table["below_floor"]].itertuples():
        click.echo(
            f"warning: {row.annotator}'s effective rate {row.hourly_rate} {row.currency}/h "
            f"is under the floor of {floor} {row.currency}/h",
            err=True,
        )
    if csv_out:
        table.to_csv(csv_out, index=False)


@cli.command()
def templates():
    """List the ready schemas for `labelkit init --template`."""
    for name, factory in TEMPLATES.items():
        schema = template(name)
        questions = ", ".join(q.name for q in schema.questions)
        click.echo(f"{name:<21} {factory.__doc__.splitlines()[0]}")
        click.echo(f"{'':<21} fields: {', '.join(schema.field_names)}; questions: {questions}")


# ---------------------------------------------------------------------------- annotators


@cli.group()
def annotators():
    """Annotator accounts and their personal access links.

    Once a project has one account, the served app labels only for someone who opened a
    valid link; a link is revoked by suspending its owner or rotating their token.
    """


def _project_argument(function):
    """PATH and --db, which every annotators command takes (PATH first on the command line)."""
    function = click.option(
        "--db", "db_url", metavar="URL", help="The project's database, when not its own."
    )(function)
    return click.argument("path", type=click.Path(exists=True, file_okay=False))(function)


def _link_options(function):
    function = click.option(
        "--port", type=click.IntRange(1, 65535), help="Port of the link (default 8866)."
    )(function)
    return click.option(
        "--host",
        help="Address annotators reach the server at, for the link (default 127.0.0.1; "
        "remembered for later links).",
    )(function)


def _link(project, token: str, host: str | None, port: int | None) -> str:
    """The personal link; a --host/--port given is remembered in the project's settings."""
    from labelkit.team.accounts import DEFAULT_LINK_HOST, DEFAULT_LINK_PORT, access_link

    remembered = project.settings.get("link", {})
    link = {
        "host": host or remembered.get("host", DEFAULT_LINK_HOST),
        "port": port or remembered.get("port", DEFAULT_LINK_PORT),
    }
    if link != remembered and (host or port):
        project.settings["link"] = link
        project.save_settings()
    return access_link(token, link["host"], link["port"])


def _review_port_option(function):
    return click.option(
        "--review-port",
        type=click.IntRange(1, 65535),
        help="Port of the review app, for reviewers' and admins' review link (default 8867; "
        "remembered).",
    )(function)


def _review_link(project, account, token: str, review_port: int | None) -> str | None:
    """Reviewers and admins also get a link to the review app (`serve --app review`): the same
    token, the review app's port. None for annotators."""
    from labelkit.serve import default_port
    from labelkit.team.accounts import DEFAULT_LINK_HOST, access_link

    if account.role not in ("reviewer", "admin"):
        return None
    if review_port and review_port != project.settings.get("review_port"):
        project.settings["review_port"] = review_port
        project.save_settings()
    port = review_port or project.settings.get("review_port") or default_port("review")
    host = project.settings.get("link", {}).get("host", DEFAULT_LINK_HOST)
    return access_link(token, host, port)


def _echo_review_link(name: str, link: str | None) -> None:
    if link:
        click.echo(f"review app link for {name} (labelkit serve PATH --app review):")
        click.echo(link)


def _describe(account) -> str:
    languages = ",".join(account.languages) if account.languages else "any"
    return f"{account.role}, level {account.level}, languages: {languages}, {account.status}"


@annotators.command("add")
@_project_argument
@click.argument("name")
@click.option("--lang", "languages", metavar="fr,en", help="Languages they work in (default: any).")
@click.option(
    "--role",
    type=click.Choice(["annotator", "reviewer", "admin"]),
    default="annotator",
    show_default=True,
)
@click.option(
    "--level", type=int, default=0, show_default=True, help="Highest item level they get."
)
@click.option("--locale", metavar="fr", help="The app's language for them (default: project's).")
@_link_options
@_review_port_option
@_user_errors
def annotators_add(path, db_url, name, languages, role, level, locale, host, port, review_port):
    """Add annotator NAME to the project in PATH and print their personal link."""
    with Project.open(path, db_url=db_url) as project:
        account, token = project.annotators.add(
            name, languages=languages, role=role, level=level, locale=locale
        )
        link = _link(project, token, host, port)
        review = _review_link(project, account, token, review_port)
        earlier = project.annotators.answers(account.name)
    click.echo(f"added {account.name} ({_describe(account)})")
    if earlier:
        click.echo(f"{account.name} labeled before accounts existed: their {earlier} answers stay")
    click.echo(f"personal link for {account.name} (shown once; send it to them only):")
    click.echo(link)
    _echo_review_link(account.name, review)


@annotators.command("list")
@_project_argument
@click.option("--json", "as_json", is_flag=True, help="Print the accounts as JSON.")
@_user_errors
def annotators_list(path, db_url, as_json):
    """The project's annotators: role, level, languages, status (never a token)."""
    with Project.open(path, db_url=db_url) as project:
        accounts = project.annotators.list()
        gold = {a.name: project.annotator_status(a.name)["gold"] for a in accounts}
    rows = [
        {
            "name": a.name,
            "role": a.role,
            "level": a.level,
            "languages": a.languages,
            "status": a.status,
            "link": a.has_link,
            "gold_accuracy": gold[a.name]["accuracy"],
            "gold_count": gold[a.name]["count"],
        }
        for a in accounts
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not rows:
        click.echo("no annotators yet: labelkit annotators add PATH NAME")
        return
    width = max(len("name"), *(len(row["name"]) for row in rows))
    click.echo(f"{'name':<{width}}  role       level  languages  status     link  gold")
    for row in rows:
        languages = ",".join(row["languages"]) if row["languages"] else "any"
        accuracy = row["gold_accuracy"]
        gold_text = "-" if accuracy is None else f"{accuracy:.2f} ({row['gold_count']})"
        click.echo(
            f"{row['name']:<{width}}  {row['role']:<9}  {row['level']:>5}  {languages:<9}  "
            f"{row['status']:<9}  {'yes' if row['link'] else 'no':<4}  {gold_text}"
        )


@annotators.command("update")
@_project_argument
@click.argument("name")
@click.option("--lang", "languages", metavar="fr,en", help='Languages they work in ("any": any).')
@click.option("--role", type=click.Choice(["annotator", "reviewer", "admin"]))
@click.option("--level", type=int, help="Highest item level they get.")
@click.option(
    "--locale", metavar="fr", help="The app's language for them (\"project\": the project's)."
)
@click.option(
    "--opt-out",
    "opt_outs",
    metavar="violence,self-harm",
    help='Content-warning categories they are never served ("none": serve all).',
)
@_user_errors
def annotators_update(path, db_url, name, languages, role, level, locale, opt_outs):
    """Change NAME's languages, role, level, app language or content opt-outs."""
    changes = {}
    if languages is not None:
        changes["languages"] = None if languages.strip().lower() == "any" else languages
    if locale is not None:
        changes["locale"] = None if locale.strip().lower() == "project" else locale
    if opt_outs is not None:
        changes["opt_outs"] = None if opt_outs.strip().lower() == "none" else opt_outs
    with Project.open(path, db_url=db_url) as project:
        account = project.annotators.update(name, role=role, level=level, **changes)
    opted = ",".join(account.opt_outs) if account.opt_outs else "none"
    click.echo(
        f"updated {account.name} ({_describe(account)}, locale: {account.locale or 'project'}, "
        f"opt-outs: {opted})"
    )


_REASON = click.option("--reason", help="Why (kept in their history, which they see).")


@annotators.command("suspend")
@_project_argument
@click.argument("name")
@_REASON
@_user_errors
def annotators_suspend(path, db_url, name, reason):
    """Stop NAME: their link shows a "suspended" page and their next action is refused."""
    with Project.open(path, db_url=db_url) as project:
        project.annotators.suspend(name, reason=reason)
    click.echo(f"suspended {name}: their answers are kept; `resume` lets them back in")


@annotators.command("resume")
@_project_argument
@click.argument("name")
@_REASON
@_user_errors
def annotators_resume(path, db_url, name, reason):
    """Let a suspended NAME (or one sent to a retry exam) label again, with the same link."""
    with Project.open(path, db_url=db_url) as project:
        project.annotators.resume(name, reason=reason)
    click.echo(f"resumed {name}")


@annotators.command("history")
@_project_argument
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the standing and events as JSON.")
@_user_errors
def annotators_history(path, db_url, name, as_json):
    """NAME's standing (level, status, gold accuracy, next level) and every change of level
    or status, exam result and warning, newest first, with its reason."""
    with Project.open(path, db_url=db_url) as project:
        standing = project.annotator_status(name)
        events = project.annotator_history(name)
    if as_json:
        click.echo(json.dumps(standing | {"history": events}, indent=2, ensure_ascii=False))
        return
    gold = standing["gold"]
    accuracy = "-" if gold["accuracy"] is None else f"{gold['accuracy']:.2f}"
    click.echo(f"{standing['name']}: level {standing['level']}, {standing['status']}")
    click.echo(f"gold accuracy {accuracy} over {gold['count']} (window {gold['window']})")
    click.echo(f"next: {standing['next_level']['requires']}")
    if not events:
        click.echo("no changes yet")
    for event in events:
        change = f"{event['old']} -> {event['new']}" if event["old"] or event["new"] else ""
        click.echo(f"{event['at']}  {event['kind']:<7}  {change:<22}  {event['reason']}")
        click.echo(f"{'':>25}  by {event['actor']}")


@annotators.command("rotate-token")
@_project_argument
@click.argument("name")
@_link_options
@_review_port_option
@_user_errors
def annotators_rotate_token(path, db_url, name, host, port, review_port):
    """Give NAME a new personal link; the old one stops working at once."""
    with Project.open(path, db_url=db_url) as project:
        token = project.annotators.rotate_token(name)
        link = _link(project, token, host, port)
        review = _review_link(project, project.annotators.get(name), token, review_port)
    click.echo(f"new personal link for {name} (the old one no longer works):")
    click.echo(link)
    _echo_review_link(name, review)


def main() -> None:
    cli(prog_name="labelkit")
