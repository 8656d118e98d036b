"""tsnlib: the library behind the Temporal Segment Networks course.

Every notebook in ``notebooks/`` imports from here; each module holds one idea of TSN
(Wang et al., ECCV 2016) and says which notebook introduces it.
"""

__version__ = "0.1.0"
