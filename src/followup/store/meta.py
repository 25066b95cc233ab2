"""Facts about the database itself, as keys and values (see `tables.meta`): the
installation id and whatever else is kept once per database."""

from __future__ import annotations

import sqlalchemy as sa

from followup.store.tables import meta
from followup.store.transactions import Transactions


class Meta(Transactions):
    """The meta table's keys and values."""

    def meta(self, key: str) -> str | None:
        """A fact about the database itself (see `tables.meta`), or None."""
        with self._read() as conn:
            return conn.execute(sa.select(meta.c.value).where(meta.c.key == key)).scalar()

    def set_meta(self, key: str, value: str) -> None:
        with self._write() as conn:
            updated = conn.execute(meta.update().where(meta.c.key == key).values(value=value))
            if updated.rowcount == 0:
                conn.execute(meta.insert().values(key=key, value=value))

    def installation_id(self) -> str:
        """A random id made once per database (in email Message-IDs, say)."""
        import secrets

        found = self.meta("installation_id")  # made once: reading it needs no write
        if found is not None:
            return found
        with self._write() as conn:
            found = conn.execute(sa.select(meta.c.value)
                                 .where(meta.c.key == "installation_id")).scalar()
            if found is None:
                found = secrets.token_hex(8)
                conn.execute(meta.insert().values(key="installation_id", value=found))
            return found

