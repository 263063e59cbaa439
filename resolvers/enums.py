"""Enums several areas share; values are the database's lower-case spellings."""

import strawberry

from graph.core.identity import Role

strawberry.enum(Role, description="What a login may do; RLS policies follow it.")
