"""Figures and pages: what a person looks at.

.. autosummary::

    figures             the report's figures (``ax=None``, return the axes; ``save_png``)
    timeline            per-tile genre timeline files (CSV, JSON, PNG)
    viewer              the study's prediction viewer as one offline HTML page
    collection_report   a collection's one-page report before training

``templates/viewer.html`` is the page the viewer fills in.
"""
