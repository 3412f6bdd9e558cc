"""The acceptance-criteria document: defect classes, their rules and limits,
example images, every version kept with author, date and reason
(``criteria_versions/``), and its HTML/PDF print for the line.
"""

