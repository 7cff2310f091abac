"""Physics Zoo: landmark deep-learning-in-physics papers as Lightning modules, loadable by name."""
from .hub import get_card, list_pretrained, load_pretrained
from .registry import get_model_class, list_models, register_model

__all__ = ["list_models", "list_pretrained", "get_card", "load_pretrained", "get_model_class", "register_model"]
__version__ = "0.1.0"
