"""one place per person per bus: a seat or a waitlist place, never both

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 12:00:00
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

MESSAGE = "a seat and a waitlist place on one departure"

SQLITE = (
    f"""CREATE TRIGGER waitlist_not_with_a_seat BEFORE INSERT ON waitlist_entries
    WHEN EXISTS (SELECT 1 FROM bookings WHERE bookings.user_id = NEW.user_id
                 AND bookings.departure_id = NEW.departure_id AND bookings.status = 'booked')
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
    f"""CREATE TRIGGER seat_not_with_a_waitlist_place BEFORE INSERT ON bookings
    WHEN NEW.status = 'booked' AND EXISTS (SELECT 1 FROM waitlist_entries
        WHERE waitlist_entries.user_id = NEW.user_id
        AND waitlist_entries.departure_id = NEW.departure_id)
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
)
POSTGRESQL = (
    f"""CREATE OR REPLACE FUNCTION one_place_per_bus() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_TABLE_NAME = 'waitlist_entries' THEN
        IF EXISTS (SELECT 1 FROM bookings WHERE user_id = NEW.user_id
                   AND departure_id = NEW.departure_id AND status = 'booked') THEN
          RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'unique_violation';
        END IF;
      ELSIF NEW.status = 'booked' AND EXISTS (SELECT 1 FROM waitlist_entries
            WHERE user_id = NEW.user_id AND departure_id = NEW.departure_id) THEN
        RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'unique_violation';
      END IF;
      RETURN NEW;
    END $$""",
    """CREATE TRIGGER waitlist_not_with_a_seat BEFORE INSERT ON waitlist_entries
    FOR EACH ROW EXECUTE FUNCTION one_place_per_bus()""",
    """CREATE TRIGGER seat_not_with_a_waitlist_place BEFORE INSERT ON bookings
    FOR EACH ROW EXECUTE FUNCTION one_place_per_bus()""",
)


def upgrade():
    # Places held twice before this rule: the seat wins, the waitlist place goes.
    op.execute(
        "DELETE FROM waitlist_entries WHERE EXISTS (SELECT 1 FROM bookings"
        " WHERE bookings.user_id = waitlist_entries.user_id"
        " AND bookings.departure_id = waitlist_entries.departure_id"
        " AND bookings.status = 'booked')"
    )
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE, "postgresql": POSTGRESQL}.get(dialect, ()):
        op.execute(statement)


def downgrade():
    op.execute("DROP TRIGGER IF EXISTS waitlist_not_with_a_seat ON waitlist_entries"
               if op.get_bind().dialect.name == "postgresql"
               else "DROP TRIGGER IF EXISTS waitlist_not_with_a_seat")
    op.execute("DROP TRIGGER IF EXISTS seat_not_with_a_waitlist_place ON bookings"
               if op.get_bind().dialect.name == "postgresql"
               else "DROP TRIGGER IF EXISTS seat_not_with_a_waitlist_place")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS one_place_per_bus()")
