"""Approval vocabulary: materials, missing materials, commitments, cc, phrases, delegation, added signers

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 11:27:07.999852
"""
from alembic import op
import sqlalchemy as sa
import engine.types


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('opinion_phrases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_opinion_phrases_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opinion_phrases'))
    )
    with op.batch_alter_table('opinion_phrases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_opinion_phrases_user_id'), ['user_id'], unique=False)

    op.create_table('case_materials',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('uploaded_at', engine.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_materials_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_case_materials_uploaded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_materials'))
    )
    with op.batch_alter_table('case_materials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_materials_case_id'), ['case_id'], unique=False)

    op.create_table('commitments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('material', sa.String(length=200), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('check_due_at', engine.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('checked_at', engine.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('checked_by_id', sa.Integer(), nullable=True),
    sa.Column('check_result', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_commitments_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['checked_by_id'], ['users.id'], name=op.f('fk_commitments_checked_by_id_users')),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_commitments_department_id_departments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commitments'))
    )
    with op.batch_alter_table('commitments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_commitments_case_id'), ['case_id'], unique=False)

    op.create_table('supervision_feed',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('result', sa.String(length=20), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=False),
    sa.Column('created_at', engine.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('read_at', engine.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_supervision_feed_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_supervision_feed_department_id_departments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supervision_feed'))
    )
    with op.batch_alter_table('supervision_feed', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supervision_feed_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_supervision_feed_department_id'), ['department_id'], unique=False)

    op.create_table('missing_materials',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('promised_date', sa.Date(), nullable=False),
    sa.Column('supplied_at', engine.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('material_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_missing_materials_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['material_id'], ['case_materials.id'], name=op.f('fk_missing_materials_material_id_case_materials')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_missing_materials'))
    )
    with op.batch_alter_table('missing_materials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_missing_materials_case_id'), ['case_id'], unique=False)

    op.create_table('carbon_copies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', engine.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_carbon_copies_created_by_id_users')),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_carbon_copies_department_id_departments')),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_carbon_copies_task_id_tasks'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_carbon_copies_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_carbon_copies'))
    )
    with op.batch_alter_table('carbon_copies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_carbon_copies_department_id'), ['department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_carbon_copies_task_id'), ['task_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_carbon_copies_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assisted_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('delivery_method', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('tracking_number', sa.String(length=60), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_cases_assisted_by_id_users'), 'users', ['assisted_by_id'], ['id'])

    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('delegation', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('parent_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('signer_position', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('held_completion', sa.JSON(), nullable=True))
        batch_op.alter_column('workflow_task_id',
               existing_type=sa.VARCHAR(length=36),
               nullable=True)
        batch_op.create_index(batch_op.f('ix_tasks_parent_id'), ['parent_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_tasks_parent_id_tasks'), 'tasks', ['parent_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_tasks_owner_id_users'), 'users', ['owner_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_tasks_owner_id_users'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_tasks_parent_id_tasks'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_tasks_parent_id'))
        batch_op.alter_column('workflow_task_id',
               existing_type=sa.VARCHAR(length=36),
               nullable=False)
        batch_op.drop_column('held_completion')
        batch_op.drop_column('signer_position')
        batch_op.drop_column('parent_id')
        batch_op.drop_column('delegation')
        batch_op.drop_column('owner_id')

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_cases_assisted_by_id_users'), type_='foreignkey')
        batch_op.drop_column('tracking_number')
        batch_op.drop_column('delivery_method')
        batch_op.drop_column('assisted_by_id')

    with op.batch_alter_table('carbon_copies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_carbon_copies_user_id'))
        batch_op.drop_index(batch_op.f('ix_carbon_copies_task_id'))
        batch_op.drop_index(batch_op.f('ix_carbon_copies_department_id'))

    op.drop_table('carbon_copies')
    with op.batch_alter_table('missing_materials', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_missing_materials_case_id'))

    op.drop_table('missing_materials')
    with op.batch_alter_table('supervision_feed', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supervision_feed_department_id'))
        batch_op.drop_index(batch_op.f('ix_supervision_feed_case_id'))

    op.drop_table('supervision_feed')
    with op.batch_alter_table('commitments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_commitments_case_id'))

    op.drop_table('commitments')
    with op.batch_alter_table('case_materials', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_materials_case_id'))

    op.drop_table('case_materials')
    with op.batch_alter_table('opinion_phrases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_opinion_phrases_user_id'))

    op.drop_table('opinion_phrases')
