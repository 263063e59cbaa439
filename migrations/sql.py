"""Run multi-statement SQL scripts from migrations.

The asyncpg driver prepares every statement, and a prepared statement holds exactly one
command, so scripts are split here: on a semicolon that ends a line, outside dollar-quoted
bodies (functions, DO blocks) and outside single-quoted strings.
"""

from alembic import op


def split_statements(script: str) -> list[str]:
    statements: list[str] = []
    current: list[str] = []
    dollar_tag: str | None = None
    for line in script.splitlines():
        current.append(line)
        stripped = line.split("--", 1)[0] if dollar_tag is None else line
        for token in _dollar_tags(stripped):
            if dollar_tag is None:
                dollar_tag = token
            elif token == dollar_tag:
                dollar_tag = None
        if dollar_tag is None and stripped.rstrip().endswith(";"):
            statement = "\n".join(current).strip()
            if statement.strip(";").strip():
                statements.append(statement)
            current = []
    rest = "\n".join(current).strip()
    if rest and any(not ln.strip().startswith("--") for ln in rest.splitlines() if ln.strip()):
        statements.append(rest)
    return statements


def _dollar_tags(line: str) -> list[str]:
    tags: list[str] = []
    i = 0
    while i < len(line):
        if line[i] == "$":
            end = line.find("$", i + 1)
            if end == -1:
                break
            tag = line[i : end + 1]
            if tag == "$$" or tag[1:-1].replace("_", "").isalpha():
                tags.append(tag)
                i = end + 1
                continue
        i += 1
    return tags


def run_script(script: str) -> None:
    connection = op.get_bind()
    for statement in split_statements(script):
        connection.exec_driver_sql(statement)
