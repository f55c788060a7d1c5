"""add working-day clocks, calendar, notifications, supervision and the scheduler lease

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 11:13:42.418009
"""
from alembic import op
import sqlalchemy as sa
import engine.types


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('calendar_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_calendar_days'))
    )
    op.create_table('scheduler_leases',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('holder', sa.String(length=120), nullable=False),
    sa.Column('expires_at', engine.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_scheduler_leases'))
    )
    op.create_table('calendar_years',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('confirmed', sa.Boolean(), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('updated_at', engine.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_calendar_years_updated_by_id_users')),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_calendar_years'))
    )
    op.create_table('clocks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('element_id', sa.String(length=120), nullable=True),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('limit_days', sa.Integer(), nullable=False),
    sa.Column('started_at', engine.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('paused_since', engine.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('paused_days', sa.Integer(), nullable=False),
    sa.Column('extended_days', sa.Integer(), nullable=False),
    sa.Column('due_at', engine.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('notice_at', engine.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('yellow_at', engine.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('stopped_at', engine.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('level', sa.String(length=10), nullable=False),
    sa.Column('next_warning_at', engine.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('unconfirmed', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_clocks_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_clocks_department_id_departments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clocks'))
    )
    with op.batch_alter_table('clocks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_clocks_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_clocks_next_warning_at'), ['next_warning_at'], unique=False)

    op.create_table('supervision_orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.Column('issued_at', engine.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reply_within_days', sa.Integer(), nullable=False),
    sa.Column('reply_due_at', engine.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('reply_text', sa.Text(), nullable=True),
    sa.Column('replied_at', engine.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('replied_by_id', sa.Integer(), nullable=True),
    sa.Column('escalated_at', engine.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_supervision_orders_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_supervision_orders_department_id_departments')),
    sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'], name=op.f('fk_supervision_orders_issued_by_id_users')),
    sa.ForeignKeyConstraint(['replied_by_id'], ['users.id'], name=op.f('fk_supervision_orders_replied_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supervision_orders'))
    )
    with op.batch_alter_table('supervision_orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supervision_orders_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_supervision_orders_reply_due_at'), ['reply_due_at'], unique=False)

    op.create_table('clock_extensions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('clock_id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=True),
    sa.Column('working_days', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('at', engine.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['approved_by_id'], ['users.id'], name=op.f('fk_clock_extensions_approved_by_id_users')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_clock_extensions_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['clock_id'], ['clocks.id'], name=op.f('fk_clock_extensions_clock_id_clocks'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_clock_extensions_task_id_tasks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clock_extensions'))
    )
    with op.batch_alter_table('clock_extensions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_clock_extensions_case_id'), ['case_id'], unique=False)

    op.create_table('clock_pauses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('clock_id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('procedure', sa.String(length=30), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('started_at', engine.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_by_id', sa.Integer(), nullable=True),
    sa.Column('resume_task_id', sa.Integer(), nullable=True),
    sa.Column('ended_at', engine.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_by_id', sa.Integer(), nullable=True),
    sa.Column('working_days', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_clock_pauses_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['clock_id'], ['clocks.id'], name=op.f('fk_clock_pauses_clock_id_clocks'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ended_by_id'], ['users.id'], name=op.f('fk_clock_pauses_ended_by_id_users')),
    sa.ForeignKeyConstraint(['resume_task_id'], ['tasks.id'], name=op.f('fk_clock_pauses_resume_task_id_tasks')),
    sa.ForeignKeyConstraint(['started_by_id'], ['users.id'], name=op.f('fk_clock_pauses_started_by_id_users')),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_clock_pauses_task_id_tasks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clock_pauses'))
    )
    with op.batch_alter_table('clock_pauses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_clock_pauses_case_id'), ['case_id'], unique=False)

    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('task_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('created_at', engine.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('read_at', engine.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('emailed_at', engine.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_notifications_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_notifications_task_id_tasks')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_user_read', ['user_id', 'read_at'], unique=False)

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_timer_at', engine.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_cases_next_timer_at'), ['next_timer_at'], unique=False)

    with op.batch_alter_table('departments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('warning_policy', sa.JSON(), nullable=True))

    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('clock_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_tasks_clock_id'), ['clock_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_tasks_clock_id_clocks'), 'clocks', ['clock_id'], ['id'])

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=200), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('email')

    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_tasks_clock_id_clocks'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_tasks_clock_id'))
        batch_op.drop_column('clock_id')

    with op.batch_alter_table('departments', schema=None) as batch_op:
        batch_op.drop_column('warning_policy')

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cases_next_timer_at'))
        batch_op.drop_column('next_timer_at')

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_user_read')

    op.drop_table('notifications')
    with op.batch_alter_table('clock_pauses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_clock_pauses_case_id'))

    op.drop_table('clock_pauses')
    with op.batch_alter_table('clock_extensions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_clock_extensions_case_id'))

    op.drop_table('clock_extensions')
    with op.batch_alter_table('supervision_orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supervision_orders_reply_due_at'))
        batch_op.drop_index(batch_op.f('ix_supervision_orders_case_id'))

    op.drop_table('supervision_orders')
    with op.batch_alter_table('clocks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_clocks_next_warning_at'))
        batch_op.drop_index(batch_op.f('ix_clocks_case_id'))

    op.drop_table('clocks')
    op.drop_table('calendar_years')
    op.drop_table('scheduler_leases')
    op.drop_table('calendar_days')
