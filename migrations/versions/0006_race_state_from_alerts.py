"""race state from alerts: alerts carry their effect; categories no longer store a status

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 09:00:00

The race as it stands is now folded from the race file and the alerts that changed it
(services.race_state), so the columns alerts used to overwrite go: categories.status and
categories.start_delay_minutes. A start delay's minutes move into the alert's effect. Events
whose status an alert had set (the alert title became the status note) go back to what the
race file says ("on"): the alert itself still applies.
"""
import json

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

OLD_KINDS = "kind IN ('info', 'rule_change', 'course_change', 'weather', 'start_delay', 'cancellation')"
NEW_KINDS = ("kind IN ('info', 'weather', 'rule_change', 'course_change', 'start_delay', "
             "'cutoff_extension', 'cancellation', 'reinstate')")


def upgrade():
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('effect', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('outcome', sa.JSON(), nullable=True))
    alerts = sa.table('alerts', sa.column('id', sa.Integer), sa.column('kind', sa.String),
                      sa.column('delay_minutes', sa.Integer), sa.column('effect', sa.JSON),
                      sa.column('outcome', sa.JSON))
    conn = op.get_bind()
    for alert_id, kind, delay in conn.execute(sa.select(alerts.c.id, alerts.c.kind,
                                                        alerts.c.delay_minutes)).all():
        effect = {"delay_minutes": delay} if kind == "start_delay" and delay is not None else {}
        conn.execute(alerts.update().where(alerts.c.id == alert_id)
                     .values(effect=effect, outcome={}))
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.alter_column('effect', existing_type=sa.JSON(), nullable=False)
        batch_op.alter_column('outcome', existing_type=sa.JSON(), nullable=False)
        batch_op.drop_column('delay_minutes')
        batch_op.drop_constraint(op.f('ck_alerts_kind'), type_='check')
        batch_op.create_check_constraint('kind', NEW_KINDS)

    conn.execute(sa.text(
        "UPDATE events SET status = 'on', status_note = NULL WHERE status <> 'on' AND EXISTS "
        "(SELECT 1 FROM alerts WHERE alerts.event_id = events.id AND alerts.category_id IS NULL "
        "AND alerts.title = events.status_note)"))
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.drop_column('status')
        batch_op.drop_column('start_delay_minutes')

    with op.batch_alter_table('shuttle_routes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('category_codes', sa.JSON(), nullable=True))
    routes = sa.table('shuttle_routes', sa.column('category_codes', sa.JSON))
    conn.execute(routes.update().values(category_codes=[]))
    with op.batch_alter_table('shuttle_routes', schema=None) as batch_op:
        batch_op.alter_column('category_codes', existing_type=sa.JSON(), nullable=False)


def downgrade():
    with op.batch_alter_table('shuttle_routes', schema=None) as batch_op:
        batch_op.drop_column('category_codes')
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.add_column(sa.Column('start_delay_minutes', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('status', sa.String(length=16), nullable=False,
                                      server_default='on'))
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delay_minutes', sa.Integer(), nullable=True))
    alerts = sa.table('alerts', sa.column('id', sa.Integer), sa.column('delay_minutes', sa.Integer),
                      sa.column('effect', sa.JSON))
    conn = op.get_bind()
    for alert_id, effect in conn.execute(sa.select(alerts.c.id, alerts.c.effect)).all():
        effect = json.loads(effect) if isinstance(effect, str) else (effect or {})
        if "delay_minutes" in effect:
            conn.execute(alerts.update().where(alerts.c.id == alert_id)
                         .values(delay_minutes=effect["delay_minutes"]))
    conn.execute(sa.text("DELETE FROM alerts WHERE kind IN ('cutoff_extension', 'reinstate')"))
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_alerts_kind'), type_='check')
        batch_op.create_check_constraint('kind', OLD_KINDS)
        batch_op.drop_column('outcome')
        batch_op.drop_column('effect')
