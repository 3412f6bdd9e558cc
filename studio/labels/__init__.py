"""Labels: the append-only ``labels.jsonl`` (``store``) with its shapes, several
labelers and the reference labeler's decisions (``review``), agreement between
labelers (``agreement``), who labels what (``assignment``), the criterion text a
label records (``criterion``), file locks for two processes (``locking``) and
whether the data is ready to train (``readiness``).
"""

