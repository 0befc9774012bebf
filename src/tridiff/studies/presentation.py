"""What the result classes share in how they are shown: the methods' colours and styles."""

from __future__ import annotations

#: Each method's line style, as the lab draws f' in blue; the others overlap it, told apart by style.
METHOD_STYLES = {
    "symbolic": dict(color="tab:blue", linestyle="-", linewidth=3.0, zorder=3),
    "automatic": dict(color="tab:green", linestyle=(0, (6, 4)), linewidth=1.8, zorder=4),
    "numeric": dict(color="tab:orange", linestyle=(0, (1, 2)), linewidth=2.2, zorder=5),
}
ERROR_FLOOR = 1e-17  # an error of exactly 0 is drawn here on a log scale (times max |f'| when > 1)
