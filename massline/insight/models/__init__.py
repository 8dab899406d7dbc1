"""The tables of ``insight``, one module per part: ``rollups`` (three rates, rankings), ``hot`` (hot
clusters, governance topics), ``safety`` (the safety line, early warnings, the relationship index)."""

from .hot import *  # noqa: F403
from .rollups import *  # noqa: F403
from .safety import *  # noqa: F403
