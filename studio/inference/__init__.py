"""Running trained models: ``InspectionModel``, ``Prediction``, ``list_models``, ``session_providers``.

Names resolve lazily so ``import studio.inference`` does not load ONNX Runtime.
"""
_EXPORTS = ("InspectionModel", "Prediction", "list_models", "session_providers")


def __getattr__(name: str):
    if name in _EXPORTS:
        from studio.inference import model

        return getattr(model, name)
    raise AttributeError(name)
