"""The `labelkit` command. Errors a user can fix print one clear message and exit with code 2."""

from __future__ import annotations

import functools
import json
import sys

import click

from labelkit.errors import LabelkitError
from labelkit.project import Project
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
@_user_errors
def init(path, template_name, schema_file, db_url, overlap):
    """Create a project in PATH from a template or a schema file."""
    if bool(template_name) == bool(schema_file):
        raise click.UsageError("give exactly one of --template or --schema")
    project = Project.create(path, template_name or schema_file, db_url=db_url, overlap=overlap)
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
    help="Read FIELD (or an optional column: language, level, sensitive, gold, "
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
    click.echo(f"items        {figures['items']:>9}  ({figures['gold_items']} gold)")
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
    if figures["unfinished_imports"]:
        click.echo(
            f"note: {figures['unfinished_imports']} import(s) did not finish; "
            "run the same import again to resume"
        )


@cli.command()
@click.argument("path", type=click.Path(exists=True, file_okay=False))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8866, show_default=True, help="Port to listen on.")
@click.option("--annotator", help="Who labels through this server (default: the local user).")
@click.option(
    "--cull-idle",
    default=600,
    show_default=True,
    metavar="SECONDS",
    help="Shut down a page's kernel after it was idle this long (closed tabs).",
)
@_user_errors
def serve(path, host, port, annotator, cull_idle):
    """Serve the annotator app for the project in PATH with Voila (open the printed URL)."""
    from labelkit.serve import serve as run

    click.echo(f"labelkit: serving {path} on http://{host}:{port}/ (Ctrl-C stops)")
    run(path, host=host, port=port, annotator=annotator, cull_idle=cull_idle)


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


@cli.command()
def templates():
    """List the ready schemas for `labelkit init --template`."""
    for name, factory in TEMPLATES.items():
        schema = template(name)
        questions = ", ".join(q.name for q in schema.questions)
        click.echo(f"{name:<21} {factory.__doc__.splitlines()[0]}")
        click.echo(f"{'':<21} fields: {', '.join(schema.field_names)}; questions: {questions}")


def main() -> None:
    cli(prog_name="labelkit")
