"""git44_sim: a real HTTP simulator of ScraperAPI and RemoveSora (DESIGN.md section 7).

Run it with `python -m git44_sim`; drive it from tests and benchmarks with `SimControl`.
"""

from git44_sim.app import create_app
from git44_sim.client import SimControl
from git44_sim.config import SimConfig
from git44_sim.state import SimState

__all__ = ["SimConfig", "SimControl", "SimState", "create_app"]
