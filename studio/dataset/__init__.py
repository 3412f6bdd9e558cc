"""The project's images: the image records of ``dataset.json`` (``store``),
importing images (``importers``), the preprocessing every model sees
(``preprocessing``) and the train/test split by physical part, frozen once
evaluated (``splits``).
"""

