"""Hypothesis draws the same examples on every run (derandomize): a property test that passes in
CI passes on the next clone too, and one that fails does so reproducibly. Set HYPOTHESIS_PROFILE=explore
to draw new examples each run while hunting for bugs."""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
