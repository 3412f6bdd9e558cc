"""Labels: the append-only ``labels.jsonl`` (``store``) with its shapes, several
labelers and the reference labeler's decisions (``review``), agreement between
labelers (``agreement``), who labels what (``assignment``), the criterion text a
label records (``criterion``), a drawn shape measured against its
class's rule (``measure``) and
whether the data is ready to train (``readiness``).
"""

