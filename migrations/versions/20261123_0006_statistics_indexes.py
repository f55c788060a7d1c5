"""Day numbers and covering indexes for the supervisor's statistics; per-address throttle slots

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 14:00:00
"""
from alembic import op
import sqlalchemy as sa
import engine.types
from engine.calendar import office_day_number


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('throttle_slots',
    sa.Column('bucket', sa.String(length=20), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('slot', engine.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('hits', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('bucket', 'address', 'slot', name=op.f('pk_throttle_slots'))
    )
    op.add_column('clocks', sa.Column('started_day', sa.Integer(), server_default='0', nullable=False))
    op.add_column('clocks', sa.Column('stopped_day', sa.Integer(), nullable=True))
    op.add_column('clocks', sa.Column('late', sa.Boolean(), nullable=True))
    _derive_clock_days()
    op.create_index('ix_clocks_stats', 'clocks', ['kind', 'department_id', 'element_id', 'started_day', 'stopped_day',
                                                  'late', 'due_at', 'paused_days', 'paused_since', 'level', 'case_id'])
    op.create_index('ix_cases_stats', 'cases', ['accepted_at', 'definition_id', 'channel', 'visits', 'completed_at',
                                                'status'])


def _derive_clock_days() -> None:
    """The values `engine.models._derive_clock_days` keeps from now on, for the clocks already stored."""
    clocks = sa.table('clocks', sa.column('id', sa.Integer()), sa.column('started_at', engine.types.UTCDateTime()),
                      sa.column('stopped_at', engine.types.UTCDateTime()), sa.column('due_at', engine.types.UTCDateTime()),
                      sa.column('started_day', sa.Integer()), sa.column('stopped_day', sa.Integer()),
                      sa.column('late', sa.Boolean()))
    connection = op.get_bind()
    rows = connection.execute(sa.select(clocks.c.id, clocks.c.started_at, clocks.c.stopped_at, clocks.c.due_at)).all()
    update = (sa.update(clocks).where(clocks.c.id == sa.bindparam('clock_id'))
              .values(started_day=sa.bindparam('started'), stopped_day=sa.bindparam('stopped'), late=sa.bindparam('is_late')))
    for first in range(0, len(rows), 10_000):
        connection.execute(update, [
            {"clock_id": id_, "started": office_day_number(started),
             "stopped": office_day_number(stopped) if stopped is not None else None,
             "is_late": stopped > due if stopped is not None else None}
            for id_, started, stopped, due in rows[first:first + 10_000]])


def downgrade() -> None:
    op.drop_table('throttle_slots')
    op.drop_index('ix_cases_stats', table_name='cases')
    op.drop_index('ix_clocks_stats', table_name='clocks')
    op.drop_column('clocks', 'late')
    op.drop_column('clocks', 'stopped_day')
    op.drop_column('clocks', 'started_day')
