"""Enums shared by several areas; values are the database's lower-case spellings."""

import enum

import strawberry

from graph.core.identity import Role

strawberry.enum(Role, description="What a login may do; RLS policies follow it.")


@strawberry.enum
class PatientStatus(enum.Enum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    DISCHARGED = "discharged"
