"""The project's images: the image records of ``dataset.json`` (``store``),
the preprocessing every model sees
(``preprocessing``) and the train/test split by physical part, frozen once
evaluated (``splits``). Importing image sets into a project is
``studio.interchange.importers`` (it writes labels and criteria too).
"""

