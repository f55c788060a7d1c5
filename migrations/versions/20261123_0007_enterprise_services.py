"""Enterprise services: projects and their locked plans, problem tickets, the 双公示 credit feed

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 16:00:00
"""
from alembic import op
import sqlalchemy as sa
import engine.types


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('projects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('enterprise_name', sa.String(length=200), nullable=False),
    sa.Column('credit_code', sa.String(length=40), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('investment_yuan', sa.BigInteger(), nullable=False),
    sa.Column('major', sa.Boolean(), nullable=False),
    sa.Column('contact_name', sa.String(length=80), nullable=False),
    sa.Column('contact_phone', sa.String(length=40), nullable=True),
    sa.Column('registered_at', engine.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('registered_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_projects_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['registered_by_id'], ['users.id'], name=op.f('fk_projects_registered_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_projects')),
    sa.UniqueConstraint('case_id', name=op.f('uq_projects_case_id'))
    )
    op.create_index(op.f('ix_projects_major'), 'projects', ['major'])
    op.create_table('project_steps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=20), nullable=False),
    sa.Column('element_id', sa.String(length=120), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('planned_days', sa.Integer(), nullable=False),
    sa.Column('planned_start', sa.Date(), nullable=False),
    sa.Column('planned_due', sa.Date(), nullable=False),
    sa.Column('matter', sa.String(length=60), nullable=True),
    sa.Column('linked_case_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_project_steps_department_id_departments')),
    sa.ForeignKeyConstraint(['linked_case_id'], ['cases.id'], name=op.f('fk_project_steps_linked_case_id_cases'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_project_steps_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_project_steps')),
    sa.UniqueConstraint('project_id', 'element_id', name=op.f('uq_project_steps_project_id_element_id')),
    sa.UniqueConstraint('linked_case_id', name=op.f('uq_project_steps_linked_case_id'))
    )
    op.create_index(op.f('ix_project_steps_project_id'), 'project_steps', ['project_id'])
    op.create_index(op.f('ix_project_steps_department_id'), 'project_steps', ['department_id'])
    op.create_table('tickets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('enterprise_name', sa.String(length=200), nullable=False),
    sa.Column('credit_code', sa.String(length=40), nullable=True),
    sa.Column('contact_name', sa.String(length=80), nullable=False),
    sa.Column('contact_phone', sa.String(length=40), nullable=True),
    sa.Column('problem', sa.Text(), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('limit_days', sa.Integer(), nullable=False),
    sa.Column('logged_at', engine.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('logged_by_id', sa.Integer(), nullable=True),
    sa.Column('escalated_at', engine.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_tickets_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_tickets_department_id_departments')),
    sa.ForeignKeyConstraint(['logged_by_id'], ['users.id'], name=op.f('fk_tickets_logged_by_id_users')),
    sa.ForeignKeyConstraint(['order_id'], ['supervision_orders.id'], name=op.f('fk_tickets_order_id_supervision_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tickets')),
    sa.UniqueConstraint('case_id', name=op.f('uq_tickets_case_id'))
    )
    op.create_index(op.f('ix_tickets_department_id'), 'tickets', ['department_id'])
    op.create_table('credit_feed_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('decision', sa.String(length=20), nullable=False),
    sa.Column('decided_at', engine.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('due_by', engine.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('published_at', engine.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('record', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_credit_feed_items_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_feed_items')),
    sa.UniqueConstraint('case_id', name=op.f('uq_credit_feed_items_case_id'))
    )
    op.create_index(op.f('ix_credit_feed_items_published_at'), 'credit_feed_items', ['published_at'])


def downgrade() -> None:
    op.drop_index(op.f('ix_credit_feed_items_published_at'), table_name='credit_feed_items')
    op.drop_table('credit_feed_items')
    op.drop_index(op.f('ix_tickets_department_id'), table_name='tickets')
    op.drop_table('tickets')
    op.drop_index(op.f('ix_project_steps_department_id'), table_name='project_steps')
    op.drop_index(op.f('ix_project_steps_project_id'), table_name='project_steps')
    op.drop_table('project_steps')
    op.drop_index(op.f('ix_projects_major'), table_name='projects')
    op.drop_table('projects')
