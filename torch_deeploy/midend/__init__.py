"""Midend: tiling and static memory allocation, solved as one integer linear program (CVXPY + HiGHS)."""
