"""What every layer may use, and nothing product-specific: errors a person can
read (``errors``), long work with progress and cancel (``task``), backends by
name imported lazily (``registry``), atomic file writes (``atomic``), events
(``events``), problem lists (``problems``) and the display check (``display``).
"""

