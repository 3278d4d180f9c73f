"""Great-circle distance on a sphere (the haversine formula):

.. math:: d = 2R \\arcsin \\sqrt{\\sin^2\\frac{\\varphi_2-\\varphi_1}{2} + \\cos\\varphi_1 \\cos\\varphi_2
          \\sin^2\\frac{\\lambda_2-\\lambda_1}{2}}

with :math:`R = 6371` km (the mean Earth radius). Sinnott, "Virtues of the Haversine", Sky and Telescope 68(2), 1984.
"""

from __future__ import annotations

import math

EARTH_KM = 6371.0
KM_PER_DEGREE = 111.2  # of latitude (and of longitude at the equator)


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_KM * math.asin(min(1.0, math.sqrt(h)))


def bounding_box(lat: float, lon: float, km: float) -> tuple[float, float, float]:
    """(latitude half-height, longitude half-width, in degrees) of a box holding the circle of ``km`` around a point:
    the cheap pre-filter before :func:`haversine_km`."""
    return km / KM_PER_DEGREE, km / max(1e-6, KM_PER_DEGREE * math.cos(math.radians(lat)))
